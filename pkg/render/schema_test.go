package render

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"sigs.k8s.io/yaml"

	ui "github.com/kubestash/backupview/pkg/apis/ui/v1alpha1"
)

// The upstream CRD is reference data outside the repo: $BACKUPVIEW_SHARED (default: the
// repository's ../shared) /kubestash-crds/. It is read, never copied.
var crd struct {
	once   sync.Once
	schema map[string]interface{}
	skip   string
}

func crdSchema(t testing.TB) map[string]interface{} {
	t.Helper()
	if loadCRD() == nil {
		t.Skip(crd.skip)
	}
	return crd.schema
}

// loadCRD returns the BackupConfiguration openAPIV3Schema, or nil (reason in crd.skip).
func loadCRD() map[string]interface{} {
	crd.once.Do(func() {
		dir := os.Getenv("BACKUPVIEW_SHARED")
		if dir == "" {
			dir = filepath.Join("..", "..", "..", "shared") // pkg/render -> repo -> ../shared
		}
		file := filepath.Join(dir, "kubestash-crds", "core.kubestash.com_backupconfigurations.yaml")
		data, err := os.ReadFile(file)
		if err != nil {
			crd.skip = fmt.Sprintf("skipping the CRD schema check: %v (set BACKUPVIEW_SHARED to the shared folder)", err)
			return
		}
		var obj struct {
			Spec struct {
				Versions []struct {
					Name   string
					Schema struct {
						OpenAPIV3Schema map[string]interface{} `json:"openAPIV3Schema"`
					}
				}
			}
		}
		if err := yaml.Unmarshal(data, &obj); err != nil {
			crd.skip = fmt.Sprintf("cannot parse %s: %v", file, err)
			return
		}
		for _, v := range obj.Spec.Versions {
			if v.Name == "v1alpha1" {
				crd.schema = v.Schema.OpenAPIV3Schema
			}
		}
		if crd.schema == nil {
			crd.skip = "no v1alpha1 schema in " + file
		}
	})
	return crd.schema
}

// metadataFields are the ObjectMeta fields the renderer may emit. The CRD schema declares
// metadata as a bare object (the API server validates ObjectMeta itself).
var metadataFields = []string{"name", "namespace", "labels", "annotations"}

// schemaErrors checks v against a structural schema the way strict field validation does: every
// key must be declared (walking properties, additionalProperties and items, and stopping at
// x-kubernetes-preserve-unknown-fields), types and enums must match, required keys must be present.
func schemaErrors(path string, v interface{}, s map[string]interface{}) []string {
	var errs []string
	bad := func(format string, args ...interface{}) {
		errs = append(errs, path+": "+fmt.Sprintf(format, args...))
	}
	typ, _ := s["type"].(string)
	ok := true
	switch typ {
	case "object":
		_, ok = v.(map[string]interface{})
	case "array":
		_, ok = v.([]interface{})
	case "string":
		_, ok = v.(string)
	case "integer":
		_, ok = v.(int64)
	case "number":
		switch v.(type) {
		case int64, float64:
		default:
			ok = false
		}
	case "boolean":
		_, ok = v.(bool)
	}
	if s["x-kubernetes-int-or-string"] == true {
		switch v.(type) {
		case int64, string:
			ok = true
		}
	}
	if !ok {
		bad("want %s, got %T", typ, v)
		return errs
	}
	if enum, has := s["enum"].([]interface{}); has && !slices.Contains(enum, v) {
		bad("%v not in enum %v", v, enum)
	}
	if s["x-kubernetes-preserve-unknown-fields"] == true {
		return errs
	}
	switch t := v.(type) {
	case map[string]interface{}:
		props, _ := s["properties"].(map[string]interface{})
		if path == ".metadata" {
			for k, c := range t {
				if !slices.Contains(metadataFields, k) {
					bad("unknown ObjectMeta field %q", k)
				}
				if k == "labels" || k == "annotations" {
					for _, val := range c.(map[string]interface{}) {
						if _, ok := val.(string); !ok {
							bad("%s values must be strings", k)
						}
					}
				}
			}
			return errs
		}
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if ps, ok := props[k].(map[string]interface{}); ok {
				errs = append(errs, schemaErrors(path+"."+k, t[k], ps)...)
			} else if as, ok := s["additionalProperties"].(map[string]interface{}); ok {
				errs = append(errs, schemaErrors(path+"."+k, t[k], as)...)
			} else if s["additionalProperties"] != true {
				errs = append(errs, fmt.Sprintf("%s.%s: unknown field", path, k))
			}
		}
		req, _ := s["required"].([]interface{})
		for _, r := range req {
			if _, ok := t[r.(string)]; !ok {
				bad("required field %q missing", r)
			}
		}
	case []interface{}:
		if is, ok := s["items"].(map[string]interface{}); ok {
			for i, item := range t {
				errs = append(errs, schemaErrors(fmt.Sprintf("%s[%d]", path, i), item, is)...)
			}
		}
	}
	return errs
}

func checkManifestAgainstCRD(t testing.TB, m *Manifest) {
	t.Helper()
	s := crdSchema(t)
	if errs := schemaErrors("", m.Object, s); len(errs) > 0 {
		t.Errorf("manifest does not match the CRD schema:\n%s\n%s", strings.Join(errs, "\n"), m.YAML)
	}
	if m.Object["apiVersion"] != "core.kubestash.com/v1alpha1" || m.Object["kind"] != "BackupConfiguration" {
		t.Errorf("apiVersion/kind: %v %v", m.Object["apiVersion"], m.Object["kind"])
	}
}

func TestRenderedManifestsMatchCRD(t *testing.T) {
	crdSchema(t)
	for name, mut := range map[string]func(*ui.BackupConfigurationPreview){
		"design example": func(*ui.BackupConfigurationPreview) {},
		"everything": func(p *ui.BackupConfigurationPreview) {
			twoTasks(p)
			twoSessions(p)
			p.Spec.Sessions[1].RunAsUser = i64(0)
			task(p, 1, 0).ParamsText = "paths: [/source/data]\nexclude: /source/data/lost+found\nnested: {a: {b: [1, 2.5, true, null]}}"
		},
		"minimal core target": func(p *ui.BackupConfigurationPreview) {
			p.Spec.Labels, p.Spec.Annotations = nil, nil
			p.Spec.StorageRef.Namespace = ""
			p.Spec.Target = ui.TypedObjectReference{APIGroup: "core", Kind: "PersistentVolumeClaim", Namespace: "demo", Name: "data"}
			s := &p.Spec.Sessions[0]
			s.RunAsUser = nil
			s.Tasks[0].Params, s.Tasks[0].EncryptionSecret = nil, nil
		},
		"many repositories": func(p *ui.BackupConfigurationPreview) {
			manyTasks(p, 5)
			task(p, 0, 3).RepoName = "second"
			task(p, 0, 4).RepoName = "third"
			task(p, 0, 4).EncryptionSecret = &ui.ObjectReference{Namespace: "demo", Name: "k2"}
		},
	} {
		t.Run(name, func(t *testing.T) {
			p := validForm()
			mut(p)
			checkManifestAgainstCRD(t, mustRender(t, p))
		})
	}
}

// The checker itself must catch what strict field validation rejects.
func TestSchemaCheckerCatchesMistakes(t *testing.T) {
	s := crdSchema(t)
	m := mustRender(t, validForm())
	spec := m.Object["spec"].(map[string]interface{})
	sess := spec["sessions"].([]interface{})[0].(map[string]interface{})
	sess["scheduler"].(map[string]interface{})["timeout"] = "1h"                                // unknown field
	sess["repositories"].([]interface{})[0].(map[string]interface{})["deletionPolicy"] = "Keep" // not in enum
	sess["sessionHistoryLimit"] = "2"                                                           // wrong type
	delete(spec["target"].(map[string]interface{}), "name")                                     // required
	m.Object["metadata"].(map[string]interface{})["finalizers"] = []interface{}{}               // not emitted by us
	sess["addon"].(map[string]interface{})["tasks"].([]interface{})[0].(map[string]interface{})["params"].(map[string]interface{})["anything"] = map[string]interface{}{"goes": true}
	errs := schemaErrors("", m.Object, s)
	want := []string{
		".metadata: unknown ObjectMeta field \"finalizers\"",
		".spec.sessions[0].repositories[0].deletionPolicy: Keep not in enum [Delete WipeOut Retain]",
		".spec.sessions[0].scheduler.timeout: unknown field",
		".spec.sessions[0].sessionHistoryLimit: want integer, got string",
		".spec.target: required field \"name\" missing",
	}
	sort.Strings(errs)
	if !slices.Equal(errs, want) {
		t.Errorf("got\n%s", strings.Join(errs, "\n"))
	}
}
