package render

import (
	"bytes"
	"encoding/json"
	"fmt"

	utiljson "k8s.io/apimachinery/pkg/util/json"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/yaml"

	ui "github.com/kubestash/backupview/pkg/apis/ui/v1alpha1"
	"github.com/kubestash/backupview/pkg/kubestash"
)

// Manifest is a rendered BackupConfiguration in the forms the preview returns.
type Manifest struct {
	// Object is the manifest as unstructured content (numbers are int64 or float64).
	Object map[string]interface{}
	// JSON is Object as compact JSON, keys sorted.
	JSON []byte
	// IndentedJSON is Object as JSON indented by two spaces.
	IndentedJSON string
	// YAML is Object as YAML, keys sorted.
	YAML string
}

// Render validates the form and renders the BackupConfiguration it describes (docs/design.md,
// "Preview rendering"). The same form always gives the same bytes.
func Render(p *ui.BackupConfigurationPreview) (*Manifest, field.ErrorList) {
	m, errs, _ := render(p, waitForever) // waitForever never fails
	return m, errs
}

func render(p *ui.BackupConfigurationPreview, wait waitFunc) (*Manifest, field.ErrorList, error) {
	errs, pl, err := check(p, wait)
	if err != nil || len(errs) > 0 {
		return nil, errs, err
	}
	if pl.values > heavyValues {
		release, err := wait()
		if err != nil {
			return nil, nil, err
		}
		defer release()
	}
	m, err := encode(build(p, pl))
	if err != nil { // only reachable through a bug: everything in the object came from JSON
		return nil, field.ErrorList{field.InternalError(field.NewPath("spec"), err)}, nil
	}
	return m, nil, nil
}

// build maps the validated form onto BackupConfiguration fields (checked against the CRD).
func build(p *ui.BackupConfigurationPreview, pl *plan) map[string]interface{} {
	ns := p.Namespace
	meta := map[string]interface{}{"name": p.Name, "namespace": ns}
	if len(p.Spec.Labels) > 0 {
		meta["labels"] = stringMap(p.Spec.Labels)
	}
	if len(p.Spec.Annotations) > 0 { // the console drops them; a preview should not
		meta["annotations"] = stringMap(p.Spec.Annotations)
	}

	t := p.Spec.Target
	group := kubestash.NormalizeGroup(t.APIGroup)
	// Repositories live in the BC's namespace; the console puts each under <target ns>/<name>.
	directory := t.Namespace + "/" + t.Name

	sessions := make([]interface{}, len(p.Spec.Sessions))
	for i, s := range p.Spec.Sessions {
		tasks := make([]interface{}, len(s.Tasks))
		for j, task := range s.Tasks {
			tm := map[string]interface{}{"name": task.Name}
			if params := pl.params[i][j]; params != nil {
				tm["params"] = params
			}
			tasks[j] = tm
		}
		addon := map[string]interface{}{"name": s.Addon, "tasks": tasks}
		if s.RunAsUser != nil { // 0 (root) is a real value, unlike in the console
			addon["jobTemplate"] = map[string]interface{}{"spec": map[string]interface{}{
				"securityContext": map[string]interface{}{"runAsUser": *s.RunAsUser}}}
		}
		repos := make([]interface{}, len(pl.repos[i]))
		for k, r := range pl.repos[i] {
			rm := map[string]interface{}{"name": r.name, "backend": DefaultBackend, "directory": directory}
			if r.secret != nil {
				rm["encryptionSecret"] = map[string]interface{}{"namespace": r.secret.Namespace, "name": r.secret.Name}
			}
			repos[k] = rm
		}
		sessions[i] = map[string]interface{}{
			"name": s.Name,
			// backoffLimit and sessionHistoryLimit are what the console's chart hard-codes.
			"scheduler": map[string]interface{}{
				"schedule":    s.Schedule,
				"jobTemplate": map[string]interface{}{"backoffLimit": 1},
			},
			"sessionHistoryLimit": 2,
			"addon":               addon,
			"repositories":        repos,
		}
	}

	return map[string]interface{}{
		"apiVersion": "core.kubestash.com/v1alpha1",
		"kind":       "BackupConfiguration",
		"metadata":   meta,
		"spec": map[string]interface{}{
			"target": map[string]interface{}{"apiGroup": group, "kind": t.Kind, "namespace": t.Namespace, "name": t.Name},
			"backends": []interface{}{map[string]interface{}{
				"name":            DefaultBackend,
				"storageRef":      ref(p.Spec.StorageRef, ns),
				"retentionPolicy": ref(p.Spec.RetentionPolicy, ns),
			}},
			"sessions": sessions,
		},
	}
}

// ref fills an empty namespace with the BC's, which is what KubeStash assumes, so the
// manifest says it explicitly.
func ref(r ui.ObjectReference, ns string) map[string]interface{} {
	if r.Namespace != "" {
		ns = r.Namespace
	}
	return map[string]interface{}{"namespace": ns, "name": r.Name}
}

func stringMap(m map[string]string) map[string]interface{} {
	out := make(map[string]interface{}, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// encode normalises the object to what an API server stores for a custom resource (JSON
// decoded as unstructured: int64 where a number is integral, else float64) and serialises it.
// Two rounds reach the fixed point ("5.0" -> 5.0 -> "5" -> int64 5), so Object, JSON and
// YAML agree and decoding JSON gives Object back.
func encode(obj map[string]interface{}) (*Manifest, error) {
	var m Manifest
	for range 2 {
		b, err := marshal(obj)
		if err != nil {
			return nil, err
		}
		m.Object = nil
		if err := utiljson.Unmarshal(b, &m.Object); err != nil {
			return nil, err
		}
		obj = m.Object
	}
	var err error
	if m.JSON, err = marshal(m.Object); err != nil {
		return nil, err
	}
	var ind bytes.Buffer
	if err := json.Indent(&ind, m.JSON, "", "  "); err != nil {
		return nil, err
	}
	m.IndentedJSON = ind.String()
	y, err := yaml.JSONToYAML(m.JSON)
	if err != nil {
		return nil, fmt.Errorf("converting to YAML: %w", err)
	}
	m.YAML = string(y)
	return &m, nil
}

// marshal is json.Marshal without HTML escaping: params such as "--db=a&b" stay readable.
func marshal(v interface{}) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}
