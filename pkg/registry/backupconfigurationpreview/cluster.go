package backupconfigurationpreview

import (
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kubestash/backupview/pkg/kubestash"
	"github.com/kubestash/backupview/pkg/render"
	"github.com/kubestash/backupview/pkg/sources"
)

// Cluster answers the preview's warnings (render.Facts) from the informers' caches. It never
// starts an informer nor asks discovery: what a user types must not change what backupview
// watches.
func Cluster(src *sources.Sources) render.Facts { return cluster{src} }

type cluster struct{ src *sources.Sources }

func (c cluster) BackupStorage(ns, name, fromNS string) (exists bool, denied string) {
	s := c.src.BackupStorage(ns, name)
	if s == nil {
		return false, ""
	}
	return true, c.denial(s.UsagePolicy, ns, fromNS)
}

func (c cluster) RetentionPolicy(ns, name, fromNS string) (exists bool, denied string) {
	p := c.src.RetentionPolicy(ns, name)
	if p == nil {
		return false, ""
	}
	return true, c.denial(p.UsagePolicy, ns, fromNS)
}

// denial applies the usagePolicy rule the form options use. A namespace not known (yet) has
// no labels: a Selector then does not admit it, as KubeStash would not.
func (c cluster) denial(p kubestash.UsagePolicy, own, fromNS string) string {
	var labels map[string]string
	if n := c.src.Namespace(fromNS); n != nil {
		labels = n.Labels
	}
	return p.Denial(own, fromNS, labels)
}

func (c cluster) BackupConfigurationExists(ns, name string) bool {
	return c.src.BackupConfiguration(ns+"/"+name) != nil
}

func (c cluster) Addon(name string) (backupTasks, restoreTasks []string, found bool) {
	a := c.src.Addon(name)
	if a == nil {
		return nil, nil, false
	}
	return a.BackupTaskNames(), a.RestoreTaskNames(), true
}

// Target answers from the target informers, which run for the form target kinds (server
// configuration) and the kinds BackupConfigurations back up. It answers found or not found
// only for a kind watched for the preview's own namespace (Sources.WatchedFor): whether a kind
// is watched otherwise depends on other namespaces' BackupConfigurations, which the preview
// must not reveal. Anything else is TargetNotChecked (never "not found": that would be a guess).
func (c cluster) Target(apiGroup, kind, ns, name, fromNS string) render.TargetState {
	gk := schema.GroupKind{Group: kubestash.NormalizeGroup(apiGroup), Kind: kind}
	if !c.src.KindServed(gk) {
		return render.TargetKindNotServed
	}
	if !c.src.WatchedFor(fromNS, gk) {
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

// Secret answers only while --check-encryption-secrets has the Secrets' metadata watched.
func (c cluster) Secret(ns, name string) (exists, checked bool) { return c.src.SecretExists(ns, name) }
