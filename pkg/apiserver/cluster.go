package apiserver

import (
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kubestash/backupview/pkg/kubestash"
	"github.com/kubestash/backupview/pkg/render"
	"github.com/kubestash/backupview/pkg/sources"
)

// cluster answers the preview's warnings from the informers' caches.
type cluster struct{ src *sources.Sources }

var _ render.Cluster = cluster{}

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
	return a.BackupTasks, a.RestoreTasks, true
}

// Target resolves a kind not seen before right away (one discovery call, once per kind), so
// that the first preview naming it gets the right warning.
func (c cluster) Target(apiGroup, kind, ns, name string) (kindInstalled, found bool) {
	ref := kubestash.TypedRef{APIGroup: apiGroup, Kind: kind, Namespace: ns, Name: name}
	if _, installed := c.src.Target(ref); !installed {
		c.src.StartTargets([]schema.GroupKind{{Group: sources.NormalizeGroup(apiGroup), Kind: kind}})
		c.src.WaitForTarget(schema.GroupKind{Group: sources.NormalizeGroup(apiGroup), Kind: kind})
	}
	o, installed := c.src.Target(ref)
	return installed, o != nil
}
