package render

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"os"
	"time"

	utiljson "k8s.io/apimachinery/pkg/util/json"
	"sigs.k8s.io/yaml"

	"github.com/kubestash/backupview/pkg/apis/ui"
)

// FuzzPreview feeds arbitrary JSON forms (the v1alpha1 JSON shape; the internal type has the
// same tags) through Validate, Render and Warnings. Nothing may panic; Render succeeds exactly
// when Validate finds nothing; a rendered manifest matches the CRD schema (when the shared
// folder is there), round-trips through JSON and YAML, and renders again to the same bytes.
//
//	go test ./pkg/render -run '^$' -fuzz FuzzPreview -fuzztime 60s
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
	schema := loadCRD()
	cluster := newFakeCluster()

	f.Fuzz(func(t *testing.T, data []byte) {
		tm := time.AfterFunc(3*time.Second, func() { os.WriteFile("/tmp/slow-input", data, 0o644); panic("slow input") })
		defer tm.Stop()
		var p ui.BackupConfigurationPreview
		if json.Unmarshal(data, &p) != nil {
			return
		}
		errs := Validate(&p)
		_ = Warnings(&p, cluster)
		m, rerrs := Render(&p)
		if (m == nil) != (len(errs) > 0) || !reflect.DeepEqual(errs, rerrs) {
			t.Fatalf("Validate and Render disagree: %v vs %v (manifest %v)", errs, rerrs, m != nil)
		}
		for _, e := range errs {
			if e.Field == "" || e.Type == "" || strings.Contains(e.Error(), "InternalError") {
				t.Fatalf("bad error: %v", e)
			}
		}
		if m == nil {
			return
		}
		if schema != nil {
			if serrs := schemaErrors("", m.Object, schema); len(serrs) > 0 {
				t.Fatalf("schema: %v\n%s", serrs, m.YAML)
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
	})
}
