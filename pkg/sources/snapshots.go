package sources

import (
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubestash/backupview/pkg/kubestash"
)

// snapshotIndex holds the Snapshots by their Repository (namespace and spec.repository).
type snapshotIndex struct {
	byRepo groupIndex[kubestash.Snapshot]
}

func newSnapshotIndex() index { x := &snapshotIndex{}; x.reset(); return x }

func (x *snapshotIndex) reset() { x.byRepo = groupIndex[kubestash.Snapshot]{} }

func (x *snapshotIndex) move(old, obj metav1.Object) { moveGroup(x.byRepo, old, obj, snapshotRepo) }

func snapshotRepo(s *kubestash.Snapshot) (key, bool) {
	return key{s.Namespace, s.Repository}, s.Repository != ""
}

// Snapshots returns the Snapshots of the Repository ns/repository (unordered); synced is false
// while the Snapshots are not listed (the CRD is not served, or not synced yet), when none
// can be said to be missing.
func (s *Sources) Snapshots(ns, repository string) (snapshots []*kubestash.Snapshot, synced bool) {
	st := s.store(kubestash.Snapshots)
	if st == nil || !st.hasSynced() {
		return nil, false
	}
	st.mu.RLock()
	defer st.mu.RUnlock()
	return slices.Clone(st.index.(*snapshotIndex).byRepo[key{ns, repository}]), true
}

// Snapshot returns the Snapshot ns/name, or nil; synced as for Snapshots.
func (s *Sources) Snapshot(ns, name string) (snapshot *kubestash.Snapshot, synced bool) {
	st := s.store(kubestash.Snapshots)
	if st == nil || !st.hasSynced() {
		return nil, false
	}
	return one[kubestash.Snapshot](st, key{ns, name}), true
}
