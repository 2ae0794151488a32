package render

import (
	"fmt"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation/field"

	ui "github.com/kubestash/backupview/pkg/apis/ui/v1alpha1"
)

type form = ui.BackupConfigurationPreview

func TestValidFormsPass(t *testing.T) {
	for name, mut := range map[string]func(*form){
		"design example":     func(*form) {},
		"two tasks one repo": twoTasks,
		"two sessions":       twoSessions,
		"minimal": func(p *form) {
			p.Spec.Labels, p.Spec.Annotations = nil, nil
			p.Spec.StorageRef.Namespace, p.Spec.RetentionPolicy.Namespace = "", ""
			s := &p.Spec.Sessions[0]
			s.RunAsUser = nil
			s.Tasks[0].EncryptionSecret, s.Tasks[0].Params = nil, nil
		},
		"core target": func(p *form) {
			p.Spec.Target = ui.TypedObjectReference{APIGroup: "core", Kind: "PersistentVolumeClaim", Namespace: "demo", Name: "data"}
		},
		"null params":             func(p *form) { task(p, 0, 0).Params = raw("") },
		"whitespace paramsText":   func(p *form) { task(p, 0, 0).ParamsText = " \n" },
		"empty encryption secret": func(p *form) { task(p, 0, 0).EncryptionSecret = &ui.ObjectReference{} },
	} {
		p := validForm()
		mut(p)
		if errs := Validate(p); len(errs) > 0 {
			t.Errorf("%s: unexpected errors:\n%s", name, errString(errs))
		}
	}
	if errs := Validate(nil); len(errs) == 0 {
		t.Error("nil form must be invalid")
	}
}

// Each rule: a failing form with the exact path and type, and a passing neighbour that differs
// only in the offending value.
func TestValidationRules(t *testing.T) {
	long := func(n int) string { return strings.Repeat("a", n) }
	nested := func(levels int) string {
		return strings.Repeat(`{"a":`, levels-1) + `{}` + strings.Repeat(`}`, levels-1)
	}
	nestedList := func(levels int) string { // object with lists inside: lists count as levels too
		return `{"a":` + strings.Repeat(`[`, levels-1) + `1` + strings.Repeat(`]`, levels-1) + `}`
	}
	cases := []struct {
		name      string
		bad, good func(*form)
		path      string
		typ       field.ErrorType
	}{
		{"name required", func(p *form) { p.Name = "" }, func(p *form) { p.Name = "x" },
			"metadata.name", field.ErrorTypeRequired},
		{"name DNS label", func(p *form) { p.Name = "my.backup" }, func(p *form) { p.Name = "my-backup" },
			"metadata.name", field.ErrorTypeInvalid},
		{"name <= 63", func(p *form) { p.Name = long(64) }, func(p *form) { p.Name = long(30) },
			"metadata.name", field.ErrorTypeInvalid},
		{"namespace required", func(p *form) { p.Namespace = "" }, func(p *form) { p.Namespace = "other" },
			"metadata.namespace", field.ErrorTypeRequired},
		{"namespace DNS label", func(p *form) { p.Namespace = "Demo" }, func(p *form) { p.Namespace = "demo-2" },
			"metadata.namespace", field.ErrorTypeInvalid},
		{"cronjob name <= 52",
			func(p *form) { p.Name = long(30); p.Spec.Sessions[0].Name = "full-backup-xy" }, // 8+30+1+14 = 53
			func(p *form) { p.Name = long(30); p.Spec.Sessions[0].Name = "full-backup-x" },  // 52
			"spec.sessions[0].name", field.ErrorTypeInvalid},
		{"storageRef name required", func(p *form) { p.Spec.StorageRef.Name = "" }, func(p *form) { p.Spec.StorageRef.Name = "s3" },
			"spec.storageRef.name", field.ErrorTypeRequired},
		{"storageRef name subdomain", func(p *form) { p.Spec.StorageRef.Name = "S3" }, func(p *form) { p.Spec.StorageRef.Name = "s3.store" },
			"spec.storageRef.name", field.ErrorTypeInvalid},
		{"storageRef namespace label", func(p *form) { p.Spec.StorageRef.Namespace = "a.b" }, func(p *form) { p.Spec.StorageRef.Namespace = "" },
			"spec.storageRef.namespace", field.ErrorTypeInvalid},
		{"retentionPolicy name required", func(p *form) { p.Spec.RetentionPolicy.Name = "" }, func(p *form) { p.Spec.RetentionPolicy.Name = "keep" },
			"spec.retentionPolicy.name", field.ErrorTypeRequired},
		{"retentionPolicy namespace label", func(p *form) { p.Spec.RetentionPolicy.Namespace = "_x" }, func(p *form) { p.Spec.RetentionPolicy.Namespace = "x" },
			"spec.retentionPolicy.namespace", field.ErrorTypeInvalid},
		{"label key", func(p *form) { p.Spec.Labels["bad key"] = "v" }, func(p *form) { p.Spec.Labels["good-key"] = "v" },
			"spec.labels", field.ErrorTypeInvalid},
		{"label value", func(p *form) { p.Spec.Labels["k"] = "a b" }, func(p *form) { p.Spec.Labels["k"] = "a_b" },
			"spec.labels", field.ErrorTypeInvalid},
		{"annotation key", func(p *form) { p.Spec.Annotations["a/b/c"] = "v" }, func(p *form) { p.Spec.Annotations["a/B"] = "any value at all" },
			"spec.annotations", field.ErrorTypeInvalid},
		{"annotations size", func(p *form) { p.Spec.Annotations["k"] = long(256 << 10) }, func(p *form) { p.Spec.Annotations["k"] = long(100 << 10) },
			"spec.annotations", field.ErrorTypeTooLong},
		{"sessions required", func(p *form) { p.Spec.Sessions = nil }, func(*form) {},
			"spec.sessions", field.ErrorTypeRequired},
		{"session name required", func(p *form) { p.Spec.Sessions[0].Name = "" }, func(p *form) { p.Spec.Sessions[0].Name = "s" },
			"spec.sessions[0].name", field.ErrorTypeRequired},
		{"session name DNS label", func(p *form) { p.Spec.Sessions[0].Name = "Full" }, func(p *form) { p.Spec.Sessions[0].Name = "full" },
			"spec.sessions[0].name", field.ErrorTypeInvalid},
		{"session name unique", func(p *form) { twoSessions(p); p.Spec.Sessions[1].Name = "full-backup" }, twoSessions,
			"spec.sessions[1].name", field.ErrorTypeDuplicate},
		{"schedule required", func(p *form) { p.Spec.Sessions[0].Schedule = "" }, func(p *form) { p.Spec.Sessions[0].Schedule = "@hourly" },
			"spec.sessions[0].schedule", field.ErrorTypeRequired},
		{"schedule cron", func(p *form) { p.Spec.Sessions[0].Schedule = "0 0 * * 7" }, func(p *form) { p.Spec.Sessions[0].Schedule = "0 0 * * 6" },
			"spec.sessions[0].schedule", field.ErrorTypeInvalid},
		{"schedule TZ", func(p *form) { p.Spec.Sessions[0].Schedule = "CRON_TZ=UTC 0 0 * * *" }, func(p *form) { p.Spec.Sessions[0].Schedule = "0 0 * * *" },
			"spec.sessions[0].schedule", field.ErrorTypeInvalid},
		{"runAsUser >= 0", func(p *form) { p.Spec.Sessions[0].RunAsUser = i64(-1) }, func(p *form) { p.Spec.Sessions[0].RunAsUser = i64(0) },
			"spec.sessions[0].runAsUser", field.ErrorTypeInvalid},
		{"runAsUser <= 2147483647", func(p *form) { p.Spec.Sessions[0].RunAsUser = i64(1 << 31) }, func(p *form) { p.Spec.Sessions[0].RunAsUser = i64(1<<31 - 1) },
			"spec.sessions[0].runAsUser", field.ErrorTypeInvalid},
		{"addon required", func(p *form) { p.Spec.Sessions[0].Addon = "" }, func(p *form) { p.Spec.Sessions[0].Addon = "postgres-addon" },
			"spec.sessions[0].addon", field.ErrorTypeRequired},
		{"addon name", func(p *form) { p.Spec.Sessions[0].Addon = "Mongo Addon" }, func(p *form) { p.Spec.Sessions[0].Addon = "mongo.addon" },
			"spec.sessions[0].addon", field.ErrorTypeInvalid},
		{"tasks required", func(p *form) { p.Spec.Sessions[0].Tasks = nil }, func(*form) {},
			"spec.sessions[0].tasks", field.ErrorTypeRequired},
		{"task name required", func(p *form) { twoTasks(p); task(p, 0, 1).Name = "" }, twoTasks,
			"spec.sessions[0].tasks[1].name", field.ErrorTypeRequired},
		{"secret needs namespace", func(p *form) { task(p, 0, 0).EncryptionSecret.Namespace = "" }, func(p *form) { task(p, 0, 0).EncryptionSecret.Namespace = "other" },
			"spec.sessions[0].tasks[0].encryptionSecret.namespace", field.ErrorTypeRequired},
		{"secret needs name", func(p *form) { task(p, 0, 0).EncryptionSecret.Name = "" }, func(p *form) { task(p, 0, 0).EncryptionSecret = nil },
			"spec.sessions[0].tasks[0].encryptionSecret.name", field.ErrorTypeRequired},
		{"secret name format", func(p *form) { task(p, 0, 0).EncryptionSecret.Name = "Key!" }, func(p *form) { task(p, 0, 0).EncryptionSecret.Name = "key" },
			"spec.sessions[0].tasks[0].encryptionSecret.name", field.ErrorTypeInvalid},
		{"session needs a repository", func(p *form) { task(p, 0, 0).RepoName, task(p, 0, 0).EncryptionSecret = "", nil },
			func(p *form) { twoTasks(p); task(p, 0, 0).RepoName, task(p, 0, 0).EncryptionSecret = "", nil },
			"spec.sessions[0].tasks[0].repoName", field.ErrorTypeRequired},
		{"repoName format", func(p *form) { task(p, 0, 0).RepoName = "Repo" }, func(p *form) { task(p, 0, 0).RepoName = "repo.v2" },
			"spec.sessions[0].tasks[0].repoName", field.ErrorTypeInvalid},
		{"repoName fits a label value", func(p *form) { task(p, 0, 0).RepoName = long(64) }, func(p *form) { task(p, 0, 0).RepoName = long(63) },
			"spec.sessions[0].tasks[0].repoName", field.ErrorTypeInvalid},
		{"one encryption secret per repository",
			func(p *form) {
				twoTasks(p)
				task(p, 0, 1).EncryptionSecret = &ui.ObjectReference{Namespace: "demo", Name: "other"}
			},
			func(p *form) {
				twoTasks(p)
				task(p, 0, 1).EncryptionSecret = &ui.ObjectReference{Namespace: "demo", Name: "encrypt-secret"}
			},
			"spec.sessions[0].tasks[1].encryptionSecret", field.ErrorTypeInvalid},
		{"encryption secret needs a repoName",
			func(p *form) {
				twoTasks(p)
				task(p, 0, 1).RepoName = ""
				task(p, 0, 1).EncryptionSecret = &ui.ObjectReference{Namespace: "demo", Name: "k"}
			},
			func(p *form) { twoTasks(p); task(p, 0, 1).RepoName = "" },
			"spec.sessions[0].tasks[1].repoName", field.ErrorTypeRequired},
		{"repository names unique across sessions", func(p *form) { twoSessions(p); task(p, 1, 0).RepoName = "mongodb-repo" }, twoSessions,
			"spec.sessions[1].tasks[0].repoName", field.ErrorTypeDuplicate},
		{"params xor paramsText", func(p *form) { task(p, 0, 0).ParamsText = "args: x" }, func(p *form) { task(p, 0, 0).Params = nil; task(p, 0, 0).ParamsText = "args: x" },
			"spec.sessions[0].tasks[0].paramsText", field.ErrorTypeForbidden},
		{"params object", func(p *form) { task(p, 0, 0).Params = raw(`["a"]`) }, func(p *form) { task(p, 0, 0).Params = raw(`{"a":["b"]}`) },
			"spec.sessions[0].tasks[0].params", field.ErrorTypeInvalid},
		{"paramsText object, not scalar", func(p *form) { task(p, 0, 0).Params = nil; task(p, 0, 0).ParamsText = "--db=testdb" },
			func(p *form) { task(p, 0, 0).Params = nil; task(p, 0, 0).ParamsText = "args: --db=testdb" },
			"spec.sessions[0].tasks[0].paramsText", field.ErrorTypeInvalid},
		{"paramsText object, not list", func(p *form) { task(p, 0, 0).Params = nil; task(p, 0, 0).ParamsText = "- a\n- b" },
			func(p *form) { task(p, 0, 0).Params = nil; task(p, 0, 0).ParamsText = `{"args": ["a", "b"]}` },
			"spec.sessions[0].tasks[0].paramsText", field.ErrorTypeInvalid},
		{"paramsText syntax", func(p *form) { task(p, 0, 0).Params = nil; task(p, 0, 0).ParamsText = "a: [1, 2" },
			func(p *form) { task(p, 0, 0).Params = nil; task(p, 0, 0).ParamsText = "a: [1, 2]" },
			"spec.sessions[0].tasks[0].paramsText", field.ErrorTypeInvalid},
		{"paramsText duplicate key", func(p *form) { task(p, 0, 0).Params = nil; task(p, 0, 0).ParamsText = "a: 1\na: 2" },
			func(p *form) { task(p, 0, 0).Params = nil; task(p, 0, 0).ParamsText = "a: 1\nb: 2" },
			"spec.sessions[0].tasks[0].paramsText", field.ErrorTypeInvalid},
		{"paramsText no anchors", func(p *form) { task(p, 0, 0).Params = nil; task(p, 0, 0).ParamsText = "a: &x 1\nb: *x" },
			func(p *form) { task(p, 0, 0).Params = nil; task(p, 0, 0).ParamsText = "a: '&x 1'\nb: --exclude=*.log" },
			"spec.sessions[0].tasks[0].paramsText", field.ErrorTypeInvalid},
		{"paramsText one document", func(p *form) { task(p, 0, 0).Params = nil; task(p, 0, 0).ParamsText = "a: 1\n---\nb: 2" },
			func(p *form) { task(p, 0, 0).Params = nil; task(p, 0, 0).ParamsText = "---\na: 1\n" },
			"spec.sessions[0].tasks[0].paramsText", field.ErrorTypeInvalid},
		{"target apiGroup", func(p *form) { p.Spec.Target.APIGroup = "KubeDB" }, func(p *form) { p.Spec.Target.APIGroup = "" },
			"spec.target.apiGroup", field.ErrorTypeInvalid},
		{"target kind required", func(p *form) { p.Spec.Target.Kind = "" }, func(p *form) { p.Spec.Target.Kind = "Postgres" },
			"spec.target.kind", field.ErrorTypeRequired},
		{"target kind format", func(p *form) { p.Spec.Target.Kind = "Mongo DB" }, func(p *form) { p.Spec.Target.Kind = "MongoDB" },
			"spec.target.kind", field.ErrorTypeInvalid},
		{"target namespace required", func(p *form) { p.Spec.Target.Namespace = "" }, func(p *form) { p.Spec.Target.Namespace = "demo" },
			"spec.target.namespace", field.ErrorTypeRequired},
		{"target name required", func(p *form) { p.Spec.Target.Name = "" }, func(p *form) { p.Spec.Target.Name = "db" },
			"spec.target.name", field.ErrorTypeRequired},
		// Limits.
		{"at most 64 sessions", func(p *form) { manySessions(p, 65) }, func(p *form) { manySessions(p, 64) },
			"spec.sessions", field.ErrorTypeTooMany},
		{"at most 64 tasks", func(p *form) { manyTasks(p, 65) }, func(p *form) { manyTasks(p, 64) },
			"spec.sessions[0].tasks", field.ErrorTypeTooMany},
		{"params depth <= 32", func(p *form) { task(p, 0, 0).Params = raw(nested(33)) }, func(p *form) { task(p, 0, 0).Params = raw(nested(32)) },
			"spec.sessions[0].tasks[0].params", field.ErrorTypeInvalid},
		{"lists count as levels", func(p *form) { task(p, 0, 0).Params = raw(nestedList(33)) }, func(p *form) { task(p, 0, 0).Params = raw(nestedList(32)) },
			"spec.sessions[0].tasks[0].params", field.ErrorTypeInvalid},
		{"paramsText depth <= 32", func(p *form) { task(p, 0, 0).Params = nil; task(p, 0, 0).ParamsText = yamlNested(33) },
			func(p *form) { task(p, 0, 0).Params = nil; task(p, 0, 0).ParamsText = yamlNested(32) },
			"spec.sessions[0].tasks[0].paramsText", field.ErrorTypeInvalid},
		{"paramsText <= 256KiB", func(p *form) { task(p, 0, 0).Params = nil; task(p, 0, 0).ParamsText = "a: " + long(256<<10) },
			func(p *form) { task(p, 0, 0).Params = nil; task(p, 0, 0).ParamsText = "a: " + long(256<<10-3) },
			"spec.sessions[0].tasks[0].paramsText", field.ErrorTypeTooLong},
		{"params <= 256KiB", func(p *form) { task(p, 0, 0).Params = raw(`{"a":"` + long(256<<10) + `"}`) },
			func(p *form) { task(p, 0, 0).Params = raw(`{"a":"` + long(256<<10-8) + `"}`) },
			"spec.sessions[0].tasks[0].params", field.ErrorTypeTooLong},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			bad, good := validForm(), validForm()
			c.bad(bad)
			c.good(good)
			onlyAt(t, Validate(bad), c.path, c.typ)
			if errs := Validate(good); len(errs) > 0 {
				t.Errorf("neighbour should pass:\n%s", errString(errs))
			}
		})
	}
}

func manySessions(p *form, n int) {
	s := p.Spec.Sessions[0]
	p.Spec.Sessions = nil
	for i := range n {
		s.Name = fmt.Sprintf("s%d", i)
		s.Tasks = []ui.PreviewTask{{Name: "logical-backup", RepoName: fmt.Sprintf("repo-%d", i)}}
		p.Spec.Sessions = append(p.Spec.Sessions, s)
	}
}

func manyTasks(p *form, n int) {
	s := &p.Spec.Sessions[0]
	for len(s.Tasks) < n {
		s.Tasks = append(s.Tasks, ui.PreviewTask{Name: fmt.Sprintf("t%d", len(s.Tasks)), RepoName: "mongodb-repo"})
	}
}

// yamlNested is a block-style YAML object nested n levels deep.
func yamlNested(n int) string {
	var b strings.Builder
	for i := range n - 1 {
		b.WriteString(strings.Repeat(" ", i) + "a:\n")
	}
	b.WriteString(strings.Repeat(" ", n-1) + "b: 1\n")
	return b.String()
}

func TestCronJobNameMessage(t *testing.T) {
	p := validForm()
	p.Name = strings.Repeat("b", 30)
	p.Spec.Sessions[0].Name = "full-backup-xy"
	errs := Validate(p)
	want := fmt.Sprintf("%q, 53 characters", "trigger-"+p.Name+"-full-backup-xy")
	if len(errs) != 1 || !strings.Contains(errs[0].Detail, want) {
		t.Fatalf("want the computed name and length %s in the message, got %v", want, errs)
	}
}

func TestAllErrorsAtOnce(t *testing.T) {
	p := &form{Spec: ui.PreviewSpec{Sessions: []ui.PreviewSession{{Tasks: []ui.PreviewTask{{}, {}}}}}}
	got := map[string]field.ErrorType{}
	for _, e := range Validate(p) {
		got[e.Field] = e.Type
	}
	for _, path := range []string{
		"metadata.name", "metadata.namespace", "spec.storageRef.name", "spec.retentionPolicy.name",
		"spec.target.kind", "spec.target.namespace", "spec.target.name",
		"spec.sessions[0].name", "spec.sessions[0].schedule", "spec.sessions[0].addon",
		"spec.sessions[0].tasks[0].name", "spec.sessions[0].tasks[1].name", "spec.sessions[0].tasks[0].repoName",
	} {
		if got[path] != field.ErrorTypeRequired {
			t.Errorf("%s: want Required, got %q", path, got[path])
		}
	}
	if len(got) != 13 {
		t.Errorf("unexpected extra errors: %v", got)
	}
	// spec.sessions[0].tasks[1].name: Required value, as the README shows it.
	if s := errString(Validate(p)); !strings.Contains(s, "spec.sessions[0].tasks[1].name: Required value") {
		t.Errorf("message format: %s", s)
	}
}

func TestErrorOrderIsStable(t *testing.T) {
	p := validForm()
	for i := range 20 {
		p.Spec.Labels[fmt.Sprintf("bad key %d", i)] = "bad value!"
	}
	first := errString(Validate(p))
	for range 5 {
		if got := errString(Validate(p)); got != first {
			t.Fatalf("errors differ between runs:\n%s\n---\n%s", first, got)
		}
	}
}
