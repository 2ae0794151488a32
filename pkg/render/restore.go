package render

import (
	"context"
	"time"

	"k8s.io/apimachinery/pkg/util/validation/field"

	ui "github.com/kubestash/backupview/pkg/apis/ui/v1alpha1"
	"github.com/kubestash/backupview/pkg/kubestash"
)

// RenderRestore validates the restore form and renders the RestoreSession it describes
// (docs/design.md, "Restore preview"). The same form always gives the same bytes.
func RenderRestore(p *ui.RestoreSessionPreview) (*Manifest, field.ErrorList) {
	m, errs, _ := renderRestore(p, waitForever) // waitForever never fails
	return m, errs
}

// RenderRestoreContext is RenderRestore for API requests, behind the heavy gate as
// RenderContext: err is only its 429.
func RenderRestoreContext(ctx context.Context, p *ui.RestoreSessionPreview) (*Manifest, field.ErrorList, error) {
	return renderRestore(p, waitAtMost(ctx, HeavyWait))
}

func renderRestore(p *ui.RestoreSessionPreview, wait waitFunc) (*Manifest, field.ErrorList, error) {
	errs, pl, err := checkRestore(p, wait)
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
	m, err := encode(buildRestore(p, pl))
	if err != nil { // only reachable through a bug: everything in the object came from JSON
		return nil, field.ErrorList{field.InternalError(field.NewPath("spec"), err)}, nil
	}
	return m, nil, nil
}

// buildRestore maps the validated form onto RestoreSession fields (checked against the CRD).
// Every namespace the form leaves empty is written out as the preview's, which is what
// KubeStash assumes.
func buildRestore(p *ui.RestoreSessionPreview, pl *restorePlan) map[string]interface{} {
	ns, s := p.Namespace, p.Spec
	meta := map[string]interface{}{"name": p.Name, "namespace": ns}
	if len(s.Labels) > 0 {
		meta["labels"] = stringMap(s.Labels)
	}
	if len(s.Annotations) > 0 {
		meta["annotations"] = stringMap(s.Annotations)
	}

	ds := map[string]interface{}{"namespace": orNS(s.Repository.Namespace, ns)}
	if s.Repository.Name != "" {
		ds["repository"] = s.Repository.Name
	}
	if s.PITR != nil {
		pitr := map[string]interface{}{"targetTime": s.PITR.TargetTime.UTC().Format(time.RFC3339)}
		if s.PITR.Exclusive {
			pitr["exclusive"] = true
		}
		ds["pitr"] = pitr
	} else {
		ds["snapshot"] = s.Snapshot
	}
	if len(s.Components) > 0 {
		cs := make([]interface{}, len(s.Components))
		for i, c := range s.Components {
			cs[i] = c
		}
		ds["components"] = cs
	}
	if e := s.EncryptionSecret; e != nil && e.Name != "" {
		ds["encryptionSecret"] = map[string]interface{}{"namespace": orNS(e.Namespace, ns), "name": e.Name}
	}

	tasks := make([]interface{}, len(s.Addon.Tasks))
	for j, t := range s.Addon.Tasks {
		tm := map[string]interface{}{"name": t.Name}
		if params := pl.params[j]; params != nil {
			tm["params"] = params
		}
		tasks[j] = tm
	}
	spec := map[string]interface{}{
		"dataSource": ds,
		"addon":      map[string]interface{}{"name": s.Addon.Name, "tasks": tasks},
	}
	if t := s.Target; t != (ui.TypedObjectReference{}) {
		spec["target"] = map[string]interface{}{
			"apiGroup": kubestash.NormalizeGroup(t.APIGroup), "kind": t.Kind,
			"namespace": orNS(t.Namespace, ns), "name": t.Name,
		}
	}
	if s.RestoreTimeout != nil {
		spec["restoreTimeout"] = s.RestoreTimeout.Duration.String()
	}
	return map[string]interface{}{
		"apiVersion": "core.kubestash.com/v1alpha1",
		"kind":       "RestoreSession",
		"metadata":   meta,
		"spec":       spec,
	}
}
