package commands

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/yaml"

	"github.com/kubestash/backupview/pkg/apis/ui/v1alpha1"
)

// restorePreview answers a view's restore-preview as the server would, in small: 404 for
// another view, 422 without a snapshot choice, else a RestoreSession of the form's fields,
// the resolved snapshot for latest, and a warning.
func (s *apiServer) restorePreview(w http.ResponseWriter, r *http.Request, body []byte) {
	view := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, uiPrefix+"backupconfigurationviews/"), "/restore-preview")
	if view != s.view.Name {
		writeStatus(w, errors.NewNotFound(schema.GroupResource{Group: "ui.kubestash.com", Resource: "backupconfigurationviews"}, view))
		return
	}
	var p v1alpha1.RestoreSessionPreview
	if err := yaml.UnmarshalStrict(body, &p); err != nil {
		writeStatus(w, errors.NewBadRequest("strict decoding error: "+err.Error()))
		return
	}
	s.mu.Lock()
	s.restores = append(s.restores, p)
	s.mu.Unlock()
	if p.Spec.Snapshot == "" && p.Spec.PITR == nil {
		errs := field.ErrorList{field.Required(field.NewPath("spec", "snapshot"), `a snapshot name, "latest", or pitr`)}
		for j, t := range p.Spec.Addon.Tasks {
			if t.Name == "backup-task" {
				errs = append(errs, field.Invalid(field.NewPath("spec", "addon", "tasks").Index(j).Child("name"), t.Name, "not a restore task"))
			}
		}
		writeStatus(w, errors.NewInvalid(schema.GroupKind{Group: "ui.kubestash.com", Kind: "RestoreSessionPreview"}, p.Name, errs))
		return
	}
	ds := map[string]interface{}{"namespace": "demo", "repository": "mongodb-repo"}
	if p.Spec.PITR != nil {
		ds["pitr"] = map[string]interface{}{"targetTime": p.Spec.PITR.TargetTime.UTC().Format("2006-01-02T15:04:05Z"), "exclusive": p.Spec.PITR.Exclusive}
	} else {
		ds["snapshot"] = p.Spec.Snapshot
	}
	manifest := map[string]interface{}{
		"apiVersion": "core.kubestash.com/v1alpha1", "kind": "RestoreSession",
		"metadata": map[string]interface{}{"name": p.Name, "namespace": p.Namespace},
		"spec":     map[string]interface{}{"dataSource": ds},
	}
	js, _ := json.MarshalIndent(manifest, "", "  ")
	ys, _ := yaml.Marshal(manifest)
	p.Status = v1alpha1.RestorePreviewStatus{YAML: string(ys), JSON: string(js) + "\n"}
	if p.Spec.Snapshot == "latest" {
		p.Status.Snapshot = &v1alpha1.ResolvedSnapshot{Name: "mongodb-repo-full-backup-1733112000", SnapshotTime: &metav1.Time{Time: now.Add(-2 * 3600e9)}, Phase: "Succeeded", Size: "12 MiB", VerificationStatus: "Verified"}
	}
	w.Header().Add("Warning", `299 - "target MongoDB.kubedb.com demo/mongodb exists: the restore overwrites its data"`)
	writeJSON(w, 201, p)
}

func TestRestorePreview(t *testing.T) {
	s := &apiServer{t: t, view: demoView()}
	out, errOut, code := run(t, s, nil, "", "restore", "-n", "demo", "mongodb-backup", "--snapshot", "latest",
		"--target", "MongoDB.kubedb.com/mongodb-copy", "--task", "name=logical-backup-restore,param.args=--drop", "--component", "dump",
		"--encryption-secret", "encrypt-secret", "--restore-timeout", "30m")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	name := "mongodb-backup-restore-20261202-040000" // the view's name and the command's clock
	for _, want := range []string{"kind: RestoreSession\n", "name: " + name + "\n", "snapshot: latest\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
	for _, want := range []string{
		"Snapshot: mongodb-repo-full-backup-1733112000, taken 2026-12-02T02:00:00Z, phase Succeeded, size 12 MiB, verification Verified\n",
		"Warning: target MongoDB.kubedb.com demo/mongodb exists: the restore overwrites its data\n",
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	if want := "POST " + uiPrefix + "backupconfigurationviews/mongodb-backup/restore-preview?fieldValidation=Strict"; s.requests[0] != want {
		t.Errorf("request %s, want %s", s.requests[0], want)
	}
	f := s.restores[0]
	if f.Name != name || f.Namespace != "demo" || f.Spec.Snapshot != "latest" || f.Spec.Target.Name != "mongodb-copy" || f.Spec.Target.Namespace != "demo" ||
		len(f.Spec.Addon.Tasks) != 1 || string(f.Spec.Addon.Tasks[0].Params.Raw) != `{"args":"--drop"}` || f.Spec.Components[0] != "dump" ||
		f.Spec.EncryptionSecret.Name != "encrypt-secret" || f.Spec.RestoreTimeout.Duration.String() != "30m0s" || f.Spec.Repository.Name != "" || f.Spec.Addon.Name != "" {
		t.Errorf("the posted form: %+v", f.Spec)
	}

	// A point in time, -o json, a name of one's own.
	out, _, code = run(t, s, nil, "", "restore", "-n", "demo", "mongodb-backup", "--at", "2026-12-01T10:00:00+01:00", "--exclusive", "--name", "mine", "-o", "json")
	var obj map[string]interface{}
	if code != 0 || json.Unmarshal([]byte(out), &obj) != nil || !strings.Contains(out, `"targetTime": "2026-12-01T09:00:00Z"`) || !strings.Contains(out, `"name": "mine"`) {
		t.Errorf("--at -o json: exit %d:\n%s", code, out)
	}
}

func TestRestoreErrors(t *testing.T) {
	s := &apiServer{t: t, view: demoView()}
	// The server's 422, each field with the flag that set it.
	_, errOut, code := run(t, s, nil, "", "restore", "-n", "demo", "mongodb-backup", "--task", "name=backup-task")
	want := `The RestoreSessionPreview "mongodb-backup-restore-20261202-040000" is invalid:
* spec.snapshot: Required value: a snapshot name, "latest", or pitr  (--snapshot or --at)
* spec.addon.tasks[0].name: Invalid value: "backup-task": not a restore task  (--task "name=backup-task")
`
	if code != 1 || errOut != want {
		t.Errorf("exit %d, stderr:\n%s\nwant:\n%s", code, errOut, want)
	}
	_, errOut, code = run(t, s, nil, "", "restore", "-n", "demo", "no-such-view", "--snapshot", "latest")
	if code != 1 || !strings.Contains(errOut, `Error from server (NotFound): backupconfigurationviews.ui.kubestash.com "no-such-view" not found`) {
		t.Errorf("a missing view: %d %s", code, errOut)
	}
	// Flags the plugin refuses before sending anything.
	sent := len(s.requests)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--snapshot", "latest", "--at", "2026-12-01T10:00:00Z"}, "give --snapshot or --at, not both"},
		{[]string{"--at", "yesterday"}, `--at "yesterday": want a time in RFC 3339`},
		{[]string{"--snapshot", "latest", "--exclusive"}, "--exclusive goes with --at"},
		{[]string{"--snapshot", "latest", "--target", "mongodb"}, `--target "mongodb": want KIND[.GROUP]/[NAMESPACE/]NAME`},
		{[]string{"--snapshot", "latest", "--task", "task=x"}, `--task "task=x": unknown key "task"`},
		{[]string{"--snapshot", "latest", "--restore-timeout", "soon"}, `--restore-timeout "soon": want a duration`},
		{[]string{"--snapshot", "latest", "--dry-run=client"}, "--dry-run=client has nothing to do"},
		{[]string{"--snapshot", "latest", "-o", "wide"}, `invalid argument "wide" for "--output" flag`},
	} {
		_, errOut, code := run(t, s, nil, "", append([]string{"restore", "-n", "demo", "mongodb-backup"}, tc.args...)...)
		if code != 1 || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, stderr %q, want %q", tc.args, code, errOut, tc.want)
		}
	}
	if len(s.requests) != sent {
		t.Errorf("refused flags sent requests: %v", s.requests[sent:])
	}
	_, errOut, code = run(t, s, nil, "", "restore", "-n", "demo")
	if code != 1 || !strings.Contains(errOut, "accepts 1 arg(s), received 0") {
		t.Errorf("no NAME: %d %s", code, errOut)
	}
}

func TestRestoreSubmit(t *testing.T) {
	s := &apiServer{t: t, view: demoView()}
	args := []string{"restore", "-n", "demo", "mongodb-backup", "--snapshot", "latest", "--name", "mongodb-restore"}
	out, _, code := run(t, s, nil, "", append(args, "--submit")...)
	if code != 0 || out != "restoresession.core.kubestash.com/mongodb-restore serverside-applied\n" {
		t.Errorf("--submit: exit %d: %q", code, out)
	}
	out, _, code = run(t, s, nil, "", append(args, "--dry-run=server", "-o", "yaml")...)
	if code != 0 || !strings.Contains(out, "uid: 0000-1111") || strings.Contains(out, "managedFields") {
		t.Errorf("--dry-run=server -o yaml: exit %d:\n%s", code, out)
	}
	var applies []string
	for _, r := range s.requests {
		if strings.HasPrefix(r, "PATCH") {
			applies = append(applies, r)
		}
	}
	want := []string{
		"PATCH " + corePrefix + "restoresessions/mongodb-restore?fieldManager=kubectl-backupview&force=false",
		"PATCH " + corePrefix + "restoresessions/mongodb-restore?dryRun=All&fieldManager=kubectl-backupview&force=false",
	}
	if strings.Join(applies, "\n") != strings.Join(want, "\n") {
		t.Errorf("applies:\n%s\nwant:\n%s", strings.Join(applies, "\n"), strings.Join(want, "\n"))
	}
}

// TestRestoreEdit: --edit opens the manifest; a save the server refuses reopens it with the
// error, and the fixed save is what is submitted.
func TestRestoreEdit(t *testing.T) {
	dir := t.TempDir()
	editor := filepath.Join(dir, "editor.sh")
	script := `#!/bin/sh
if grep -q 'field not declared in schema' "$1"; then
  sed -i '/colour/d; s/snapshot: latest/snapshot: mongodb-repo-full-backup-1733112000/' "$1"
else
  sed -i 's/^spec:/spec:\n  colour: blue/' "$1"
fi
`
	if err := os.WriteFile(editor, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	s := &apiServer{t: t, view: demoView(), applyCheck: func(body []byte, _ bool) error {
		if strings.Contains(string(body), "colour") {
			return errors.NewBadRequest(".spec.colour: field not declared in schema")
		}
		return nil
	}}
	out, errOut, code := run(t, s, map[string]string{"EDITOR": editor}, "", "restore", "-n", "demo", "mongodb-backup", "--snapshot", "latest", "--name", "r1", "--edit", "--submit", "-o", "yaml")
	if code != 0 || !strings.Contains(out, "snapshot: mongodb-repo-full-backup-1733112000") {
		t.Fatalf("exit %d, stderr %s, stdout:\n%s", code, errOut, out)
	}
	// The refused save, the accepted dry run, then the apply itself.
	if len(s.applied) != 2 || !strings.Contains(string(s.applied[1]), "mongodb-repo-full-backup-1733112000") {
		t.Errorf("applied %d times: %q", len(s.applied), s.applied)
	}
}

func TestRestoreCompletion(t *testing.T) {
	view := demoView()
	view.Repositories = []v1alpha1.RepositoryRef{{Name: "mongodb-repo", Size: "12 MiB", Phase: "Ready"}}
	s := &apiServer{t: t, view: view, options: v1alpha1.BackupConfigurationOptions{
		Addons: []v1alpha1.AddonOption{
			{Name: "mongodb-addon", BackupTasks: []v1alpha1.TaskOption{{Name: "logical-backup"}}, RestoreTasks: []v1alpha1.TaskOption{
				{Name: "logical-backup-restore", Parameters: []v1alpha1.TaskParameter{{Name: "args", Usage: "Arguments to be passed to the restore command."}}},
				{Name: "manifest-restore"}}},
			{Name: "backup-only-addon", BackupTasks: []v1alpha1.TaskOption{{Name: "x"}}},
		},
		Targets: []v1alpha1.TargetOption{{APIGroup: "kubedb.com", Kind: "MongoDB", Name: "mongodb"}},
	}}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"__complete", "restore", "-n", "demo", ""}, "mongodb-backup\n:4\n"},
		{[]string{"__complete", "restore", "-n", "demo", "mongodb-backup", "--repository", ""}, "mongodb-repo\t12 MiB, Ready\n:4\n"},
		{[]string{"__complete", "restore", "-n", "demo", "mongodb-backup", "--snapshot", "l"}, "latest\tthe repository's newest snapshot when the restore runs\n:4\n"},
		{[]string{"__complete", "restore", "-n", "demo", "mongodb-backup", "--addon", ""}, "mongodb-addon\n:4\n"},
		{[]string{"__complete", "restore", "-n", "demo", "mongodb-backup", "--target", ""}, "MongoDB.kubedb.com/mongodb\n:4\n"},
		{[]string{"__complete", "restore", "-n", "demo", "mongodb-backup", "--addon", "mongodb-addon", "--task", "name=m"}, "name=manifest-restore\tmongodb-addon\n:6\n"},
		{[]string{"__complete", "restore", "-n", "demo", "mongodb-backup", "--task", "name=x,"}, "name=x,param.\nname=x,params-file=\n:6\n"},
		// The restore task's parameters, as the create form offers a backup task's.
		{[]string{"__complete", "restore", "-n", "demo", "mongodb-backup", "--task", "name=logical-backup-restore,param."},
			"name=logical-backup-restore,param.args=\tArguments to be passed to the restore command.\n:6\n"},
	} {
		out, _, code := run(t, s, nil, "", c.args...)
		if code != 0 || out != c.want && !strings.HasPrefix(out, c.want) {
			t.Errorf("%v: exit %d: %q, want %q", c.args, code, out, c.want)
		}
	}
}
