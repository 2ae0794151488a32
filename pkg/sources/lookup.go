package sources

import (
	"sort"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/tools/cache"

	"github.com/kubestash/backupview/pkg/kubestash"
)

// The lookups read only the informers' caches: no API calls.

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
func (s *Sources) BackupConfiguration(key string) *kubestash.BackupConfiguration {
	return get[kubestash.BackupConfiguration](s.store(kubestash.BackupConfigurations), key)
}

// BackupConfigurations returns every BackupConfiguration (unordered).
func (s *Sources) BackupConfigurations() []*kubestash.BackupConfiguration {
	idx := s.store(kubestash.BackupConfigurations)
	if idx == nil {
		return nil
	}
	return typed[kubestash.BackupConfiguration](idx.List())
}

// BackupSessions returns the sessions that belong to the BackupConfiguration namespace/name.
func (s *Sources) BackupSessions(key string) []*kubestash.BackupSession {
	idx := s.store(kubestash.BackupSessions)
	if idx == nil {
		return nil
	}
	l, _ := idx.ByIndex(byBC, key)
	return typed[kubestash.BackupSession](l)
}

// CronJobs returns the CronJobs in namespace whose controller is the BackupConfiguration with
// this UID (an owner reference across namespaces is not one: CronJobs of a BackupConfiguration
// live in its namespace).
func (s *Sources) CronJobs(namespace, bcUID string) []*kubestash.CronJob {
	idx := s.store(kubestash.CronJobs)
	if idx == nil || bcUID == "" {
		return nil
	}
	l, _ := idx.ByIndex(byOwner, uidKey(namespace, bcUID))
	return typed[kubestash.CronJob](l)
}

// Repository returns the Repository namespace/name, or nil.
func (s *Sources) Repository(ns, name string) *kubestash.Repository {
	return get[kubestash.Repository](s.store(kubestash.Repositories), ns+"/"+name)
}

// BackupStorage returns the BackupStorage namespace/name, or nil.
func (s *Sources) BackupStorage(ns, name string) *kubestash.BackupStorage {
	return get[kubestash.BackupStorage](s.store(kubestash.BackupStorages), ns+"/"+name)
}

// RetentionPolicy returns the RetentionPolicy namespace/name, or nil.
func (s *Sources) RetentionPolicy(ns, name string) *kubestash.RetentionPolicy {
	return get[kubestash.RetentionPolicy](s.store(kubestash.RetentionPolicies), ns+"/"+name)
}

// Addon returns the cluster-scoped Addon, or nil.
func (s *Sources) Addon(name string) *kubestash.Addon {
	return get[kubestash.Addon](s.store(kubestash.Addons), name)
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
		if len(s.bcKeysByIndex(byRef, targetKindKey(gk.Group, gk.Kind))) > 0 {
			s.watchTarget(gk)
		}
	}
}
