package render

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	utiljson "k8s.io/apimachinery/pkg/util/json"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/yaml"

	ui "github.com/kubestash/backupview/pkg/apis/ui/v1alpha1"
)

// The example form renders to the BackupConfiguration the console renders for it (minus chart
// labels and status), plus the annotations the console drops (docs/design.md, "Preview
// rendering").
const goldenYAML = `apiVersion: core.kubestash.com/v1alpha1
kind: BackupConfiguration
metadata:
  annotations:
    example.com/owner: alice
  labels:
    team: db
  name: mongodb-backup
  namespace: demo
spec:
  backends:
  - name: default-backend
    retentionPolicy:
      name: default
      namespace: stash
    storageRef:
      name: default
      namespace: stash
  sessions:
  - addon:
      jobTemplate:
        spec:
          securityContext:
            runAsUser: 999
      name: mongodb-addon
      tasks:
      - name: logical-backup
        params:
          args: --db=testdb
    name: full-backup
    repositories:
    - backend: default-backend
      directory: demo/mongodb
      encryptionSecret:
        name: encrypt-secret
        namespace: demo
      name: mongodb-repo
    scheduler:
      jobTemplate:
        backoffLimit: 1
      schedule: '*/30 * * * *'
    sessionHistoryLimit: 2
  target:
    apiGroup: kubedb.com
    kind: MongoDB
    name: mongodb
    namespace: demo
`

func mustRender(t *testing.T, p *ui.BackupConfigurationPreview) *Manifest {
	t.Helper()
	m, errs := Render(p)
	if len(errs) > 0 {
		t.Fatalf("render failed:\n%s", errString(errs))
	}
	return m
}

// get walks a manifest by keys and list indexes.
func get(t *testing.T, obj interface{}, path ...interface{}) interface{} {
	t.Helper()
	for _, k := range path {
		switch k := k.(type) {
		case string:
			m, ok := obj.(map[string]interface{})
			if !ok {
				t.Fatalf("%v: not an object at %q", path, k)
			}
			if obj, ok = m[k]; !ok {
				return nil
			}
		case int:
			l, ok := obj.([]interface{})
			if !ok || k >= len(l) {
				t.Fatalf("%v: no item %d", path, k)
			}
			obj = l[k]
		}
	}
	return obj
}

func TestRenderGolden(t *testing.T) {
	m := mustRender(t, validForm())
	if m.YAML != goldenYAML {
		t.Errorf("YAML differs from golden:\n%s", m.YAML)
	}
	// The three encodings and Object are the same object.
	var fromJSON, fromIndented, fromYAML map[string]interface{}
	if err := utiljson.Unmarshal(m.JSON, &fromJSON); err != nil {
		t.Fatal(err)
	}
	if err := utiljson.Unmarshal([]byte(m.IndentedJSON), &fromIndented); err != nil {
		t.Fatal(err)
	}
	y, err := yaml.YAMLToJSON([]byte(m.YAML))
	if err != nil {
		t.Fatal(err)
	}
	if err := utiljson.Unmarshal(y, &fromYAML); err != nil {
		t.Fatal(err)
	}
	for name, o := range map[string]interface{}{"JSON": fromJSON, "IndentedJSON": fromIndented, "YAML": fromYAML} {
		if !reflect.DeepEqual(o, m.Object) {
			t.Errorf("%s does not decode to Object", name)
		}
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, m.JSON); err != nil || !bytes.Equal(compact.Bytes(), m.JSON) {
		t.Errorf("JSON is not compact: %s", m.JSON)
	}
	if !strings.HasPrefix(m.IndentedJSON, "{\n  \"apiVersion\"") {
		t.Errorf("IndentedJSON is not indented: %.40s", m.IndentedJSON)
	}
	if get(t, m.Object, "status") != nil {
		t.Error("status must not be rendered")
	}
}

func TestRenderRunAsUser(t *testing.T) {
	p := validForm()
	twoSessions(p)
	p.Spec.Sessions[0].RunAsUser = i64(0)
	m := mustRender(t, p)
	if got := get(t, m.Object, "spec", "sessions", 0, "addon", "jobTemplate", "spec", "securityContext", "runAsUser"); got != int64(0) {
		t.Errorf("runAsUser 0 must be rendered, got %#v", got)
	}
	if got := get(t, m.Object, "spec", "sessions", 1, "addon", "jobTemplate"); got != nil {
		t.Errorf("no runAsUser, no jobTemplate; got %v", got)
	}
}

func TestRenderMetadata(t *testing.T) {
	p := validForm()
	p.Spec.Annotations["meta.helm.sh/release-name"] = "x"
	m := mustRender(t, p)
	want := map[string]interface{}{"example.com/owner": "alice", "meta.helm.sh/release-name": "x"}
	if got := get(t, m.Object, "metadata", "annotations"); !reflect.DeepEqual(got, want) {
		t.Errorf("annotations must be kept: %v", got)
	}
	if got := get(t, m.Object, "metadata", "labels"); !reflect.DeepEqual(got, map[string]interface{}{"team": "db"}) {
		t.Errorf("labels: %v", got)
	}
	p.Spec.Labels, p.Spec.Annotations = nil, map[string]string{}
	m = mustRender(t, p)
	if md := get(t, m.Object, "metadata").(map[string]interface{}); len(md) != 2 {
		t.Errorf("empty labels/annotations are omitted: %v", md)
	}
}

func TestRenderTargetAndNamespaces(t *testing.T) {
	p := validForm()
	p.Spec.Target = ui.TypedObjectReference{APIGroup: "core", Kind: "PersistentVolumeClaim", Namespace: "demo", Name: "data"}
	p.Spec.StorageRef.Namespace, p.Spec.RetentionPolicy.Namespace = "", ""
	m := mustRender(t, p)
	want := map[string]interface{}{"apiGroup": "", "kind": "PersistentVolumeClaim", "namespace": "demo", "name": "data"}
	if got := get(t, m.Object, "spec", "target"); !reflect.DeepEqual(got, want) {
		t.Errorf("target: %v", got)
	}
	if got := get(t, m.Object, "spec", "sessions", 0, "repositories", 0, "directory"); got != "demo/data" {
		t.Errorf("directory: %v", got)
	}
	for _, ref := range []string{"storageRef", "retentionPolicy"} {
		if got := get(t, m.Object, "spec", "backends", 0, ref, "namespace"); got != "demo" {
			t.Errorf("%s namespace defaults to the BC's: %v", ref, got)
		}
	}
}

func TestRenderHoistsRepositories(t *testing.T) {
	p := validForm()
	s := &p.Spec.Sessions[0]
	s.Tasks[0].EncryptionSecret = nil
	s.Tasks = append(s.Tasks,
		ui.PreviewTask{Name: "manifest-backup", RepoName: "repo-b"},
		ui.PreviewTask{Name: "volume-snapshot", RepoName: "mongodb-repo", EncryptionSecret: &ui.ObjectReference{Namespace: "demo", Name: "k"}},
		ui.PreviewTask{Name: "extra"}, // no repository of its own: fine, the session has some
	)
	m := mustRender(t, p)
	got := get(t, m.Object, "spec", "sessions", 0, "repositories")
	want := []interface{}{
		map[string]interface{}{"name": "mongodb-repo", "backend": "default-backend", "directory": "demo/mongodb",
			"encryptionSecret": map[string]interface{}{"namespace": "demo", "name": "k"}},
		map[string]interface{}{"name": "repo-b", "backend": "default-backend", "directory": "demo/mongodb"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("one repository per distinct repoName, in task order, secret merged:\n got %v\nwant %v", got, want)
	}
	if n := len(get(t, m.Object, "spec", "sessions", 0, "addon", "tasks").([]interface{})); n != 4 {
		t.Errorf("all tasks are rendered: %d", n)
	}
}

func TestRenderParams(t *testing.T) {
	p := validForm()
	tk := task(p, 0, 0)
	tk.Params = nil
	tk.ParamsText = "args: --db=testdb --exclude=*.tmp\nenableCache: true\nport: 27017\nratio: 0.5\nbig: 12345678901234\nlist: [a, b]\nempty: {}\nhtml: a&b<c>"
	m := mustRender(t, p)
	want := map[string]interface{}{
		"args": "--db=testdb --exclude=*.tmp", "enableCache": true, "port": int64(27017), "ratio": 0.5,
		"big": int64(12345678901234), "list": []interface{}{"a", "b"}, "empty": map[string]interface{}{}, "html": "a&b<c>",
	}
	if got := get(t, m.Object, "spec", "sessions", 0, "addon", "tasks", 0, "params"); !reflect.DeepEqual(got, want) {
		t.Errorf("paramsText must become an object:\n got %#v\nwant %#v", got, want)
	}
	if !bytes.Contains(m.JSON, []byte(`"a&b<c>"`)) {
		t.Error("JSON must not HTML-escape")
	}
	// The form's usual JSON text, and params given as an object, render the same.
	tk.ParamsText = `{"args":"--db=testdb"}`
	a := mustRender(t, p)
	tk.ParamsText, tk.Params = "", raw(`{"args": "--db=testdb"}`)
	b := mustRender(t, p)
	if !bytes.Equal(a.JSON, b.JSON) {
		t.Errorf("params and paramsText differ:\n%s\n%s", a.JSON, b.JSON)
	}
	// Integral floats become integers once, so Object is a fixed point of JSON decoding.
	tk.Params = raw(`{"f": 5.0, "neg": -0, "e": 1e3}`)
	m = mustRender(t, p)
	if got := get(t, m.Object, "spec", "sessions", 0, "addon", "tasks", 0, "params"); !reflect.DeepEqual(got, map[string]interface{}{"f": int64(5), "neg": int64(0), "e": int64(1000)}) {
		t.Errorf("numbers: %#v", got)
	}
}

func TestRenderDeterministic(t *testing.T) {
	p := validForm()
	twoSessions(p)
	for _, k := range []string{"a", "b", "c", "d", "e", "f", "g", "h"} {
		p.Spec.Labels["l-"+k] = k
		p.Spec.Annotations["x/"+k] = k
	}
	task(p, 0, 0).Params = raw(`{"z":1,"a":{"y":2,"b":3},"m":[{"q":1,"c":2}]}`)
	first := mustRender(t, p)
	for range 10 {
		m := mustRender(t, p)
		if !bytes.Equal(m.JSON, first.JSON) || m.YAML != first.YAML || m.IndentedJSON != first.IndentedJSON {
			t.Fatal("rendering the same form twice gave different bytes")
		}
	}
	// A deep copy (fresh maps, fresh iteration order) renders the same too.
	if m := mustRender(t, p.DeepCopy()); !bytes.Equal(m.JSON, first.JSON) {
		t.Fatal("a copy of the form rendered differently")
	}
}

func TestRenderInvalidReturnsValidateErrors(t *testing.T) {
	p := validForm()
	p.Spec.Sessions[0].Schedule = "bad"
	m, errs := Render(p)
	if m != nil || !reflect.DeepEqual(errs, Validate(p)) || len(errs) != 1 || errs[0].Type != field.ErrorTypeInvalid {
		t.Errorf("got %v, %v", m, errs)
	}
}

func TestRenderLimitsAtMaximum(t *testing.T) {
	p := validForm()
	manySessions(p, MaxSessions)
	for i := range p.Spec.Sessions {
		s := &p.Spec.Sessions[i]
		for len(s.Tasks) < MaxTasks {
			s.Tasks = append(s.Tasks, ui.PreviewTask{Name: "t", RepoName: s.Tasks[0].RepoName})
		}
	}
	m := mustRender(t, p)
	var obj map[string]interface{}
	if err := json.Unmarshal(m.JSON, &obj); err != nil {
		t.Fatal(err)
	}
	if n := len(get(t, obj, "spec", "sessions").([]interface{})); n != MaxSessions {
		t.Errorf("sessions: %d", n)
	}
}
