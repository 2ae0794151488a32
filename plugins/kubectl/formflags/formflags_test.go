package formflags

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/spf13/pflag"
	"sigs.k8s.io/yaml"

	"github.com/kubestash/backupview/pkg/apis/ui/v1alpha1"
)

// parse registers the flags on a new flag set and parses args, as the command does.
func parse(t *testing.T, args ...string) (*Flags, *pflag.FlagSet) {
	t.Helper()
	f := &Flags{}
	fs := pflag.NewFlagSet("create", pflag.ContinueOnError)
	f.AddFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return f, fs
}

// normalized re-encodes the form through JSON, so that params compare as objects.
func normalized(t *testing.T, p *v1alpha1.BackupConfigurationPreview) map[string]interface{} {
	t.Helper()
	data, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]interface{}
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestExampleForm: the flags for the README's example form give exactly the form of
// examples/preview-mongodb.yaml.
func TestExampleForm(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "..", "examples", "preview-mongodb.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	want := &v1alpha1.BackupConfigurationPreview{}
	if err := yaml.UnmarshalStrict(data, want); err != nil {
		t.Fatal(err)
	}
	f, _ := parse(t,
		"--storage", "kubestash/s3-shared",
		"--retention-policy", "demo/demo-retention",
		"--label", "team=databases",
		"--session", "name=full-backup,schedule=*/30 * * * *,run-as-user=999,addon=mongodb-addon",
		"--task", "name=logical-backup,repo=mongodb-repo,encryption-secret=encrypt-secret,param.args=--db=testdb",
		"--target", "MongoDB.kubedb.com/mongodb",
	)
	got, _, err := f.Form("demo", "mongodb-backup")
	if err != nil {
		t.Fatal(err)
	}
	if g, w := normalized(t, got), normalized(t, want); !reflect.DeepEqual(g, w) {
		gy, _ := yaml.Marshal(g)
		wy, _ := yaml.Marshal(w)
		t.Errorf("form:\n%s\nwant (examples/preview-mongodb.yaml):\n%s", gy, wy)
	}
}

func TestSessionsAndTasks(t *testing.T) {
	f, _ := parse(t,
		"--session", `name=daily,"schedule=0 1,13 * * *",addon=postgres-addon,run-as-user=0`,
		"--session", "name=manifests,schedule=@daily,addon=postgres-addon",
		"--task", "session=manifests,name=manifest-backup,repo=pg-manifests",
		"--task", "session=daily,name=logical-backup,repo=pg-repo,encryption-secret=vault/pg-key,param.args=--clean,param.enableCache=false",
		"--task", `session=daily,name=extra,"param.args=--a,--b",param.quoted=--db="x"`,
		"--target", "Postgres.kubedb.com/other/postgres",
	)
	dir := t.TempDir()
	paramsFile := filepath.Join(dir, "params.yaml")
	if err := os.WriteFile(paramsFile, []byte("args: --all\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f.Tasks = append(f.Tasks, "session=manifests,name=with-file,params-file="+paramsFile)
	p, o, err := f.Form("prod", "pg")
	if err != nil {
		t.Fatal(err)
	}
	s := p.Spec.Sessions
	if len(s) != 2 || s[0].Name != "daily" || s[0].Schedule != "0 1,13 * * *" || s[1].Schedule != "@daily" {
		t.Fatalf("sessions: %+v", s)
	}
	if s[0].RunAsUser == nil || *s[0].RunAsUser != 0 || s[1].RunAsUser != nil {
		t.Errorf("run-as-user=0 must be sent as 0, and none when not given: %v %v", s[0].RunAsUser, s[1].RunAsUser)
	}
	// Tasks go to the session they name, in flag order.
	if names := []string{s[0].Tasks[0].Name, s[0].Tasks[1].Name, s[1].Tasks[0].Name, s[1].Tasks[1].Name}; !reflect.DeepEqual(names, []string{"logical-backup", "extra", "manifest-backup", "with-file"}) {
		t.Errorf("tasks: %v", names)
	}
	if sec := s[0].Tasks[0].EncryptionSecret; sec == nil || *sec != (v1alpha1.ObjectReference{Namespace: "vault", Name: "pg-key"}) {
		t.Errorf("encryption secret: %v", sec)
	}
	if got := string(s[0].Tasks[0].Params.Raw); got != `{"args":"--clean","enableCache":"false"}` {
		t.Errorf("params: %s", got)
	}
	if got := string(s[0].Tasks[1].Params.Raw); got != `{"args":"--a,--b","quoted":"--db=\"x\""}` {
		t.Errorf("params with a comma and a quote: %s", got)
	}
	if s[1].Tasks[1].ParamsText != "args: --all\n" || s[1].Tasks[1].Params != nil {
		t.Errorf("params-file: %+v", s[1].Tasks[1])
	}
	if p.Spec.Target != (v1alpha1.TypedObjectReference{APIGroup: "kubedb.com", Kind: "Postgres", Namespace: "other", Name: "postgres"}) {
		t.Errorf("target: %+v", p.Spec.Target)
	}
	// The server's field paths trace back to the flags.
	for path, want := range map[string]string{
		"spec.sessions[0].schedule":             `--session "name=daily,\"schedule=0 1,13 * * *\",addon=postgres-addon,run-as-user=0"`,
		"spec.sessions[1].tasks[0].repoName":    `--task "session=manifests,name=manifest-backup,repo=pg-manifests"`,
		"spec.sessions[0].tasks[1].params.args": `--task "session=daily,name=extra,\"param.args=--a,--b\",param.quoted=--db=\"x\""`,
		"spec.sessions[0].tasks[2].name":        "",
		"spec.sessions[2].name":                 "",
		"spec.sessions":                         "--session",
		"spec.storageRef.name":                  "--storage",
		"spec.retentionPolicy.namespace":        "--retention-policy",
		"spec.target.kind":                      "--target",
		"spec.labels":                           "--label",
		"metadata.name":                         "NAME",
		"metadata.namespace":                    "--namespace",
		"spec.annotations[kubestash.com/x]":     "--annotation",
		"status.manifest":                       "",
	} {
		if got := o.Of(path); got != want {
			t.Errorf("Of(%s) = %s, want %s", path, got, want)
		}
	}
}

func TestTargetsAndRefs(t *testing.T) {
	for _, c := range []struct {
		target string
		want   v1alpha1.TypedObjectReference
	}{
		{"MongoDB.kubedb.com/mongodb", v1alpha1.TypedObjectReference{APIGroup: "kubedb.com", Kind: "MongoDB", Namespace: "demo", Name: "mongodb"}},
		{"StatefulSet.apps/app-data", v1alpha1.TypedObjectReference{APIGroup: "apps", Kind: "StatefulSet", Namespace: "demo", Name: "app-data"}},
		{"PersistentVolumeClaim/data", v1alpha1.TypedObjectReference{Kind: "PersistentVolumeClaim", Namespace: "demo", Name: "data"}},
		{"MongoDB.kubedb.com/prod/orders", v1alpha1.TypedObjectReference{APIGroup: "kubedb.com", Kind: "MongoDB", Namespace: "prod", Name: "orders"}},
	} {
		f, _ := parse(t, "--target", c.target, "--storage", "s3", "--retention-policy", "kubestash/keep")
		p, _, err := f.Form("demo", "x")
		if err != nil {
			t.Fatal(c.target, err)
		}
		if p.Spec.Target != c.want {
			t.Errorf("--target %s: %+v, want %+v", c.target, p.Spec.Target, c.want)
		}
		if p.Spec.StorageRef != (v1alpha1.ObjectReference{Name: "s3"}) || p.Spec.RetentionPolicy != (v1alpha1.ObjectReference{Namespace: "kubestash", Name: "keep"}) {
			t.Errorf("refs: %+v %+v", p.Spec.StorageRef, p.Spec.RetentionPolicy)
		}
	}
	// A TargetOption written as --target reads back as itself.
	for _, o := range []v1alpha1.TargetOption{{APIGroup: "kubedb.com", Kind: "MongoDB", Name: "m"}, {Kind: "PersistentVolumeClaim", Name: "data"}} {
		got, err := target(TargetValue(o), "ns")
		if err != nil || got != (v1alpha1.TypedObjectReference{APIGroup: o.APIGroup, Kind: o.Kind, Namespace: "ns", Name: o.Name}) {
			t.Errorf("TargetValue(%+v) = %s reads as %+v, %v", o, TargetValue(o), got, err)
		}
	}
}

// TestNothingGiven: no flags make an empty form, for the server to name every missing field.
func TestNothingGiven(t *testing.T) {
	f, fs := parse(t)
	p, _, err := f.Form("demo", "x")
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "x" || p.Namespace != "demo" || p.Kind != "BackupConfigurationPreview" || p.APIVersion != "ui.kubestash.com/v1alpha1" || len(p.Spec.Sessions) != 0 || p.Spec.Labels != nil {
		t.Errorf("empty form: %+v", p)
	}
	if got := Given(fs); len(got) != 0 {
		t.Errorf("Given: %v", got)
	}
	_, fs = parse(t, "--storage", "s", "--task", "name=x")
	if got := Given(fs); !reflect.DeepEqual(got, []string{"--storage", "--task"}) {
		t.Errorf("Given: %v", got)
	}
}

// TestErrors: every malformed flag at once, each naming the flag and its value.
func TestErrors(t *testing.T) {
	f, _ := parse(t,
		"--storage", "a/b/c",
		"--retention-policy", "/x",
		"--label", "novalue",
		"--annotation", "a=1", "--annotation", "a=2",
		"--session", "name=one,schedule=@daily,colour=blue",
		"--session", "name=two,run-as-user=root",
		"--session", "name=three,name=again",
		"--session", "name=four,,addon=x",
		"--task", "name=orphan",
		"--task", "session=nope,name=x",
		"--task", "session=one,name=x,weight=3",
		"--task", "session=one,name=x,encryption-secret=a/b/c",
		"--task", "session=one,name=x,param.a=1,params-file=/does/not/exist",
		"--target", "mongodb",
	)
	f.ReadFile = func(string) ([]byte, error) { return []byte("a: 1"), nil }
	_, _, err := f.Form("demo", "x")
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	for _, want := range []string{
		`invalid argument "a/b/c" for "--storage" flag: want [NAMESPACE/]NAME`,
		`invalid argument "/x" for "--retention-policy" flag`,
		`invalid argument "novalue" for "--label" flag: want KEY=VALUE`,
		`invalid argument "a=2" for "--annotation" flag`,
		`"name=one,schedule=@daily,colour=blue" for "--session" flag: unknown key "colour": want name, schedule, addon, run-as-user`,
		`run-as-user=root: want a user ID`,
		`name is given twice`,
		`"name=four,,addon=x" for "--session" flag: field "" is not KEY=VALUE`,
		`"name=orphan" for "--task" flag: with several --session, say which one the task belongs to: session=NAME`,
		`"session=nope,name=x" for "--task" flag: no --session has name=nope`,
		`unknown key "weight"`,
		`encryption-secret=a/b/c: want [NAMESPACE/]NAME`,
		`give param.KEY or params-file, not both`,
		`invalid argument "mongodb" for "--target" flag: want KIND[.GROUP]/[NAMESPACE/]NAME`,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("the error lacks %q:\n%s", want, msg)
		}
	}
	// A task without any session, and one for the only session without naming it.
	f, _ = parse(t, "--task", "name=x")
	if _, _, err := f.Form("demo", "x"); err == nil || !strings.Contains(err.Error(), "a task belongs to a session: give one with --session") {
		t.Errorf("task without a session: %v", err)
	}
	f, _ = parse(t, "--session", "name=only", "--task", "name=x")
	if p, _, err := f.Form("demo", "x"); err != nil || len(p.Spec.Sessions[0].Tasks) != 1 {
		t.Errorf("the only session takes the task: %v", err)
	}
	f, _ = parse(t, "--session", "name=s", "--task", "params-file=/nope")
	f.ReadFile = func(string) ([]byte, error) { return nil, errors.New("no such file") }
	if _, _, err := f.Form("demo", "x"); err == nil || !strings.Contains(err.Error(), "params-file: no such file") {
		t.Errorf("unreadable params-file: %v", err)
	}
}
