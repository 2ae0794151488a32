package restoresessionpreview

import (
	"slices"

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

// Snapshots answers from the Snapshot store, newest first (kubestash.NewestSnapshotFirst);
// "not checked" while Snapshots are not listed.
func (c cluster) Snapshots(ns, repository string) ([]render.SnapshotFact, bool) {
	l, synced := c.src.Snapshots(ns, repository)
	if !synced {
		return nil, false
	}
	slices.SortFunc(l, kubestash.NewestSnapshotFirst)
	out := make([]render.SnapshotFact, len(l))
	for i, sn := range l {
		out[i] = snapshotFact(sn)
	}
	return out, true
}

func (c cluster) Snapshot(ns, name string) (render.SnapshotFact, bool, bool) {
	sn, synced := c.src.Snapshot(ns, name)
	if !synced || sn == nil {
		return render.SnapshotFact{}, false, synced
	}
	return snapshotFact(sn), true, true
}

func snapshotFact(sn *kubestash.Snapshot) render.SnapshotFact {
	f := render.SnapshotFact{Name: sn.Name, Repository: sn.Repository, Time: sn.SnapshotTime, Phase: sn.Phase,
		Size: sn.Size, VerificationStatus: sn.VerificationStatus}
	// A Snapshot that lists no components (not finished) says nothing of which it will hold.
	for _, comp := range sn.Components {
		f.Components = append(f.Components, comp.Name)
	}
	return f
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
