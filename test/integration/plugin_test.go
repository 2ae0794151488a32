package integration

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubestash/backupview/pkg/kubestash"
	"github.com/kubestash/backupview/test/harness"
)

// plugin runs the built kubectl-backupview (make build) with a kubeconfig and extra
// environment, and returns its standard output and standard error apart.
func plugin(t *testing.T, kubeconfig string, env []string, args ...string) (string, string, error) {
	t.Helper()
	bin := filepath.Join(root, "_output", "bin", "kubectl-backupview")
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("%v: run make build", err)
	}
	cmd := exec.Command(bin, append([]string{"--kubeconfig", kubeconfig, "--cache-dir", t.TempDir()}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	return out.String(), errOut.String(), err
}

func admin(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	return plugin(t, c.Kubeconfig(""), nil, args...)
}

// TestPluginDescribe: kubectl backupview describe of a demo view prints every panel with its
// objects, the verdict the server's Table shows, and works through kubectl's plugin lookup.
func TestPluginDescribe(t *testing.T) {
	need(t)
	out, errOut, err := admin(t, "describe", "-n", "demo", "mongodb-backup")
	if err != nil {
		t.Fatal(err, errOut)
	}
	health, err := c.TableHealth("demo", "mongodb-backup")
	if err != nil {
		t.Fatal(err)
	}
	if first, _, _ := strings.Cut(out, "\n"); first != "Health:   "+health {
		t.Errorf("first line %q, want the Table's HEALTH %s", first, health)
	}
	// Every panel, in order, each with the demo's objects.
	at := 0
	for _, p := range []struct{ panel, row string }{
		{"  Reasons:\n", ""},
		{"\nBasic:\n", "  Name:          mongodb-backup\n"},
		{"\nSessions:\n", "full-backup"},
		{"\nBackup Sessions:\n", "mongodb-backup-full-backup-1795752000"},
		{"\nRetention Policies:\n", "demo-retention"},
		{"\nTarget:\n", "kubedb.com   MongoDB   demo"},
		{"\nRepository:\n", "mongodb-repo"},
		{"\nSnapshots:\n", "mongodb-repo-mongodb-backup-full-backup-1795752000"},
		{"\nBackupStorage:\n", "s3-shared"},
		{"\nCronJobs:\n", "trigger-mongodb-backup-full-backup"},
	} {
		i := strings.Index(out[at:], p.panel)
		if i < 0 {
			t.Fatalf("no panel %q after offset %d:\n%s", p.panel, at, out)
		}
		at += i + len(p.panel)
		next := strings.Index(out[at:], "\n\n")
		if next < 0 {
			next = len(out) - at
		}
		if !strings.Contains(out[at:at+next], p.row) {
			t.Errorf("panel %q lacks %q:\n%s", p.panel, p.row, out[at:at+next])
		}
	}
	if strings.Contains(out, "No data available") {
		t.Errorf("mongodb-backup's target exists:\n%s", out)
	}

	// A view whose target does not exist: the console's "No data available".
	out, errOut, err = admin(t, "describe", "-n", "analytics", "events-db-backup")
	if err != nil || !strings.Contains(out, "\nTarget:\n  No data available (Postgres analytics/events-db not found)\n") {
		t.Errorf("events-db-backup: %v %s\n%s", err, errOut, out)
	}

	// Every view of every namespace, one page each; a selector that matches none.
	list, err := bv.UiV1alpha1().BackupConfigurationViews("").List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out, errOut, err = admin(t, "describe", "-A")
	if err != nil || strings.Count(out, "\nBasic:\n") != len(list.Items) || strings.Count(out, "Health:") != len(list.Items) {
		t.Errorf("describe -A: %v %s: %d pages for %d views", err, errOut, strings.Count(out, "\nBasic:\n"), len(list.Items))
	}
	out, errOut, err = admin(t, "describe", "-n", "demo", "-l", "no-such-label=x")
	if err != nil || out != "" || errOut != "No resources found in demo namespace.\n" {
		t.Errorf("no match: %v %q %q", err, out, errOut)
	}

	// As kubectl runs it: kubectl backupview, found on PATH.
	// (kubectl takes no flags before a plugin's name: the kubeconfig comes from the environment.)
	cmd := exec.Command(filepath.Join(root, "_output", "bin", "kubectl"), "backupview", "describe", "-n", "demo", "mongodb-backup")
	cmd.Env = append(os.Environ(), "KUBECONFIG="+c.Kubeconfig(""), "PATH="+filepath.Join(root, "_output", "bin")+string(os.PathListSeparator)+os.Getenv("PATH"))
	kout, err := cmd.CombinedOutput()
	if err != nil || !strings.HasPrefix(string(kout), "Health:") || !strings.Contains(string(kout), "\nCronJobs:\n") {
		t.Errorf("kubectl backupview describe: %v\n%s", err, kout)
	}
}

// deleteBC deletes a BackupConfiguration the test made and waits for its view to go, so
// that later tests see the demo's views only.
func deleteBC(t *testing.T, ns, name string) {
	ctx := context.Background()
	err := dyn.Resource(kubestash.BackupConfigurations).Namespace(ns).Delete(ctx, name, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		t.Error(err)
	}
	if err := harness.Eventually(30*time.Second, func() error {
		if _, err := bv.UiV1alpha1().BackupConfigurationViews(ns).Get(ctx, name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			return fmt.Errorf("view %s/%s still there: %v", ns, name, err)
		}
		return nil
	}); err != nil {
		t.Error(err)
	}
}

// exampleFlags are examples/preview-mongodb.yaml as flags (plugins/kubectl/formflags tests that they
// are the same form).
var exampleFlags = []string{
	"--storage", "kubestash/s3-shared",
	"--retention-policy", "demo/demo-retention",
	"--label", "team=databases",
	"--session", "name=full-backup,schedule=*/30 * * * *,run-as-user=999,addon=mongodb-addon",
	"--task", "name=logical-backup,repo=mongodb-repo,encryption-secret=encrypt-secret,param.args=--db=testdb",
	"--target", "MongoDB.kubedb.com/mongodb",
}

// TestPluginCreate: create prints what the preview renders; --dry-run=server persists
// nothing; --submit makes a BackupConfiguration that the KubeStash CRD accepts, applied by
// the plugin's field manager, and its view appears.
// TestPluginSnapshots: the view's snapshots as a table, newest first, and as YAML with the
// total; a view without any says so; a missing view is kubectl's NotFound.
func TestPluginSnapshots(t *testing.T) {
	need(t)
	out, errOut, err := admin(t, "snapshots", "-n", "demo", "mongodb-backup")
	if err != nil {
		t.Fatal(err, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "REPOSITORY ") || !strings.Contains(lines[1], "mongodb-repo-mongodb-backup-full-backup-1795752000") ||
		!strings.Contains(lines[1], "Verified") || !strings.Contains(lines[2], "VerificationFailed") {
		t.Errorf("table:\n%s", out)
	}
	out, errOut, err = admin(t, "snapshots", "-n", "demo", "mongodb-backup", "-o", "yaml")
	if err != nil || !strings.Contains(out, "  snapshotsTotal: 2\n") || !strings.Contains(out, "repository: mongodb-repo\n") {
		t.Errorf("-o yaml: %v %s\n%s", err, errOut, out)
	}
	if out, errOut, err = admin(t, "snapshots", "-n", "demo", "app-data-backup"); err != nil || out != "" || errOut != "No snapshots found for demo/app-data-backup.\n" {
		t.Errorf("no snapshots: %v %q %q", err, out, errOut)
	}
	if _, errOut, err = admin(t, "snapshots", "-n", "demo", "nope"); err == nil || !strings.Contains(errOut, `Error from server (NotFound): backupconfigurationviews.ui.kubestash.com "nope" not found`) {
		t.Errorf("missing view: %v %q", err, errOut)
	}
}

func TestPluginCreate(t *testing.T) {
	need(t)
	ctx := context.Background()
	// The README's example: the example form with a name and repository of its own.
	const name, repo = "mongodb-logical", "mongodb-logical-repo"
	t.Cleanup(func() { deleteBC(t, "demo", name) })
	args := []string{"create", name, "-n", "demo"}
	for i := 0; i < len(exampleFlags); i += 2 {
		args = append(args, exampleFlags[i], strings.Replace(exampleFlags[i+1], "repo=mongodb-repo,", "repo="+repo+",", 1))
	}
	if !strings.Contains(strings.Join(args, " "), "repo="+repo+",") {
		t.Fatal("no task flag to rename the repository in")
	}

	form := readForm(t, "examples/preview-mongodb.yaml")
	form.Name = name
	form.Spec.Sessions[0].Tasks[0].RepoName = repo
	want, err := bv.UiV1alpha1().BackupConfigurationPreviews("demo").Create(ctx, form, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out, errOut, err := admin(t, args...)
	if err != nil || out != want.Status.YAML {
		t.Fatalf("create: %v %s\n%s\nwant:\n%s", err, errOut, out, want.Status.YAML)
	}
	out, errOut, err = admin(t, append(args, "-o", "json")...)
	if err != nil || out != withNL(want.Status.JSON) {
		t.Errorf("create -o json: %v %s\n%s", err, errOut, out)
	}

	out, errOut, err = admin(t, append(args, "--dry-run=server")...)
	if err != nil || out != "backupconfiguration.core.kubestash.com/"+name+" serverside-applied (server dry run)\n" {
		t.Fatalf("--dry-run=server: %v %s\n%s", err, errOut, out)
	}
	if _, err := dyn.Resource(kubestash.BackupConfigurations).Namespace("demo").Get(ctx, name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("a dry run persisted the BackupConfiguration: %v", err)
	}

	out, errOut, err = admin(t, append(args, "--submit")...)
	if err != nil || out != "backupconfiguration.core.kubestash.com/"+name+" serverside-applied\n" {
		t.Fatalf("--submit: %v %s\n%s", err, errOut, out)
	}
	bc, err := dyn.Resource(kubestash.BackupConfigurations).Namespace("demo").Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	managers := []string{}
	for _, m := range bc.GetManagedFields() {
		managers = append(managers, m.Manager+"/"+string(m.Operation))
	}
	if len(managers) != 1 || managers[0] != "kubectl-backupview/Apply" {
		t.Errorf("managed by %v, want kubectl-backupview/Apply only", managers)
	}
	if bc.GetLabels()["team"] != "databases" {
		t.Errorf("labels %v", bc.GetLabels())
	}
	// The view appears, joined with the demo's objects.
	if err := harness.Eventually(30*time.Second, func() error {
		v, err := bv.UiV1alpha1().BackupConfigurationViews("demo").Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if !v.Target.Found || len(v.BackupStorages) != 1 || !v.BackupStorages[0].Found || v.Summary.Schedule != "*/30 * * * *" {
			return fmt.Errorf("view not joined yet: %+v", v.Summary)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	out, errOut, err = admin(t, "describe", "-n", "demo", name)
	if err != nil || !strings.Contains(out, "  Name:          "+name+"\n") || !strings.Contains(out, "kubedb.com   MongoDB   demo        mongodb") {
		t.Errorf("describe of the new view: %v %s\n%s", err, errOut, out)
	}
	// Applying again is the same manager's own object: no conflict, nothing changes.
	if out, errOut, err = admin(t, append(args, "--submit")...); err != nil {
		t.Errorf("--submit again: %v %s %s", err, errOut, out)
	}
}

func withNL(s string) string {
	if strings.HasSuffix(s, "\n") {
		return s
	}
	return s + "\n"
}

// TestPluginEdit: --edit opens the manifest in $EDITOR; a field the CRD does not have makes the
// server refuse the dry run, and the file reopens with the error on top; the fixed manifest
// is what --submit creates.
func TestPluginEdit(t *testing.T) {
	need(t)
	const name = "plugin-edited"
	t.Cleanup(func() { deleteBC(t, "demo", name) })
	dir := t.TempDir()
	editor := filepath.Join(dir, "editor.sh")
	// Round 1 adds an unknown field; round 2 (the error is in the file) removes it and
	// changes the schedule. Each round's file is kept for the assertions.
	script := `#!/bin/sh
set -e
n=$(ls ` + dir + ` | grep -c '^round-' || true)
cp "$1" ` + dir + `/round-$((n+1))
if grep -q '^# The edited BackupConfiguration' "$1"; then
  sed -i '/colour: blue/d; s|\*/30 \* \* \* \*|0 5 * * *|' "$1"
else
  sed -i 's/^spec:/spec:\n  colour: blue/' "$1"
fi
`
	if err := os.WriteFile(editor, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	out, errOut, err := plugin(t, c.Kubeconfig(""), []string{"EDITOR=" + editor, "KUBE_EDITOR="},
		append([]string{"create", "-n", "demo", name, "--edit", "--submit"}, exampleFlags...)...)
	if err != nil || out != "backupconfiguration.core.kubestash.com/"+name+" serverside-applied\n" {
		t.Fatalf("create --edit --submit: %v\nstderr: %s\nstdout: %s", err, errOut, out)
	}
	first, err := os.ReadFile(filepath.Join(dir, "round-1"))
	if err != nil {
		t.Fatal(err)
	}
	second, err := os.ReadFile(filepath.Join(dir, "round-2"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(first), "# Please edit the BackupConfiguration demo/"+name+" below.") || !strings.Contains(string(first), "schedule: '*/30 * * * *'") {
		t.Errorf("round 1 file:\n%s", first)
	}
	if !strings.Contains(string(second), "# The edited BackupConfiguration demo/"+name+" is not valid:\n") || !strings.Contains(string(second), "colour") || !strings.Contains(string(second), "field not declared in schema") {
		t.Errorf("round 2 file lacks the server's refusal of the unknown field:\n%s", second)
	}
	if _, err := os.Stat(filepath.Join(dir, "round-3")); err == nil {
		t.Error("the editor opened a third time")
	}
	bc, err := dyn.Resource(kubestash.BackupConfigurations).Namespace("demo").Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sessions, _, _ := unstructured.NestedSlice(bc.Object, "spec", "sessions")
	if len(sessions) != 1 || fmt.Sprint(sessions[0].(map[string]interface{})["scheduler"].(map[string]interface{})["schedule"]) != "0 5 * * *" {
		t.Errorf("the submitted BackupConfiguration is not the edited one: %v", sessions)
	}
	if _, found := bc.Object["spec"].(map[string]interface{})["colour"]; found {
		t.Error("the unknown field was submitted")
	}
}

// TestPluginErrors: the 422's field paths with the flags behind them; a user without rights
// is told which role grants them; a namespace editor may preview and edit but not submit;
// a cluster without backupview is told so.
func TestPluginErrors(t *testing.T) {
	need(t)
	t.Run("422 names every field and its flag", func(t *testing.T) {
		_, errOut, err := admin(t, "create", "-n", "demo", "broken", "--session", "name=daily,schedule=every day", "--task", "repo=r")
		for _, want := range []string{
			`The BackupConfigurationPreview "broken" is invalid:` + "\n",
			"* spec.storageRef.name: Required value",
			"  (--storage)\n",
			`* spec.sessions[0].schedule: Invalid value: "every day": `,
			`  (--session "name=daily,schedule=every day")` + "\n",
			"* spec.sessions[0].tasks[0].name: Required value",
			`  (--task "repo=r")` + "\n",
		} {
			if err == nil || !strings.Contains(errOut, want) {
				t.Errorf("lacks %q: %v\n%s", want, err, errOut)
			}
		}
	})

	t.Run("forbidden", func(t *testing.T) {
		if err := c.MintCert("ca", "nobody", "nobody"); err != nil {
			t.Fatal(err)
		}
		kc, err := c.UserKubeconfig("nobody")
		if err != nil {
			t.Fatal(err)
		}
		_, errOut, err := plugin(t, kc, nil, "describe", "-n", "demo", "mongodb-backup")
		want := `Error from server (Forbidden): backupconfigurationviews.ui.kubestash.com "mongodb-backup" is forbidden: User "nobody" cannot get resource "backupconfigurationviews" in API group "ui.kubestash.com" in the namespace "demo"` + "\n" +
			"Reading backupconfigurationviews.ui.kubestash.com takes get and list on it: the ClusterRole backupview:view grants them, and is aggregated into the view, edit and admin roles.\n"
		if err == nil || errOut != want {
			t.Errorf("%v:\n%s\nwant:\n%s", err, errOut, want)
		}
	})

	t.Run("a namespace editor previews and edits, and may not submit", func(t *testing.T) {
		kc := namespaceEditor(t, "frank")
		args := append([]string{"create", "-n", "demo", "frank-backup"}, exampleFlags...)
		_, errOut, err := plugin(t, kc, nil, append(args, "--submit")...)
		if err == nil || !strings.Contains(errOut, "\nError from server (Forbidden): backupconfigurations.core.kubestash.com \"frank-backup\" is forbidden: User \"frank\" cannot patch resource") ||
			!strings.Contains(errOut, "--submit applies the BackupConfiguration with server-side apply: it takes create and patch on backupconfigurations.core.kubestash.com (KubeStash's RBAC).") {
			t.Errorf("--submit: %v\n%s", err, errOut)
		}
		out, errOut, err := plugin(t, kc, []string{"EDITOR=true", "KUBE_EDITOR="}, append(args, "--edit")...)
		if err != nil || !strings.Contains(out, "kind: BackupConfiguration\n") || !strings.Contains(errOut, "Warning: the edited manifest was not checked by the server: ") {
			t.Errorf("--edit: %v\nstderr: %s\nstdout: %s", err, errOut, out)
		}
	})

	// Last: it takes backupview's APIService away for a moment.
	t.Run("not installed", func(t *testing.T) {
		const apiservice = "apiservice/v1alpha1.ui.kubestash.com"
		if out, err := kubectl("delete", apiservice); err != nil {
			t.Fatal(err, out)
		}
		defer func() {
			if err := c.CP.Register(context.Background()); err != nil {
				t.Fatal(err)
			}
			if out, err := kubectl("wait", "--for=condition=Available", "--timeout=60s", apiservice); err != nil {
				t.Fatal(err, out)
			}
			if err := harness.Eventually(60*time.Second, func() error {
				_, err := bv.UiV1alpha1().BackupConfigurationViews("demo").Get(context.Background(), "mongodb-backup", metav1.GetOptions{})
				return err
			}); err != nil {
				t.Fatal(err)
			}
		}()
		want := "error: backupview is not installed in this cluster: the server has no API group ui.kubestash.com (install it with kubectl apply -k deploy/ from github.com/kubestash/backupview)\n"
		if err := harness.Eventually(30*time.Second, func() error {
			_, errOut, err := admin(t, "describe", "-n", "demo", "mongodb-backup")
			if err == nil || errOut != want {
				return fmt.Errorf("%v: %s", err, errOut)
			}
			return nil
		}); err != nil {
			t.Error(err)
		}
	})
}

// TestPluginCompletion: kubectl's completion of kubectl backupview runs
// kubectl_complete-backupview (a link to the plugin), which offers the form options' values
// and the view names.
func TestPluginCompletion(t *testing.T) {
	need(t)
	bin := t.TempDir()
	if err := os.Symlink(filepath.Join(root, "_output", "bin", "kubectl-backupview"), filepath.Join(bin, "kubectl_complete-backupview")); err != nil {
		t.Fatal(err)
	}
	path := bin + string(os.PathListSeparator) + filepath.Join(root, "_output", "bin") + string(os.PathListSeparator) + os.Getenv("PATH")
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"create", "x", "-n", "demo", "--storage", ""}, []string{"kubestash/s3-shared\ts3, Ready, default", "demo/gcs-demo\tgcs, Ready", ":4"}},
		{[]string{"create", "x", "-n", "demo", "--session", "name=full,addon="}, []string{"name=full,addon=mongodb-addon", "name=full,addon=postgres-addon", "name=full,addon=workload-addon", ":6"}},
		{[]string{"create", "x", "-n", "demo", "--target", ""}, []string{"StatefulSet.apps/app-data", "MongoDB.kubedb.com/mongodb", ":4"}},
		{[]string{"describe", "-n", "demo", ""}, []string{"app-data-backup", "mongodb-backup", ":4"}},
	} {
		cmd := exec.Command(filepath.Join(root, "_output", "bin", "kubectl"), append([]string{"__complete", "backupview"}, tc.args...)...)
		cmd.Env = append(os.Environ(), "KUBECONFIG="+c.Kubeconfig(""), "PATH="+path)
		var out bytes.Buffer
		cmd.Stdout = &out
		if err := cmd.Run(); err != nil {
			t.Fatal(tc.args, err)
		}
		if got := strings.TrimSpace(out.String()); got != strings.Join(tc.want, "\n") {
			t.Errorf("kubectl __complete backupview %q:\n%s\nwant:\n%s", tc.args, out.String(), strings.Join(tc.want, "\n"))
		}
	}
}
