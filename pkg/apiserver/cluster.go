package apiserver

import (
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kubestash/backupview/pkg/kubestash"
	"github.com/kubestash/backupview/pkg/render"
	"github.com/kubestash/backupview/pkg/sources"
)

// cluster answers the preview's warnings from the informers' caches. It never starts an
// informer nor asks discovery: what a user types must not change what backupview watches.
type cluster struct{ src *sources.Sources }

var _ render.Facts = cluster{}

func (c cluster) BackupStorageExists(ns, name string) bool {
	return c.src.BackupStorage(ns, name) != nil
}
func (c cluster) RetentionPolicyExists(ns, name string) bool {
	return c.src.RetentionPolicy(ns, name) != nil
}
func (c cluster) BackupConfigurationExists(ns, name string) bool {
	return c.src.BackupConfiguration(ns+"/"+name) != nil
}

func (c cluster) Addon(name string) (backupTasks, restoreTasks []string, found bool) {
	a := c.src.Addon(name)
	if a == nil {
		return nil, nil, false
	}
	return a.BackupTaskNames(), a.RestoreTasks, true
}

// Target answers from the target informers, which run only for the kinds BackupConfigurations
// back up. It answers found or not found only when a BackupConfiguration of the preview's own
// namespace backs the kind up: whether a kind is watched otherwise depends on other
// namespaces' BackupConfigurations, which the preview must not reveal. Anything else is
// TargetNotChecked (never "not found": that would be a guess).
func (c cluster) Target(apiGroup, kind, ns, name, fromNS string) render.TargetState {
	gk := schema.GroupKind{Group: kubestash.NormalizeGroup(apiGroup), Kind: kind}
	if !c.src.KindServed(gk) {
		return render.TargetKindNotServed
	}
	if !c.backedUpIn(fromNS, gk) {
		return render.TargetNotChecked
	}
	o, watched := c.src.Target(kubestash.TypedRef{APIGroup: apiGroup, Kind: kind, Namespace: ns, Name: name})
	switch {
	case !watched:
		return render.TargetNotChecked
	case o == nil:
		return render.TargetNotFound
	}
	return render.TargetFound
}

// backedUpIn reports whether a BackupConfiguration in namespace ns targets kind gk.
func (c cluster) backedUpIn(ns string, gk schema.GroupKind) bool {
	for _, bc := range c.src.BackupConfigurations() {
		if bc.Namespace == ns && bc.Target != nil && bc.Target.Kind == gk.Kind && kubestash.NormalizeGroup(bc.Target.APIGroup) == gk.Group {
			return true
		}
	}
	return false
}
