package render

import (
	"fmt"
	"strings"

	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	ui "github.com/kubestash/backupview/pkg/apis/ui/v1alpha1"
	"github.com/kubestash/backupview/pkg/kubestash"
)

// SnapshotLatest is the snapshot value that KubeStash resolves to the repository's newest
// snapshot when the restore runs.
const SnapshotLatest = "latest"

// MaxComponents bounds the components a restore form may name.
const MaxComponents = 64

// ValidateRestore reports every structural problem of the restore form at once, with field
// paths rooted at the preview object (docs/design.md, "Restore preview").
func ValidateRestore(p *ui.RestoreSessionPreview) field.ErrorList {
	errs, _, _ := checkRestore(p, waitForever) // waitForever never fails
	return errs
}

// restorePlan is what checkRestore learned that the renderer needs.
type restorePlan struct {
	params []map[string]interface{} // per task, nil when not given
	values int
}

// checkRestore validates the form; err is only the heavy gate's refusal to wait.
func checkRestore(p *ui.RestoreSessionPreview, wait waitFunc) (field.ErrorList, *restorePlan, error) {
	if p == nil {
		p = &ui.RestoreSessionPreview{}
	}
	var errs field.ErrorList
	md, spec := field.NewPath("metadata"), field.NewPath("spec")
	s := p.Spec

	// RestoreSession names end up in label values (kubestash.com/invoker-name) as BackupConfiguration names do.
	errs = append(errs, checkName(md.Child("name"), p.Name, validation.IsDNS1123Label)...)
	errs = append(errs, checkName(md.Child("namespace"), p.Namespace, validation.IsDNS1123Label)...)
	errs = append(errs, sorted(metav1validation.ValidateLabels(s.Labels, spec.Child("labels")))...)
	errs = append(errs, sorted(apivalidation.ValidateAnnotations(s.Annotations, spec.Child("annotations")))...)

	rp := spec.Child("repository")
	if s.Repository.Namespace != "" {
		errs = append(errs, checkName(rp.Child("namespace"), s.Repository.Namespace, validation.IsDNS1123Label)...)
		if s.Repository.Name == "" {
			errs = append(errs, field.Required(rp.Child("name"), "a repository namespace without a repository name"))
		}
	}
	if s.Repository.Name != "" {
		for _, msg := range repoNameErrs(s.Repository.Name) {
			errs = append(errs, field.Invalid(rp.Child("name"), s.Repository.Name, msg))
		}
	}

	// snapshot and pitr are alternatives (KubeStash's webhook rules, docs/design.md "Restore preview").
	sp, pp := spec.Child("snapshot"), spec.Child("pitr")
	switch {
	case s.Snapshot != "" && s.PITR != nil:
		errs = append(errs, field.Forbidden(pp, "set snapshot or pitr, not both"))
	case s.Snapshot == "" && s.PITR == nil:
		errs = append(errs, field.Required(sp, `a snapshot name, "latest", or pitr (a point in time)`))
	case s.Snapshot == SnapshotLatest:
		if s.Repository.Name == "" {
			errs = append(errs, field.Required(rp.Child("name"), `snapshot "latest" is the newest snapshot of a repository: name the repository`))
		}
	case s.Snapshot != "":
		errs = append(errs, checkName(sp, s.Snapshot, validation.IsDNS1123Subdomain)...)
	default: // pitr
		if s.PITR.TargetTime == nil {
			errs = append(errs, field.Required(pp.Child("targetTime"), "the point in time to restore to, e.g. 2026-12-07T10:00:00Z"))
		}
		if s.Repository.Name == "" {
			errs = append(errs, field.Required(rp.Child("name"), "a point in time is resolved among a repository's snapshots: name the repository"))
		}
	}

	cp := spec.Child("components")
	components := s.Components
	if len(components) > MaxComponents {
		errs = append(errs, field.TooMany(cp, len(components), MaxComponents))
		components = components[:MaxComponents]
	}
	seen := map[string]bool{}
	for i, c := range components {
		// Component names are path segments in the repository (dump, manifest, pod-0, ...).
		switch {
		case c == "":
			errs = append(errs, field.Required(cp.Index(i), "a component name such as dump or manifest"))
		case len(validation.IsConfigMapKey(c)) > 0:
			for _, msg := range validation.IsConfigMapKey(c) {
				errs = append(errs, field.Invalid(cp.Index(i), c, msg))
			}
		case seen[c]:
			errs = append(errs, field.Duplicate(cp.Index(i), c))
		default:
			seen[c] = true
		}
	}

	if t := s.Target; t != (ui.TypedObjectReference{}) {
		errs = append(errs, checkRestoreTarget(spec.Child("target"), t)...)
	}

	ap := spec.Child("addon")
	errs = append(errs, checkName(ap.Child("name"), s.Addon.Name, validation.IsDNS1123Subdomain)...)
	tp := ap.Child("tasks")
	tasks := s.Addon.Tasks
	if len(tasks) == 0 {
		errs = append(errs, field.Required(tp, "at least one of the addon's restoreTasks, e.g. logical-backup-restore"))
	}
	if len(tasks) > MaxTasks {
		errs = append(errs, field.TooMany(tp, len(tasks), MaxTasks))
		tasks = tasks[:MaxTasks]
	}
	pl := &restorePlan{params: make([]map[string]interface{}, len(tasks))}
	var budget paramsBudget
	taskNames := map[string]bool{}
	for j, t := range tasks {
		jp := tp.Index(j)
		switch {
		case t.Name == "":
			errs = append(errs, field.Required(jp.Child("name"), "one of the addon's restoreTasks, e.g. logical-backup-restore"))
		case taskNames[t.Name]:
			errs = append(errs, field.Duplicate(jp.Child("name"), t.Name))
		default:
			taskNames[t.Name] = true
		}
		// The same parser, limits and heavy gate as the BackupConfiguration preview's params.
		params, pErrs, err := checkParams(jp, ui.PreviewTask{Params: t.Params, ParamsText: t.ParamsText}, &budget, wait)
		if err != nil {
			return nil, nil, err
		}
		errs = append(errs, pErrs...)
		pl.params[j] = params
	}
	pl.values = budget.values

	if e := s.EncryptionSecret; e != nil && (e.Namespace != "" || e.Name != "") {
		ep := spec.Child("encryptionSecret")
		errs = append(errs, checkName(ep.Child("name"), e.Name, validation.IsDNS1123Subdomain)...)
		if e.Namespace != "" {
			errs = append(errs, checkName(ep.Child("namespace"), e.Namespace, validation.IsDNS1123Label)...)
		}
	}
	if d := s.RestoreTimeout; d != nil && d.Duration <= 0 {
		errs = append(errs, field.Invalid(spec.Child("restoreTimeout"), d.Duration.String(), "must be positive, e.g. 30m"))
	}
	return errs, pl, nil
}

// checkRestoreTarget is checkTarget with an optional namespace (the preview's by default).
func checkRestoreTarget(p *field.Path, t ui.TypedObjectReference) field.ErrorList {
	var errs field.ErrorList
	if g := kubestash.NormalizeGroup(t.APIGroup); g != "" {
		errs = append(errs, checkName(p.Child("apiGroup"), g, validation.IsDNS1123Subdomain)...)
	}
	errs = append(errs, checkName(p.Child("kind"), t.Kind, func(k string) []string {
		if len(validation.IsDNS1035Label(strings.ToLower(k))) > 0 {
			return []string{"must be a resource kind such as MongoDB or StatefulSet: a letter followed by letters, digits or '-'"}
		}
		return nil
	})...)
	if t.Namespace != "" {
		errs = append(errs, checkName(p.Child("namespace"), t.Namespace, validation.IsDNS1123Label)...)
	}
	errs = append(errs, checkName(p.Child("name"), t.Name, validation.IsDNS1123Subdomain)...)
	return errs
}

// orNS is v, or ns when v is empty: the form's empty namespaces are the preview's.
func orNS(v, ns string) string {
	if v == "" {
		return ns
	}
	return v
}

// gkString prints a kind as Kind.group (Kind alone for the core group).
func gkString(group, kind string) string {
	if group = kubestash.NormalizeGroup(group); group != "" {
		return fmt.Sprintf("%s.%s", kind, group)
	}
	return kind
}
