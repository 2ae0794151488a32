// Package manifestedit lets the user edit a manifest in their editor, as the console's
// Preview page does, with kubectl edit's loop: the file opens with instructions in comment
// lines, and a saved file that does not validate reopens with the problems on top, until it
// validates, is saved empty (cancel) or is saved unchanged after a failure (cancel).
package manifestedit

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
)

// DefaultEditor is the editor kubectl edit would run: $KUBE_EDITOR, else $EDITOR, else vi.
func DefaultEditor(getenv func(string) string) string {
	for _, env := range []string{"KUBE_EDITOR", "EDITOR"} {
		if e := strings.TrimSpace(getenv(env)); e != "" {
			return e
		}
	}
	return "vi"
}

// Editor runs an editor command on a file.
type Editor struct {
	// Command is run by sh with the file as its last argument, so that it may carry
	// arguments of its own ("code --wait").
	Command string
	// The editor's terminal.
	In          io.Reader
	Out, ErrOut io.Writer
}

// Launch runs the editor on path and waits for it to exit.
func (e Editor) Launch(path string) error {
	cmd := exec.Command("sh", "-c", e.Command+` "$1"`, "sh", path)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = e.In, e.Out, e.ErrOut
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("there was a problem with the editor %q: %w", e.Command, err)
	}
	return nil
}

// Validate checks an edited manifest (comment lines removed). problems reopen the file with
// them on top; err ends the edit.
type Validate func(manifest []byte) (problems []string, err error)

// ErrEmpty is the edit cancelled by saving an empty file.
var ErrEmpty = errors.New("edit cancelled: the saved file was empty")

// Edit opens text (a manifest of what, e.g. "BackupConfiguration demo/x") in a temporary file
// named with ext (".yaml", ".json") until validate accepts it, and returns it without comment
// lines.
func Edit(e Editor, what string, text []byte, ext string, validate Validate) ([]byte, error) {
	f, err := os.CreateTemp("", "kubectl-backupview-edit-*"+ext)
	if err != nil {
		return nil, err
	}
	path := f.Name()
	f.Close()
	defer os.Remove(path)

	body := stripComments(text)
	var problems []string
	for {
		var file bytes.Buffer
		fmt.Fprintf(&file, "# Please edit the %s below. Lines beginning with a '#' will be ignored,\n", what)
		file.WriteString("# and an empty file will abort the edit. If an error occurs while saving this file will be\n")
		file.WriteString("# reopened with the relevant failures.\n#\n")
		if len(problems) > 0 {
			fmt.Fprintf(&file, "# The edited %s is not valid:\n", what)
			for _, p := range problems {
				for _, line := range strings.Split(p, "\n") {
					fmt.Fprintf(&file, "# %s\n", line)
				}
			}
			file.WriteString("#\n")
		}
		file.Write(body)
		if err := os.WriteFile(path, file.Bytes(), 0o600); err != nil {
			return nil, err
		}
		if err := e.Launch(path); err != nil {
			return nil, err
		}
		saved, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		edited := stripComments(saved)
		if len(bytes.TrimSpace(edited)) == 0 {
			return nil, ErrEmpty
		}
		if len(problems) > 0 && bytes.Equal(edited, body) {
			return nil, fmt.Errorf("edit cancelled: no valid changes were saved; the %s is not valid:\n%s", what, strings.Join(problems, "\n"))
		}
		if problems, err = validate(edited); err != nil {
			return nil, err
		}
		if len(problems) == 0 {
			return edited, nil
		}
		body = edited
	}
}

// stripComments drops the lines whose first non-blank character is '#', as kubectl edit does.
func stripComments(text []byte) []byte {
	var out bytes.Buffer
	for _, line := range bytes.SplitAfter(text, []byte("\n")) {
		if t := bytes.TrimLeft(line, " \t"); len(t) > 0 && t[0] == '#' {
			continue
		}
		out.Write(line)
	}
	return out.Bytes()
}
