// Package formoptions builds a namespace's BackupConfigurationOptions: what the create form's
// dropdowns offer there (docs/design.md, "Form options"). Like package join it is pure: the
// object is a function of the looked-up sources only, never of the clock or of the caller
// (what a caller may see is the access package's to decide).
package formoptions

import (
	"cmp"
	"slices"
	"strconv"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ui "github.com/kubestash/backupview/pkg/apis/ui/v1alpha1"
	"github.com/kubestash/backupview/pkg/join"
	"github.com/kubestash/backupview/pkg/kubestash"
	"github.com/kubestash/backupview/pkg/sources"
)

// Lookup is what Build reads; *sources.Sources implements it.
type Lookup interface {
	Namespace(name string) *kubestash.Namespace
	BackupStorages() []*kubestash.BackupStorage
	RetentionPolicies() []*kubestash.RetentionPolicy
	Addons() []*kubestash.Addon
	TargetsIn(ns string) []sources.TargetObject
	// SecretNames lists a namespace's Secrets; checked is false when the opt-in check is off.
	SecretNames(ns string) (names []string, checked bool)
}

var _ Lookup = (*sources.Sources)(nil)

// Build returns the options of namespace ns and the newest resourceVersion among the objects
// they reflect; ok is false when the namespace does not exist.
func Build(ns string, l Lookup) (o *ui.BackupConfigurationOptions, rv uint64, ok bool) {
	addons, addonsRV := buildAddons(l.Addons())
	return build(ns, l, addons, addonsRV)
}

// build is Build with the Addons already listed: they are the same for every namespace, so the
// cache's builder shares one list between all options (they are immutable once published).
func build(ns string, l Lookup, addons []ui.AddonOption, addonsRV uint64) (o *ui.BackupConfigurationOptions, rv uint64, ok bool) {
	n := l.Namespace(ns)
	if n == nil {
		return nil, 0, false
	}
	newest := func(s string) {
		if v, err := strconv.ParseUint(s, 10, 64); err == nil && v > rv {
			rv = v
		}
	}
	newest(n.ResourceVersion)
	o = &ui.BackupConfigurationOptions{ObjectMeta: metav1.ObjectMeta{Name: ui.OptionsName, Namespace: ns,
		UID: join.DerivedUID(ui.OptionsResource.Resource, n.UID), CreationTimestamp: n.CreationTimestamp}}

	for _, s := range l.BackupStorages() {
		newest(s.ResourceVersion)
		if s.UsagePolicy.Allows(s.Namespace, ns, n.Labels) {
			o.Storages = append(o.Storages, ui.StorageOption{Ref: s.Namespace + "/" + s.Name, Namespace: s.Namespace, Name: s.Name,
				Provider: s.Provider, Phase: s.Phase, Default: s.Default, AllowedNamespaces: s.UsagePolicy.From})
		}
	}
	slices.SortFunc(o.Storages, func(a, b ui.StorageOption) int { return byDefaultThenRef(a.Default, b.Default, a.Ref, b.Ref) })

	for _, p := range l.RetentionPolicies() {
		newest(p.ResourceVersion)
		if p.UsagePolicy.Allows(p.Namespace, ns, n.Labels) {
			o.RetentionPolicies = append(o.RetentionPolicies, ui.RetentionPolicyOption{Ref: p.Namespace + "/" + p.Name, Namespace: p.Namespace,
				Name: p.Name, MaxRetentionPeriod: p.MaxRetentionPeriod, Default: p.Default, AllowedNamespaces: p.UsagePolicy.From})
		}
	}
	slices.SortFunc(o.RetentionPolicies, func(a, b ui.RetentionPolicyOption) int {
		return byDefaultThenRef(a.Default, b.Default, a.Ref, b.Ref)
	})

	o.Addons = addons
	rv = max(rv, addonsRV)

	for _, t := range l.TargetsIn(ns) {
		newest(t.ResourceVersion)
		o.Targets = append(o.Targets, ui.TargetOption{APIGroup: t.GroupKind.Group, Kind: t.GroupKind.Kind, Name: t.Name})
	}
	if names, checked := l.SecretNames(ns); checked {
		o.EncryptionSecrets = append([]string{}, names...) // checked and none: empty, not nil
	}
	return o, rv, true
}

// buildAddons lists the Addons by name with their backup and restore tasks, and their newest
// resourceVersion.
func buildAddons(l []*kubestash.Addon) (out []ui.AddonOption, rv uint64) {
	for _, a := range l {
		if v, err := strconv.ParseUint(a.ResourceVersion, 10, 64); err == nil && v > rv {
			rv = v
		}
		out = append(out, ui.AddonOption{Name: a.Name, BackupTasks: taskOptions(a.BackupTasks), RestoreTasks: taskOptions(a.RestoreTasks)})
	}
	slices.SortFunc(out, func(a, b ui.AddonOption) int { return cmp.Compare(a.Name, b.Name) })
	return out, rv
}

// taskOptions copies an Addon's tasks with their parameters; none gives nil (omitted).
func taskOptions(tasks []kubestash.AddonTask) []ui.TaskOption {
	var out []ui.TaskOption
	for _, t := range tasks {
		to := ui.TaskOption{Name: t.Name}
		for _, p := range t.Parameters {
			to.Parameters = append(to.Parameters, ui.TaskParameter{Name: p.Name, Usage: p.Usage, Required: p.Required, Default: p.Default})
		}
		out = append(out, to)
	}
	return out
}

// byDefaultThenRef orders defaults first, then by "namespace/name".
func byDefaultThenRef(da, db bool, ra, rb string) int {
	if da != db {
		if da {
			return -1
		}
		return 1
	}
	return cmp.Compare(ra, rb)
}
