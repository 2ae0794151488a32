package sources

import (
	"slices"
	"sort"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/tools/cache"

	"github.com/kubestash/backupview/pkg/kubestash"
)

// The lookups read only the stores and the target informers' caches: no API calls.

func get[T any](idx cache.Indexer, key string) *T {
	if idx == nil {
		return nil
	}
	o, ok, _ := idx.GetByKey(key)
	if !ok {
		return nil
	}
	t, _ := o.(*T)
	return t
}

// typed keeps the cached objects of type *T (the transforms store only those).
func typed[T any](l []interface{}) []*T {
	out := make([]*T, 0, len(l))
	for _, o := range l {
		if t, ok := o.(*T); ok {
			out = append(out, t)
		}
	}
	return out
}

// BackupConfiguration returns the BackupConfiguration namespace/name, or nil.
func (s *Sources) BackupConfiguration(k string) *kubestash.BackupConfiguration {
	return one[kubestash.BackupConfiguration](s.store(kubestash.BackupConfigurations), splitKey(k))
}

// BackupConfigurations returns every BackupConfiguration (unordered).
func (s *Sources) BackupConfigurations() []*kubestash.BackupConfiguration {
	return all[kubestash.BackupConfiguration](s.store(kubestash.BackupConfigurations))
}

// BackupSessions returns the sessions that belong to the BackupConfiguration namespace/name.
func (s *Sources) BackupSessions(bcKey string) []*kubestash.BackupSession {
	st := s.store(kubestash.BackupSessions)
	if st == nil {
		return nil
	}
	st.mu.RLock()
	defer st.mu.RUnlock()
	return slices.Clone(st.index.(*sessionIndex).byBC[splitKey(bcKey)])
}

// CronJobs returns the CronJobs in namespace whose controller is the BackupConfiguration with
// this UID (an owner reference across namespaces is not one: CronJobs of a BackupConfiguration
// live in its namespace).
func (s *Sources) CronJobs(namespace, bcUID string) []*kubestash.CronJob {
	st := s.store(kubestash.CronJobs)
	if st == nil || bcUID == "" {
		return nil
	}
	st.mu.RLock()
	defer st.mu.RUnlock()
	return slices.Clone(st.index.(*cronIndex).byOwner[uidKey(namespace, bcUID)])
}

// Repository returns the Repository namespace/name, or nil.
func (s *Sources) Repository(ns, name string) *kubestash.Repository {
	return one[kubestash.Repository](s.store(kubestash.Repositories), key{ns, name})
}

// BackupStorage returns the BackupStorage namespace/name, or nil.
func (s *Sources) BackupStorage(ns, name string) *kubestash.BackupStorage {
	return one[kubestash.BackupStorage](s.store(kubestash.BackupStorages), key{ns, name})
}

// RetentionPolicy returns the RetentionPolicy namespace/name, or nil.
func (s *Sources) RetentionPolicy(ns, name string) *kubestash.RetentionPolicy {
	return one[kubestash.RetentionPolicy](s.store(kubestash.RetentionPolicies), key{ns, name})
}

// Addon returns the cluster-scoped Addon, or nil.
func (s *Sources) Addon(name string) *kubestash.Addon {
	return one[kubestash.Addon](s.store(kubestash.Addons), key{name: name})
}

// Target looks a target up in its kind's metadata informer. installed is false when the kind
// is not watched: not served, or no BackupConfiguration references it. It only reads caches;
// it never starts or registers anything, so a request cannot change what is watched.
func (s *Sources) Target(t kubestash.TypedRef) (obj *kubestash.Object, installed bool) {
	gk := schema.GroupKind{Group: kubestash.NormalizeGroup(t.APIGroup), Kind: t.Kind}
	s.mu.RLock()
	tg := s.targets[gk]
	var inf cache.SharedIndexInformer
	var namespaced bool
	if tg != nil && tg.installed {
		inf, namespaced = tg.informer, tg.namespaced
	}
	s.mu.RUnlock()
	if inf == nil {
		return nil, false
	}
	key := t.Name
	if namespaced {
		key = t.Namespace + "/" + t.Name
	}
	return get[kubestash.Object](inf.GetIndexer(), key), true
}

// TargetKinds lists the target kinds referenced by the BackupConfigurations, so their
// informers can start (and sync) before the server reports ready.
func (s *Sources) TargetKinds() []schema.GroupKind {
	seen := map[schema.GroupKind]bool{}
	for _, bc := range s.BackupConfigurations() {
		if bc.Target != nil && bc.Target.Kind != "" {
			seen[schema.GroupKind{Group: kubestash.NormalizeGroup(bc.Target.APIGroup), Kind: bc.Target.Kind}] = true
		}
	}
	out := make([]schema.GroupKind, 0, len(seen))
	for gk := range seen {
		out = append(out, gk)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}

// StartTargets watches those of the given target kinds that BackupConfigurations reference
// (the BackupConfiguration informer's events do too; this lets start-up have them all before
// waiting for TargetsSynced). Other kinds are ignored. No request: kinds resolve through the
// last discovery answer, or at a later poll.
func (s *Sources) StartTargets(kinds []schema.GroupKind) {
	for _, gk := range kinds {
		if len(s.bcsReferencing(targetKindRef(gk.Group, gk.Kind))) > 0 {
			s.watchTarget(gk)
		}
	}
}
