package commands

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"sigs.k8s.io/yaml"

	"github.com/kubestash/backupview/pkg/apis/ui/v1alpha1"
	"github.com/kubestash/backupview/plugins/kubectl/describe"
)

var now = time.Date(2026, 12, 2, 4, 0, 0, 0, time.UTC)

// apiServer answers what the plugin asks of kube-apiserver and backupview, and records it.
type apiServer struct {
	t         *testing.T
	noUI      bool // ui.kubestash.com is not served
	forbidden bool // every request is refused
	view      v1alpha1.BackupConfigurationView
	options   v1alpha1.BackupConfigurationOptions
	// applyCheck answers a server-side apply: nil accepts it.
	applyCheck func(body []byte, dryRun bool) error

	mu       sync.Mutex
	requests []string // "VERB path?query", discovery left out
	previews []v1alpha1.BackupConfigurationPreview
	restores []v1alpha1.RestoreSessionPreview
	applied  [][]byte
}

func (s *apiServer) record(r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := ""
	if r.URL.RawQuery != "" {
		q = "?" + r.URL.RawQuery
	}
	s.requests = append(s.requests, r.Method+" "+r.URL.Path+q)
}

func writeJSON(w http.ResponseWriter, code int, obj interface{}) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(obj)
}

func writeStatus(w http.ResponseWriter, err *errors.StatusError) {
	st := err.Status()
	st.Kind, st.APIVersion = "Status", "v1"
	writeJSON(w, int(st.Code), st)
}

const (
	uiPrefix   = "/apis/ui.kubestash.com/v1alpha1/namespaces/demo/"
	corePrefix = "/apis/core.kubestash.com/v1alpha1/namespaces/demo/"
)

func (s *apiServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/api":
		writeJSON(w, 200, metav1.APIVersions{TypeMeta: metav1.TypeMeta{Kind: "APIVersions"}, Versions: []string{"v1"}})
		return
	case "/apis":
		groups := []metav1.APIGroup{{Name: "core.kubestash.com", Versions: []metav1.GroupVersionForDiscovery{{GroupVersion: "core.kubestash.com/v1alpha1", Version: "v1alpha1"}}}}
		if !s.noUI {
			groups = append(groups, metav1.APIGroup{Name: "ui.kubestash.com", Versions: []metav1.GroupVersionForDiscovery{{GroupVersion: "ui.kubestash.com/v1alpha1", Version: "v1alpha1"}}})
		}
		writeJSON(w, 200, metav1.APIGroupList{TypeMeta: metav1.TypeMeta{Kind: "APIGroupList", APIVersion: "v1"}, Groups: groups})
		return
	}
	s.record(r)
	gr := schema.GroupResource{Group: "ui.kubestash.com", Resource: "backupconfigurationviews"}
	if s.noUI && strings.HasPrefix(r.URL.Path, "/apis/ui.kubestash.com/") {
		writeJSON(w, 404, metav1.Status{TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"}, Status: "Failure", Reason: metav1.StatusReasonNotFound, Code: 404,
			Message: "the server could not find the requested resource", Details: &metav1.StatusDetails{}})
		return
	}
	if s.forbidden {
		writeStatus(w, errors.NewForbidden(gr, "mongodb-backup", errorsNew(`User "alice" cannot get resource "backupconfigurationviews" in API group "ui.kubestash.com" in the namespace "demo"`)))
		return
	}
	body, _ := io.ReadAll(r.Body)
	switch {
	case r.Method == "GET" && r.URL.Path == uiPrefix+"backupconfigurationviews/"+s.view.Name:
		writeJSON(w, 200, s.view)
	case r.Method == "GET" && strings.HasPrefix(r.URL.Path, uiPrefix+"backupconfigurationviews/"):
		writeStatus(w, errors.NewNotFound(gr, strings.TrimPrefix(r.URL.Path, uiPrefix+"backupconfigurationviews/")))
	case r.Method == "GET" && r.URL.Path == uiPrefix+"backupconfigurationviews":
		writeJSON(w, 200, v1alpha1.BackupConfigurationViewList{TypeMeta: metav1.TypeMeta{Kind: "BackupConfigurationViewList", APIVersion: "ui.kubestash.com/v1alpha1"}, Items: []v1alpha1.BackupConfigurationView{s.view}})
	case r.Method == "GET" && r.URL.Path == uiPrefix+"backupconfigurationoptions/default":
		writeJSON(w, 200, s.options)
	case r.Method == "POST" && r.URL.Path == uiPrefix+"backupconfigurationpreviews":
		var p v1alpha1.BackupConfigurationPreview
		if err := yaml.UnmarshalStrict(body, &p); err != nil {
			// As the server's strict decoding: the form is sent as the file has it.
			writeStatus(w, errors.NewBadRequest("strict decoding error: "+err.Error()))
			return
		}
		s.mu.Lock()
		s.previews = append(s.previews, p)
		s.mu.Unlock()
		if p.Spec.StorageRef.Name == "" {
			writeStatus(w, errors.NewInvalid(schema.GroupKind{Group: "ui.kubestash.com", Kind: "BackupConfigurationPreview"}, p.Name, field.ErrorList{
				field.Required(field.NewPath("spec", "storageRef", "name"), ""),
				field.Invalid(field.NewPath("spec", "sessions").Index(0).Child("schedule"), "every day", "expected exactly 5 fields"),
				field.Required(field.NewPath("spec", "sessions").Index(0).Child("tasks").Index(0).Child("name"), "one of the addon's backupTasks"),
			}))
			return
		}
		manifest := map[string]interface{}{
			"apiVersion": "core.kubestash.com/v1alpha1", "kind": "BackupConfiguration",
			"metadata": map[string]interface{}{"name": p.Name, "namespace": p.Namespace},
			"spec":     map[string]interface{}{"backends": []interface{}{map[string]interface{}{"name": "default-backend", "storageRef": map[string]interface{}{"name": p.Spec.StorageRef.Name}}}},
		}
		js, _ := json.MarshalIndent(manifest, "", "  ")
		ys, _ := yaml.Marshal(manifest)
		p.Status = v1alpha1.PreviewStatus{YAML: string(ys), JSON: string(js) + "\n"}
		w.Header().Add("Warning", `299 - "BackupConfiguration demo/`+p.Name+` already exists"`)
		writeJSON(w, 201, p)
	case r.Method == "POST" && strings.HasPrefix(r.URL.Path, uiPrefix+"backupconfigurationviews/") && strings.HasSuffix(r.URL.Path, "/restore-preview"):
		s.restorePreview(w, r, body)
	case r.Method == "PATCH" && (strings.HasPrefix(r.URL.Path, corePrefix+"backupconfigurations/") || strings.HasPrefix(r.URL.Path, corePrefix+"restoresessions/")):
		if ct := r.Header.Get("Content-Type"); ct != "application/apply-patch+yaml" {
			s.t.Errorf("apply with content type %s", ct)
		}
		dry := r.URL.Query().Get("dryRun") == "All"
		if s.applyCheck != nil {
			if err := s.applyCheck(body, dry); err != nil {
				writeStatus(w, err.(*errors.StatusError))
				return
			}
		}
		s.mu.Lock()
		s.applied = append(s.applied, body)
		s.mu.Unlock()
		var obj map[string]interface{}
		if err := yaml.Unmarshal(body, &obj); err != nil {
			s.t.Errorf("apply body: %v", err)
		}
		obj["metadata"].(map[string]interface{})["uid"] = "0000-1111"
		obj["metadata"].(map[string]interface{})["managedFields"] = []interface{}{map[string]interface{}{"manager": "kubectl-backupview"}}
		writeJSON(w, 200, obj)
	default:
		s.t.Errorf("unexpected request %s %s", r.Method, r.URL)
		http.NotFound(w, r)
	}
}

type stringError string

func (e stringError) Error() string { return string(e) }
func errorsNew(s string) error      { return stringError(s) }

// run runs the plugin against the server with args (after -n demo), with stdin, and
// returns standard output, standard error and the exit code.
func run(t *testing.T, s *apiServer, env map[string]string, stdin string, args ...string) (string, string, int) {
	t.Helper()
	srv := httptest.NewServer(s)
	defer srv.Close()
	kc := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kc, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	o := Options{
		Streams: genericiooptions.IOStreams{In: strings.NewReader(stdin), Out: &out, ErrOut: &errOut},
		Now:     func() time.Time { return now },
		Getenv:  func(k string) string { return env[k] },
	}
	all := append([]string{"--kubeconfig", kc, "--server", srv.URL, "--cache-dir", t.TempDir()}, args...)
	code := Run(context.Background(), o, all)
	return out.String(), errOut.String(), code
}

func demoView() v1alpha1.BackupConfigurationView {
	return v1alpha1.BackupConfigurationView{
		TypeMeta:   metav1.TypeMeta{Kind: "BackupConfigurationView", APIVersion: "ui.kubestash.com/v1alpha1"},
		ObjectMeta: metav1.ObjectMeta{Name: "mongodb-backup", Namespace: "demo", CreationTimestamp: metav1.Time{Time: now.Add(-time.Hour)}},
		Basic:      v1alpha1.Basic{Phase: "Ready"},
		Target:     v1alpha1.TargetRef{APIGroup: "kubedb.com", Kind: "MongoDB", Namespace: "demo", Name: "mongodb", Found: true},
		Health: v1alpha1.Health{Verdict: "Healthy", Reasons: []v1alpha1.HealthReason{{Type: "Overdue", Field: "spec.sessions[0].scheduler.schedule",
			Object: v1alpha1.TypedObjectReference{Kind: "BackupConfiguration", Namespace: "demo", Name: "mongodb-backup"}, Message: "overdue", After: &metav1.Time{Time: now.Add(-time.Minute)}}}},
	}
}

// TestDescribe: the page of describe.View for the view one GET returned, with the verdict read
// at the command's clock.
func TestDescribe(t *testing.T) {
	s := &apiServer{t: t, view: demoView()}
	out, errOut, code := run(t, s, nil, "", "describe", "-n", "demo", "mongodb-backup")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var want bytes.Buffer
	if err := describe.View(&want, &s.view, now); err != nil {
		t.Fatal(err)
	}
	if out != want.String() || !strings.HasPrefix(out, "Health:   Overdue\n") {
		t.Errorf("describe printed:\n%s\nwant:\n%s", out, want.String())
	}
	if len(s.requests) != 1 || s.requests[0] != "GET "+uiPrefix+"backupconfigurationviews/mongodb-backup" {
		t.Errorf("requests: %v, want one GET of the view", s.requests)
	}

	// Without a name: one LIST. A name that is not there: kubectl's message, the others still
	// described, exit 1.
	s = &apiServer{t: t, view: demoView()}
	out, _, code = run(t, s, nil, "", "describe", "-n", "demo", "-l", "team=db")
	if code != 0 || out != want.String() || len(s.requests) != 1 || s.requests[0] != "GET "+uiPrefix+"backupconfigurationviews?labelSelector=team%3Ddb" {
		t.Errorf("list: exit %d, requests %v:\n%s", code, s.requests, out)
	}
	out, errOut, code = run(t, s, nil, "", "describe", "-n", "demo", "nope", "mongodb-backup")
	if code != 1 || out != want.String() || errOut != "Error from server (NotFound): backupconfigurationviews.ui.kubestash.com \"nope\" not found\n" {
		t.Errorf("missing name: exit %d, stderr %q, stdout:\n%s", code, errOut, out)
	}
	_, errOut, code = run(t, s, nil, "", "describe", "--colour")
	if code != 1 || errOut != "error: unknown flag: --colour\nSee 'kubectl backupview describe -h' for help and examples\n" {
		t.Errorf("unknown flag: %d %q", code, errOut)
	}
	_, errOut, code = run(t, s, nil, "", "describe", "-A", "x")
	if code != 1 || !strings.Contains(errOut, "error: a resource cannot be retrieved by name across all namespaces") {
		t.Errorf("-A with a name: %d %s", code, errOut)
	}
}

// TestNotInstalledAndForbidden: errors say what is wrong, in kubectl's words and then some.
func TestNotInstalledAndForbidden(t *testing.T) {
	s := &apiServer{t: t, view: demoView(), noUI: true}
	for _, args := range [][]string{
		{"describe", "-n", "demo", "mongodb-backup"},
		{"describe", "-n", "demo"},
		{"create", "-n", "demo", "x", "--storage", "s"},
	} {
		_, errOut, code := run(t, s, nil, "", args...)
		if code != 1 || errOut != "error: backupview is not installed in this cluster: the server has no API group ui.kubestash.com (install it with kubectl apply -k deploy/ from github.com/kubestash/backupview)\n" {
			t.Errorf("%v: exit %d, %q", args, code, errOut)
		}
	}
	s = &apiServer{t: t, view: demoView(), forbidden: true}
	_, errOut, code := run(t, s, nil, "", "describe", "-n", "demo", "mongodb-backup")
	want := `Error from server (Forbidden): backupconfigurationviews.ui.kubestash.com "mongodb-backup" is forbidden: User "alice" cannot get resource "backupconfigurationviews" in API group "ui.kubestash.com" in the namespace "demo"` + "\n" +
		"Reading backupconfigurationviews.ui.kubestash.com takes get and list on it: the ClusterRole backupview:view grants them, and is aggregated into the view, edit and admin roles.\n"
	if code != 1 || errOut != want {
		t.Errorf("forbidden: exit %d:\n%s\nwant:\n%s", code, errOut, want)
	}
}

var formFlags = []string{
	"--storage", "kubestash/s3-shared", "--retention-policy", "demo/demo-retention",
	"--session", "name=full-backup,schedule=*/30 * * * *,addon=mongodb-addon",
	"--task", "name=logical-backup,repo=mongodb-repo",
	"--target", "MongoDB.kubedb.com/mongodb",
}

// TestCreatePreview: the flags are posted as the form, strictly; the warnings go to standard
// error and the manifest to standard output, as the server wrote it.
func TestCreatePreview(t *testing.T) {
	s := &apiServer{t: t}
	for _, c := range []struct {
		output, want string
	}{{"", "apiVersion: core.kubestash.com/v1alpha1\n"}, {"json", "{\n  \"apiVersion\": \"core.kubestash.com/v1alpha1\",\n"}, {"name", "backupconfiguration.core.kubestash.com/mongodb-backup\n"}} {
		args := append([]string{"create", "-n", "demo", "mongodb-backup"}, formFlags...)
		if c.output != "" {
			args = append(args, "-o", c.output)
		}
		out, errOut, code := run(t, s, nil, "", args...)
		if code != 0 || !strings.HasPrefix(out, c.want) || errOut != "Warning: BackupConfiguration demo/mongodb-backup already exists\n" {
			t.Errorf("-o %q: exit %d, stderr %q, stdout:\n%s", c.output, code, errOut, out)
		}
	}
	if n := len(s.previews); n != 3 || s.previews[0].Spec.Sessions[0].Tasks[0].RepoName != "mongodb-repo" || s.previews[0].Spec.Target.Kind != "MongoDB" {
		t.Fatalf("previews: %+v", s.previews)
	}
	for _, r := range s.requests {
		if !strings.HasPrefix(r, "POST "+uiPrefix+"backupconfigurationpreviews?fieldValidation=Strict") {
			t.Errorf("request %s: want only strict preview POSTs (nothing applied without --submit)", r)
		}
	}
}

// TestCreateInvalid: a 422 lists every field, each with the flag that set it.
func TestCreateInvalid(t *testing.T) {
	s := &apiServer{t: t}
	_, errOut, code := run(t, s, nil, "", "create", "-n", "demo", "broken", "--session", "name=daily,schedule=every day", "--task", "repo=r")
	want := `The BackupConfigurationPreview "broken" is invalid:
* spec.storageRef.name: Required value  (--storage)
* spec.sessions[0].schedule: Invalid value: "every day": expected exactly 5 fields  (--session "name=daily,schedule=every day")
* spec.sessions[0].tasks[0].name: Required value: one of the addon's backupTasks  (--task "repo=r")
`
	if code != 1 || errOut != want {
		t.Errorf("exit %d:\n%s\nwant:\n%s", code, errOut, want)
	}
	// A malformed flag is refused before anything is sent.
	s = &apiServer{t: t}
	_, errOut, code = run(t, s, nil, "", "create", "-n", "demo", "x", "--session", "colour=blue")
	if code != 1 || !strings.Contains(errOut, `error: invalid argument "colour=blue" for "--session" flag: unknown key "colour"`) || len(s.requests) != 0 {
		t.Errorf("malformed flag: exit %d, %q, requests %v", code, errOut, s.requests)
	}
}

// TestCreateSubmit: --submit applies the rendered manifest server-side with the plugin's
// field manager; --dry-run=server the same with dry run.
func TestCreateSubmit(t *testing.T) {
	s := &apiServer{t: t}
	args := append([]string{"create", "-n", "demo", "mongodb-backup"}, formFlags...)
	out, _, code := run(t, s, nil, "", append(args, "--submit")...)
	if code != 0 || out != "backupconfiguration.core.kubestash.com/mongodb-backup serverside-applied\n" {
		t.Errorf("--submit: exit %d: %q", code, out)
	}
	out, _, code = run(t, s, nil, "", append(args, "--dry-run=server", "-o", "yaml")...)
	if code != 0 || !strings.Contains(out, "uid: 0000-1111") || strings.Contains(out, "managedFields") {
		t.Errorf("--dry-run=server -o yaml: exit %d:\n%s", code, out)
	}
	applies := []string{}
	for _, r := range s.requests {
		if strings.HasPrefix(r, "PATCH") {
			applies = append(applies, r)
		}
	}
	want := []string{
		"PATCH " + corePrefix + "backupconfigurations/mongodb-backup?fieldManager=kubectl-backupview&force=false",
		"PATCH " + corePrefix + "backupconfigurations/mongodb-backup?dryRun=All&fieldManager=kubectl-backupview&force=false",
	}
	if strings.Join(applies, "\n") != strings.Join(want, "\n") {
		t.Errorf("applies:\n%s\nwant:\n%s", strings.Join(applies, "\n"), strings.Join(want, "\n"))
	}
	var applied map[string]interface{}
	if err := yaml.Unmarshal(s.applied[0], &applied); err != nil || applied["kind"] != "BackupConfiguration" {
		t.Errorf("applied %s: %v", s.applied[0], err)
	}
	_, errOut, code := run(t, s, nil, "", append(args, "--dry-run=client")...)
	if code != 1 || !strings.Contains(errOut, "--dry-run=client has nothing to do") {
		t.Errorf("--dry-run=client: %d %s", code, errOut)
	}
}

// TestCreateEdit: --edit opens the manifest in $EDITOR; a save the server refuses (its dry
// run) reopens the file with the error, a fixed save is what is submitted.
func TestCreateEdit(t *testing.T) {
	dir := t.TempDir()
	editor := filepath.Join(dir, "editor.sh")
	script := `#!/bin/sh
if grep -q 'field not declared in schema' "$1"; then
  sed -i '/colour/d; s/default-backend/edited-backend/' "$1"
else
  sed -i 's/^spec:/spec:\n  colour: blue/' "$1"
fi
`
	if err := os.WriteFile(editor, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	s := &apiServer{t: t, applyCheck: func(body []byte, dryRun bool) error {
		if strings.Contains(string(body), "colour") {
			return errors.NewBadRequest(".spec.colour: field not declared in schema")
		}
		return nil
	}}
	args := append([]string{"create", "-n", "demo", "mongodb-backup", "--edit", "--submit", "-o", "yaml"}, formFlags...)
	out, errOut, code := run(t, s, map[string]string{"EDITOR": editor}, "", args...)
	if code != 0 || !strings.Contains(out, "name: edited-backend") {
		t.Fatalf("exit %d, stderr %s, stdout:\n%s", code, errOut, out)
	}
	// The refused save, the accepted dry run, then the apply itself.
	if len(s.applied) != 2 || !strings.Contains(string(s.applied[1]), "edited-backend") {
		t.Errorf("applied %d times: %q", len(s.applied), s.applied)
	}
	// Without --submit, the edited manifest is printed and nothing is persisted.
	s.applied = nil
	out, _, code = run(t, s, map[string]string{"EDITOR": editor}, "", append([]string{"create", "-n", "demo", "mongodb-backup", "--edit"}, formFlags...)...)
	if code != 0 || !strings.Contains(out, "name: edited-backend") || strings.Contains(out, "#") || len(s.applied) != 1 {
		t.Errorf("--edit alone: exit %d, %d dry runs:\n%s", code, len(s.applied), out)
	}
}

// TestCreateFromFile: -f takes the whole form; its namespace must agree with --namespace.
func TestCreateFromFile(t *testing.T) {
	form := filepath.Join("..", "..", "..", "examples", "preview-mongodb.yaml")
	s := &apiServer{t: t}
	out, _, code := run(t, s, nil, "", "create", "-f", form)
	if code != 0 || !strings.Contains(out, "name: mongodb-backup") || s.previews[0].Spec.Sessions[0].Tasks[0].EncryptionSecret.Name != "encrypt-secret" {
		t.Errorf("-f: exit %d:\n%s", code, out)
	}
	data, err := os.ReadFile(form)
	if err != nil {
		t.Fatal(err)
	}
	// Standard input; a NAME must agree with the form's, and names a form without one.
	if out, errOut, code := run(t, s, nil, string(data), "create", "-f", "-"); code != 0 || !strings.Contains(out, "name: mongodb-backup") {
		t.Errorf("-f -: exit %d %s:\n%s", code, errOut, out)
	}
	if _, errOut, code := run(t, s, nil, string(data), "create", "-f", "-", "other-name"); code != 1 || !strings.Contains(errOut, `the name of the form in - ("mongodb-backup") does not match NAME ("other-name")`) {
		t.Errorf("-f - with another NAME: exit %d %s", code, errOut)
	}
	nameless := strings.Replace(string(data), "  name: mongodb-backup\n", "", 1)
	if out, _, code := run(t, s, nil, nameless, "create", "-f", "-", "other-name"); code != 0 || !strings.Contains(out, "name: other-name") {
		t.Errorf("-f - without a name, NAME given: exit %d:\n%s", code, out)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"create", "-f", form, "-n", "prod"}, `the namespace from the provided object "demo" does not match the namespace "prod"`},
		{[]string{"create", "-f", form, "--storage", "x"}, "-f takes the whole form: it cannot be combined with --storage"},
		{[]string{"create"}, "NAME is required"},
	} {
		_, errOut, code := run(t, s, nil, "", c.args...)
		if code != 1 || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, %q, want %q", c.args, code, errOut, c.want)
		}
	}
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte(strings.Replace(string(data), "\nspec:\n", "\nspec:\n  colour: blue\n", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, errOut, code := run(t, s, nil, "", "create", "-f", bad); code != 1 || !strings.HasPrefix(errOut, `Error from server (BadRequest): strict decoding error:`) || !strings.Contains(errOut, `unknown field "colour"`) {
		t.Errorf("unknown field: %d %s", code, errOut)
	}
}

// TestCompletion: the shell's completion offers the form options' values and the view names.
func TestCompletion(t *testing.T) {
	s := &apiServer{t: t, view: demoView(), options: v1alpha1.BackupConfigurationOptions{
		Storages: []v1alpha1.StorageOption{{Ref: "kubestash/s3-shared", Provider: "s3"}},
		Addons:   []v1alpha1.AddonOption{{Name: "mongodb-addon", BackupTasks: []v1alpha1.TaskOption{{Name: "logical-backup"}}}},
	}}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"__complete", "create", "-n", "demo", "x", "--storage", ""}, "kubestash/s3-shared\ts3\n:4\n"},
		{[]string{"__complete", "create", "-n", "demo", "x", "--session", "name=a,addon=mongodb-addon", "--task", "name="}, "name=logical-backup\tmongodb-addon\n:6\n"},
		{[]string{"__complete", "describe", "-n", "demo", ""}, "mongodb-backup\n:4\n"},
		{[]string{"__complete", "describe", "-n", "demo", "mongodb-backup", ""}, ":4\n"},
	} {
		out, _, code := run(t, s, nil, "", c.args...)
		if code != 0 || !strings.HasPrefix(out, c.want) {
			t.Errorf("%v: exit %d: %q, want %q", c.args, code, out, c.want)
		}
	}
	if got := s.requests; len(got) != 4 || got[0] != "GET "+uiPrefix+"backupconfigurationoptions/default" {
		t.Errorf("requests %v: want the options, once per completion", got)
	}
}
