package restoresessionpreview

import (
	"github.com/kubestash/backupview/pkg/kubestash"
	"github.com/kubestash/backupview/pkg/registry/backupconfigurationpreview"
	"github.com/kubestash/backupview/pkg/render"
	"github.com/kubestash/backupview/pkg/sources"
)

// Cluster answers the restore preview's warnings (render.RestoreFacts) and the subresource's
// view lookups from the informers' caches. Like the BackupConfiguration preview's, whose
// Addon, Target and Secret answers (and their privacy rule) it shares, it never starts an
// informer nor asks discovery.
func Cluster(src *sources.Sources) interface {
	render.RestoreFacts
	Views
} {
	return cluster{Facts: backupconfigurationpreview.Cluster(src), src: src}
}

type cluster struct {
	render.Facts
	src *sources.Sources
}

func (c cluster) Repository(ns, name string) (*kubestash.TypedRef, bool) {
	r := c.src.Repository(ns, name)
	if r == nil {
		return nil, false
	}
	return r.AppRef, true
}

// Snapshots and Snapshot answer "not checked": the server reads no Snapshot objects, and the
// Repository's recent snapshots are not among the fields it decodes. The restore preview
// then says so in a warning (docs/design.md, "Restore preview": snapshots come from the
// Snapshot informer).
func (cluster) Snapshots(_, _ string) ([]render.SnapshotFact, bool) { return nil, false }

func (cluster) Snapshot(_, _ string) (render.SnapshotFact, bool, bool) {
	return render.SnapshotFact{}, false, false
}

// View returns what the restore-preview subresource takes from the view ns/name: the
// BackupConfiguration's sessions and target.
func (c cluster) View(ns, name string) (View, bool) {
	bc := c.src.BackupConfiguration(ns + "/" + name)
	if bc == nil {
		return View{}, false
	}
	v := View{Target: bc.Target}
	for _, s := range bc.Sessions {
		v.Sessions = append(v.Sessions, ViewSession{Addon: s.Addon, Tasks: s.Tasks, Repositories: s.Repositories})
	}
	return v, true
}
