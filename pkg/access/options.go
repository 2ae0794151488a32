package access

import (
	"context"

	ui "github.com/kubestash/backupview/pkg/apis/ui/v1alpha1"
	"github.com/kubestash/backupview/pkg/kubestash"
)

var addons = kubestash.Addons

// RedactOptions is the options storage's Redact hook: for the caller of one request, the
// function that drops from a namespace's BackupConfigurationOptions every entry the caller
// may not get (docs/design.md, "Form options"). Unlike a view, the options of a namespace
// say nothing on their own: each entry is an object, shown only if the caller may get its
// kind in its namespace (Addons: cluster-wide).
func (c *Checker) RedactOptions(ctx context.Context) func(*ui.BackupConfigurationOptions) *ui.BackupConfigurationOptions {
	return c.For(ctx).RedactOptions
}

// RedactOptions is Checker.RedactOptions for this caller. It returns o itself when the caller
// may see everything, and otherwise a shallow copy with new slices; it never modifies o.
func (a *Caller) RedactOptions(o *ui.BackupConfigurationOptions) *ui.BackupConfigurationOptions {
	a.mu.Lock()
	defer a.mu.Unlock()
	may := func(k rkey) bool { ok, _ := a.mayGet(k); return ok }
	out := *o
	changed := false
	if l, c := filter(o.Storages, func(s ui.StorageOption) bool { return may(rkey{storages.Group, storages.Resource, s.Namespace}) }); c {
		out.Storages, changed = l, true
	}
	if l, c := filter(o.RetentionPolicies, func(p ui.RetentionPolicyOption) bool {
		return may(rkey{policies.Group, policies.Resource, p.Namespace})
	}); c {
		out.RetentionPolicies, changed = l, true
	}
	if len(o.Addons) > 0 && !may(rkey{addons.Group, addons.Resource, ""}) {
		out.Addons, changed = nil, true
	}
	// A namespace holds many targets of few kinds: map each kind to its resource once.
	kinds := map[[2]string]rkey{}
	if l, c := filter(o.Targets, func(t ui.TargetOption) bool {
		gk := [2]string{t.APIGroup, t.Kind}
		k, ok := kinds[gk]
		if !ok {
			k = a.kindKey(t.APIGroup, t.Kind, o.Namespace)
			kinds[gk] = k
		}
		return may(k)
	}); c {
		out.Targets, changed = l, true
	}
	if len(o.EncryptionSecrets) > 0 && !may(rkey{"", "secrets", o.Namespace}) {
		out.EncryptionSecrets, changed = nil, true
	}
	if !changed {
		return o
	}
	return &out
}

// filter returns the entries ok keeps, in a new slice, and whether any was dropped.
func filter[T any](l []T, ok func(T) bool) ([]T, bool) {
	var out []T
	for i, e := range l {
		if !ok(e) {
			if out == nil {
				out = append(make([]T, 0, len(l)-1), l[:i]...)
			}
			continue
		}
		if out != nil {
			out = append(out, e)
		}
	}
	if out == nil {
		return l, false
	}
	return out, true
}
