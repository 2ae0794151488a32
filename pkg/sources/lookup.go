package sources

import (
	"context"
	"sort"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"

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

// CronJobs returns the CronJobs whose controller is the BackupConfiguration with this UID.
func (s *Sources) CronJobs(uid string) []*kubestash.CronJob {
	idx := s.store(kubestash.CronJobs)
	if idx == nil || uid == "" {
		return nil
	}
	l, _ := idx.ByIndex(byOwner, uid)
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
// is not served (or not resolved yet); the first lookup of a kind starts its informer.
func (s *Sources) Target(t kubestash.TypedRef) (obj *kubestash.Object, installed bool) {
	gk := schema.GroupKind{Group: NormalizeGroup(t.APIGroup), Kind: t.Kind}
	if gk.Kind == "" {
		return nil, false
	}
	s.mu.RLock()
	tg, known := s.targets[gk]
	s.mu.RUnlock()
	if !known {
		s.mu.Lock()
		if _, known = s.targets[gk]; !known {
			s.targets[gk] = &target{}
		}
		s.mu.Unlock()
		if !known {
			go s.resolveTarget(gk)
		}
		return nil, false
	}
	s.mu.RLock()
	inf, ok, namespaced := tg.informer, tg.installed, tg.namespaced
	s.mu.RUnlock()
	if !ok || inf == nil {
		return nil, false
	}
	key := t.Name
	if namespaced {
		key = t.Namespace + "/" + t.Name
	}
	return get[kubestash.Object](inf.GetIndexer(), key), true
}

// resolveTarget maps a target kind to its resource through discovery and starts a metadata
// informer for it. A kind the cluster does not serve stays unresolved until a later poll.
func (s *Sources) resolveTarget(gk schema.GroupKind) {
	s.mu.RLock()
	ctx := s.ctx
	s.mu.RUnlock()
	if ctx == nil {
		return
	}
	gvr, namespaced, err := s.resourceFor(gk)
	if err != nil {
		klog.V(2).InfoS("target kind not served", "kind", gk.String(), "err", err)
		return
	}
	inf := metadatainformer.NewFilteredMetadataInformer(s.meta, gvr, metav1.NamespaceAll, 0, cache.Indexers{}, nil).Informer()
	_ = inf.SetTransform(func(o interface{}) (interface{}, error) {
		if m, ok := o.(*metav1.PartialObjectMetadata); ok {
			return &kubestash.Object{ObjectMeta: metav1.ObjectMeta{
				Name: m.Name, Namespace: m.Namespace, UID: m.UID, ResourceVersion: m.ResourceVersion, CreationTimestamp: m.CreationTimestamp,
			}}, nil
		}
		return o, nil
	})
	notify := func(o interface{}, deleted bool) {
		type nn interface {
			GetNamespace() string
			GetName() string
		}
		if t, ok := o.(cache.DeletedFinalStateUnknown); ok {
			o = t.Obj
		}
		m, ok := o.(nn)
		if !ok {
			return
		}
		keys := s.bcKeysByIndex(byRef, targetKey(&kubestash.TypedRef{APIGroup: gk.Group, Kind: gk.Kind, Namespace: m.GetNamespace(), Name: m.GetName()}))
		if len(keys) > 0 {
			s.sink(keys, rvOf(o), deleted)
		}
	}
	_, _ = inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(o interface{}) { notify(o, false) },
		UpdateFunc: func(_, o interface{}) { notify(o, false) },
		DeleteFunc: func(o interface{}) { notify(o, true) },
	})
	// A kind backupview may not list (its RBAC grants only some target groups) would never
	// sync: note it, so that nothing waits for it. The informer keeps retrying, and its targets
	// are revisited if it ever syncs (a later RBAC grant).
	_ = inf.SetWatchErrorHandlerWithContext(func(ctx context.Context, r *cache.Reflector, err error) {
		if apierrors.IsForbidden(err) || apierrors.IsUnauthorized(err) {
			s.mu.Lock()
			if tg := s.targets[gk]; tg != nil && !tg.unreadable {
				tg.unreadable = true
				klog.InfoS("target kind not readable: its targets show found=false", "kind", gk.String(), "err", err)
			}
			s.mu.Unlock()
		}
		cache.DefaultWatchErrorHandler(ctx, r, err)
	})
	s.mu.Lock()
	tg := s.targets[gk]
	if tg == nil || tg.installed {
		s.mu.Unlock()
		return
	}
	tg.gvr, tg.namespaced, tg.informer, tg.installed = gvr, namespaced, inf, true
	s.mu.Unlock()
	klog.InfoS("watching target kind", "kind", gk.String(), "resource", gvr.String())
	go inf.RunWithContext(ctx)
	// Views of this kind showed found=false while it was unresolved: revisit them once synced.
	go func() {
		if cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
			if keys := s.bcKeysByIndex(byRef, targetKindKey(gk.Group, gk.Kind)); len(keys) > 0 {
				s.sink(keys, 0, false)
			}
		}
	}()
}

func (s *Sources) resourceFor(gk schema.GroupKind) (schema.GroupVersionResource, bool, error) {
	groups, err := s.disco.ServerGroups()
	if err != nil {
		return schema.GroupVersionResource{}, false, err
	}
	for _, g := range groups.Groups {
		if g.Name != gk.Group {
			continue
		}
		versions := []string{g.PreferredVersion.Version}
		for _, v := range g.Versions {
			if v.Version != g.PreferredVersion.Version {
				versions = append(versions, v.Version)
			}
		}
		for _, v := range versions {
			gv := schema.GroupVersion{Group: gk.Group, Version: v}
			list, err := s.disco.ServerResourcesForGroupVersion(gv.String())
			if err != nil {
				continue
			}
			for _, r := range list.APIResources {
				if r.Kind == gk.Kind && !containsSlash(r.Name) {
					return gv.WithResource(r.Name), r.Namespaced, nil
				}
			}
		}
	}
	return schema.GroupVersionResource{}, false, &meta.NoKindMatchError{GroupKind: gk}
}

func containsSlash(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == '/' {
			return true
		}
	}
	return false
}

// TargetKinds lists the target kinds referenced by the BackupConfigurations, so their
// informers can start (and sync) before the server reports ready.
func (s *Sources) TargetKinds() []schema.GroupKind {
	seen := map[schema.GroupKind]bool{}
	for _, bc := range s.BackupConfigurations() {
		if bc.Target != nil && bc.Target.Kind != "" {
			seen[schema.GroupKind{Group: NormalizeGroup(bc.Target.APIGroup), Kind: bc.Target.Kind}] = true
		}
	}
	out := make([]schema.GroupKind, 0, len(seen))
	for gk := range seen {
		out = append(out, gk)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}

// StartTargets resolves the given target kinds now (synchronously), so that a caller can
// wait for TargetsSynced before serving.
func (s *Sources) StartTargets(kinds []schema.GroupKind) {
	for _, gk := range kinds {
		s.mu.Lock()
		if _, ok := s.targets[gk]; !ok {
			s.targets[gk] = &target{}
		}
		s.mu.Unlock()
		s.resolveTarget(gk)
	}
}

// WaitForTarget waits (at most 5 s) until the informer of a resolved target kind has synced.
func (s *Sources) WaitForTarget(gk schema.GroupKind) {
	s.mu.RLock()
	t := s.targets[gk]
	var inf cache.SharedIndexInformer
	if t != nil {
		inf = t.informer
	}
	ctx := s.ctx
	s.mu.RUnlock()
	if inf == nil || ctx == nil {
		return
	}
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	cache.WaitForCacheSync(wctx.Done(), inf.HasSynced)
}
