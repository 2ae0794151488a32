package render

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"

	utiljson "k8s.io/apimachinery/pkg/util/json"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/yaml"

	ui "github.com/kubestash/backupview/pkg/apis/ui/v1alpha1"
)

// FuzzPreview feeds arbitrary JSON forms (the v1alpha1 JSON shape; the internal type has the
// same tags) through Validate, Render and Warnings. Nothing may panic; Render succeeds exactly
// when Validate finds nothing; a rendered manifest matches the CRD schema (when the shared
// folder is there), round-trips through JSON and YAML, and renders again to the same bytes.
//
//	go test ./pkg/render -run '^$' -fuzz FuzzPreview -fuzztime 60s -fuzzminimizetime 5s
func FuzzPreview(f *testing.F) {
	seeds := []func(*ui.BackupConfigurationPreview){
		func(*ui.BackupConfigurationPreview) {},
		func(p *ui.BackupConfigurationPreview) {
			twoTasks(p)
			twoSessions(p)
			p.Spec.Sessions[1].RunAsUser = i64(0)
		},
		func(p *ui.BackupConfigurationPreview) {
			p.Spec.Target.APIGroup = "core"
			task(p, 0, 0).Params = nil
			task(p, 0, 0).ParamsText = "paths: [/data]\nexclude: {a: [1, 2.5e3, true, null]}\n"
		},
		func(p *ui.BackupConfigurationPreview) { p.Spec.Sessions[0].Schedule = "0 0 1-7/2 JAN-MAR mon,FRI" },
	}
	for _, mut := range seeds {
		p := validForm()
		mut(p)
		b, err := json.Marshal(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"metadata":{"name":"a","namespace":"b"},"spec":{"storageRef":{"name":"s"},"retentionPolicy":{"name":"r"},` +
		`"sessions":[{"name":"s","schedule":"@daily","addon":"x","tasks":[{"name":"t","repoName":"r","paramsText":"{\"a\": 1}"}]}],` +
		`"target":{"kind":"StatefulSet","apiGroup":"apps","namespace":"b","name":"n"}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var p ui.BackupConfigurationPreview
		if json.Unmarshal(data, &p) != nil {
			return
		}
		checkProperties(t, &p)
	})
}

// FuzzFormFields mutates the free-text fields of a valid form, which reaches Render far more
// often than mutating JSON bytes does.
func FuzzFormFields(f *testing.F) {
	f.Add("mongodb-backup", "full-backup", "*/30 * * * *", "core", "mongodb-repo", "args: --db=testdb", `{"a":[1]}`, int64(999))
	f.Add("a", "b", "@every 1h", "kubedb.com", "r.v2", "{x: {y: [1, 2.5, yes]}}", "", int64(0))
	f.Add("x", "y", "0 0 1-7/2 JAN-MAR mon,FRI", "", "r", "", `{"big": 12345678901234567890, "f": 1.0}`, int64(-1))
	f.Fuzz(func(t *testing.T, name, session, schedule, group, repo, text, params string, uid int64) {
		p := validForm()
		twoTasks(p)
		p.Name = name
		s := &p.Spec.Sessions[0]
		s.Name, s.Schedule, s.RunAsUser = session, schedule, &uid
		p.Spec.Target.APIGroup = group
		task(p, 0, 0).RepoName, task(p, 0, 0).Params = repo, nil
		task(p, 0, 0).ParamsText = text
		if params != "" {
			task(p, 0, 1).Params = raw(params)
		}
		checkProperties(t, p)
	})
}

var fuzzCluster = newFakeCluster()

func checkProperties(t *testing.T, p *ui.BackupConfigurationPreview) {
	errs := Validate(p)
	_ = Warnings(p, fuzzCluster)
	m, rerrs := Render(p)
	if (m == nil) != (len(errs) > 0) || !reflect.DeepEqual(errs, rerrs) {
		t.Fatalf("Validate and Render disagree: %v vs %v (manifest %v)", errs, rerrs, m != nil)
	}
	for _, e := range errs {
		if e.Field == "" || e.Type == field.ErrorTypeInternal {
			t.Fatalf("bad error: %v", e)
		}
	}
	if m == nil {
		return
	}
	if schema := loadCRD(); schema != nil {
		if serrs := schemaErrors("", m.Object, schema); len(serrs) > 0 {
			t.Fatalf("schema: %v\n%s", serrs, m.YAML)
		}
	}
	for _, s := range p.Spec.Sessions {
		if cj := CronJobName(p.Name, s.Name); len(cj) > MaxCronJobNameLen {
			t.Fatalf("rendered a session whose CronJob name is too long: %s", cj)
		}
	}
	again, _ := Render(p.DeepCopy())
	if again == nil || !bytes.Equal(again.JSON, m.JSON) || again.YAML != m.YAML || again.IndentedJSON != m.IndentedJSON {
		t.Fatal("re-rendering gave different bytes")
	}
	var back map[string]interface{}
	if err := utiljson.Unmarshal(m.JSON, &back); err != nil || !reflect.DeepEqual(back, m.Object) {
		t.Fatalf("JSON does not decode to Object: %v", err)
	}
	j, err := yaml.YAMLToJSON([]byte(m.YAML))
	back = nil
	if err != nil || utiljson.Unmarshal(j, &back) != nil || !reflect.DeepEqual(back, m.Object) {
		t.Fatalf("YAML does not decode to Object: %v\n%s", err, m.YAML)
	}
}
