package manifestedit

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// script writes an editor script and returns the editor command for it; the script's
// rounds are counted in a file next to it ($DIR/round), so each round may act differently.
func script(t *testing.T, body string) Editor {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "editor.sh")
	s := "#!/bin/sh\nset -e\nf=\"$1\"\nr=$(cat " + dir + "/round 2>/dev/null || echo 0); r=$((r+1)); echo $r > " + dir + "/round\ncp \"$f\" " + dir + "/seen-$r\n" + body
	if err := os.WriteFile(path, []byte(s), 0o755); err != nil {
		t.Fatal(err)
	}
	return Editor{Command: path, In: strings.NewReader(""), Out: &bytes.Buffer{}, ErrOut: &bytes.Buffer{}}
}

func seen(t *testing.T, e Editor, round int) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(filepath.Dir(e.Command), "seen-"+string(rune('0'+round))))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

const manifest = "apiVersion: v1\nkind: Thing\n# a comment the server wrote\nspec:\n  colour: red\n"

// TestReopensUntilValid: an invalid save reopens the file with the problem on top; a fixed
// save is returned without comment lines.
func TestReopensUntilValid(t *testing.T) {
	e := script(t, `if [ $r = 1 ]; then sed -i 's/red/blue/' "$f"; else sed -i 's/blue/green/' "$f"; fi`)
	calls := 0
	got, err := Edit(e, "Thing demo/x", []byte(manifest), ".yaml", func(m []byte) ([]string, error) {
		calls++
		if strings.Contains(string(m), "blue") {
			return []string{"spec.colour: Unsupported value: \"blue\"", "second\nline"}, nil
		}
		return nil, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "apiVersion: v1\nkind: Thing\nspec:\n  colour: green\n" || calls != 2 {
		t.Errorf("edited %q after %d validations", got, calls)
	}
	first, second := seen(t, e, 1), seen(t, e, 2)
	if !strings.HasPrefix(first, "# Please edit the Thing demo/x below.") || strings.Contains(first, "not valid") {
		t.Errorf("first round:\n%s", first)
	}
	for _, want := range []string{"# The edited Thing demo/x is not valid:\n", "# spec.colour: Unsupported value: \"blue\"\n", "# second\n# line\n", "colour: blue\n"} {
		if !strings.Contains(second, want) {
			t.Errorf("second round lacks %q:\n%s", want, second)
		}
	}
}

func TestCancel(t *testing.T) {
	valid := func([]byte) ([]string, error) { return nil, nil }
	// An empty file cancels.
	e := script(t, `printf '# only a comment\n' > "$f"`)
	if _, err := Edit(e, "Thing x", []byte(manifest), ".yaml", valid); !errors.Is(err, ErrEmpty) {
		t.Errorf("empty file: %v", err)
	}
	// Saving the same invalid text again cancels, naming the problem.
	e = script(t, `sed -i 's/red/blue/' "$f"`)
	_, err := Edit(e, "Thing x", []byte(manifest), ".yaml", func([]byte) ([]string, error) { return []string{"blue is wrong"}, nil })
	if err == nil || !strings.Contains(err.Error(), "no valid changes were saved") || !strings.Contains(err.Error(), "blue is wrong") {
		t.Errorf("unchanged after a failure: %v", err)
	}
	// A validation error ends the edit.
	e = script(t, `true`)
	boom := errors.New("forbidden")
	if _, err := Edit(e, "Thing x", []byte(manifest), ".yaml", func([]byte) ([]string, error) { return nil, boom }); !errors.Is(err, boom) {
		t.Errorf("validation error: %v", err)
	}
	// An editor that fails ends the edit.
	e = script(t, `exit 3`)
	if _, err := Edit(e, "Thing x", []byte(manifest), ".yaml", valid); err == nil || !strings.Contains(err.Error(), "there was a problem with the editor") {
		t.Errorf("failing editor: %v", err)
	}
	// Saved unchanged with no failure before: the manifest as it was (comments dropped).
	e = script(t, `true`)
	if got, err := Edit(e, "Thing x", []byte(manifest), ".yaml", valid); err != nil || strings.Contains(string(got), "#") || !strings.Contains(string(got), "colour: red") {
		t.Errorf("unchanged: %q %v", got, err)
	}
}

func TestDefaultEditor(t *testing.T) {
	env := map[string]string{}
	get := func(k string) string { return env[k] }
	if got := DefaultEditor(get); got != "vi" {
		t.Errorf("none: %s", got)
	}
	env["EDITOR"] = "nano"
	if got := DefaultEditor(get); got != "nano" {
		t.Errorf("EDITOR: %s", got)
	}
	env["KUBE_EDITOR"] = "code --wait"
	if got := DefaultEditor(get); got != "code --wait" {
		t.Errorf("KUBE_EDITOR first: %s", got)
	}
}
