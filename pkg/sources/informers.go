package sources

import (
	"context"
	"sort"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"

	"github.com/kubestash/backupview/pkg/kubestash"
)

// startKind starts a source kind: a client-go reflector listing and watching into the kind's
// store (store.go), which reports every change to s.changed as an informer's handlers did.
func (s *Sources) startKind(k *kind) {
	var idx index
	if k.newIndex != nil {
		idx = k.newIndex()
	}
	st := newStore(idx, func(c change) { s.changed(k, c.old, c.obj, c.deleted) })
	lw := observedLW(s.lister.ListerWatcher(k.gvr, k.decode), func(err error) {
		s.mu.Lock()
		k.lastError = err.Error()
		s.mu.Unlock()
	})
	r := cache.NewReflectorWithOptions(lw, &wireObject{}, st, cache.ReflectorOptions{
		Name: k.gvr.GroupResource().String(), TypeDescription: k.gvr.GroupResource().String(),
	})
	gk := schema.GroupKind{Group: k.gvr.Group}
	if m := s.mapping.Load(); m != nil { // poll starts a kind only once discovery serves it
		gk = m.kindFor(k.gvr)
	}
	s.mu.Lock()
	k.store, k.reflector, k.running, k.gk = st, r, true, gk
	s.bump()
	ctx := s.ctx
	s.mu.Unlock()
	klog.InfoS("watching", "resource", k.gvr.String())
	go r.RunWithContext(ctx)
	go s.logSync(ctx, k, st.synced)
}

// notSyncedAfter is how long a source informer may take to list before that is logged.
const notSyncedAfter = 10 * time.Second

// logSync logs a source that does not sync in time, and when it finally does. A kind installed
// after start that cannot be listed (RBAC, a broken conversion webhook, a list that hangs)
// does not make a ready server unready; it is reported here, by NotSynced (a Warning on view
// requests) and by backupview_source_synced.
func (s *Sources) logSync(ctx context.Context, k *kind, synced <-chan struct{}) {
	select {
	case <-synced:
		return
	case <-ctx.Done():
		return
	case <-time.After(notSyncedAfter):
	}
	s.mu.RLock()
	lastError := k.lastError
	s.mu.RUnlock()
	klog.InfoS("source installed but not synced: views warn until it lists", "resource", k.gvr.String(), "waited", notSyncedAfter, "lastError", lastError)
	select {
	case <-synced:
		klog.InfoS("source synced", "resource", k.gvr.String())
	case <-ctx.Done():
	}
}

// watchTargetKind is the BackupConfiguration informer's observer: the target kind a
// BackupConfiguration names gets a metadata informer. This, and StartTargets at start-up, are
// the only ways a target kind is watched; kinds are never dropped (a kind no BackupConfiguration
// references any more keeps its informer), which is bounded by the BackupConfigurations the
// cluster's RBAC lets users create.
func watchTargetKind(s *Sources, o interface{}) {
	if bc, ok := o.(*kubestash.BackupConfiguration); ok && bc.Target != nil && bc.Target.Kind != "" {
		s.watchTarget(schema.GroupKind{Group: kubestash.NormalizeGroup(bc.Target.APIGroup), Kind: bc.Target.Kind})
	}
}

// watchTarget registers a target kind and starts its informer if the last discovery answer
// serves it; otherwise the poll looks for it again.
func (s *Sources) watchTarget(gk schema.GroupKind) {
	s.mu.Lock()
	_, known := s.targets[gk]
	if !known {
		s.targets[gk] = &target{}
	}
	s.mu.Unlock()
	if !known {
		s.resolveTarget(gk)
	}
}

// resolveTarget maps a registered target kind to its resource through the last discovery
// answer (no request) and starts a metadata informer for it.
func (s *Sources) resolveTarget(gk schema.GroupKind) {
	s.mu.RLock()
	ctx := s.ctx
	s.mu.RUnlock()
	m := s.mapping.Load()
	if ctx == nil || m == nil {
		return
	}
	gvr, namespaced, ok := m.resourceFor(gk)
	if !ok {
		klog.V(2).InfoS("target kind not served", "kind", gk.String())
		return
	}
	// The namespace index serves the form options' targets of a namespace (TargetsIn).
	inf := s.metadataInformer(gvr, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc}, func(m *metav1.PartialObjectMetadata) interface{} {
		return &kubestash.Object{Meta: kubestash.Meta{
			Name: m.Name, Namespace: m.Namespace, ResourceVersion: m.ResourceVersion, CreationTimestamp: m.CreationTimestamp,
		}}
	})
	s.reportChanges(inf, gk)
	// A kind backupview may not list (its RBAC grants only some target groups) would never
	// sync: note it, so that nothing waits for it. The informer keeps retrying, and its targets
	// are revisited if it ever syncs (a later RBAC grant).
	_ = inf.SetWatchErrorHandlerWithContext(func(ctx context.Context, r *cache.Reflector, err error) {
		if apierrors.IsForbidden(err) || apierrors.IsUnauthorized(err) {
			s.mu.Lock()
			if tg := s.targets[gk]; tg != nil && !tg.unreadable {
				tg.unreadable = true
				s.bump()
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
	s.bump()
	s.mu.Unlock()
	klog.InfoS("watching target kind", "kind", gk.String(), "resource", gvr.String())
	go inf.RunWithContext(ctx)
	// Targets of this kind read found=false while it was unresolved: once synced, any of its
	// objects may have changed for the sink (Object nil).
	go func() {
		if cache.WaitFor(ctx, "", inf.HasSyncedChecker()) {
			s.report(Change{Kind: gk})
		}
	}()
}

// reportChanges reports an informer's changes of objects of kind gk to the sink.
func (s *Sources) reportChanges(inf cache.SharedIndexInformer, gk schema.GroupKind) {
	_, _ = inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(o interface{}) { s.report(Change{Kind: gk, Object: o, RV: rvOf(o)}) },
		UpdateFunc: func(old, o interface{}) { s.report(Change{Kind: gk, Old: old, Object: o, RV: rvOf(o)}) },
		DeleteFunc: func(o interface{}) {
			if t, ok := o.(cache.DeletedFinalStateUnknown); ok {
				o = t.Obj
			}
			if o == nil { // not a "kind synced" Change
				return
			}
			s.report(Change{Kind: gk, Object: o, RV: rvOf(o), Deleted: true})
		},
	})
}

// metadataInformer is a metadata-only informer of gvr in every namespace whose cache holds
// what keep makes of each object (only the fields backupview reads).
func (s *Sources) metadataInformer(gvr schema.GroupVersionResource, indexers cache.Indexers, keep func(*metav1.PartialObjectMetadata) interface{}) cache.SharedIndexInformer {
	ri := s.meta.Resource(gvr).Namespace(metav1.NamespaceAll)
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) { return ri.List(ctx, o) },
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			return ri.Watch(ctx, o)
		},
	}
	inf := cache.NewSharedIndexInformer(listFirst{lw}, &metav1.PartialObjectMetadata{}, 0, indexers)
	_ = inf.SetTransform(func(o interface{}) (interface{}, error) {
		if m, ok := o.(*metav1.PartialObjectMetadata); ok {
			return keep(m), nil
		}
		return o, nil
	})
	return inf
}

// listFirst makes a metadata informer list before it watches, instead of streaming its initial
// objects (client-go's WatchList). A WatchList first waits for kube-apiserver's cache to be
// provably fresh, which on a quiet cluster takes 100–300 ms; metadata lists are small (WatchList
// is what keeps the big source lists' peak down: docs/benchmarks.md, "What limits each
// figure"), and a target kind's informer starts only after the BackupConfigurations are listed,
// so its wait is added to every start.
type listFirst struct{ *cache.ListWatch }

func (listFirst) IsWatchListSemanticsUnSupported() bool { return true }

// HasSynced reports whether every running informer has synced. Kinds the cluster does not
// serve count as synced (and empty); target informers are not waited for here. It gates the
// first build only: once the views are built, a kind that stops or fails to sync is reported
// by NotSynced, not by readiness.
func (s *Sources) HasSynced() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if !s.started || !s.discovered {
		return false
	}
	for _, k := range s.kinds {
		if k.running && !k.store.hasSynced() {
			return false
		}
	}
	return true
}

// WaitForSync blocks until HasSynced holds or ctx ends.
func (s *Sources) WaitForSync(ctx context.Context) error {
	return s.waitUntil(ctx, func() (bool, []<-chan struct{}) {
		if !s.started || !s.discovered {
			return false, nil
		}
		var synced []<-chan struct{}
		for _, k := range s.kinds {
			if k.running {
				synced = append(synced, k.store.synced)
			}
		}
		return true, synced
	})
}

// WaitForTargets blocks until TargetsSynced holds or ctx ends. A target kind that is
// registered and served but whose informer is still being made (a BackupConfiguration event
// registered it a moment ago) is waited for too: otherwise the first build could run before
// its informer exists and show its targets found=false.
func (s *Sources) WaitForTargets(ctx context.Context) error {
	return s.waitUntil(ctx, func() (bool, []<-chan struct{}) {
		m := s.mapping.Load()
		var synced []<-chan struct{}
		for gk, t := range s.targets {
			switch {
			case t.informer != nil && !t.unreadable:
				synced = append(synced, t.informer.HasSyncedChecker().Done())
			case t.informer == nil && m != nil:
				if _, _, served := m.resourceFor(gk); served {
					return false, nil // resolveTarget bumps once the informer is set
				}
			}
		}
		return true, synced
	})
}

// waitUntil waits for the channels cond names (read under s.mu) to close, starting over
// whenever the sources change meanwhile (bump); ready false waits for the next change.
func (s *Sources) waitUntil(ctx context.Context, cond func() (ready bool, synced []<-chan struct{})) error {
	for {
		s.mu.RLock()
		ready, synced := cond()
		changed := s.stateChanged
		s.mu.RUnlock()
		if ready {
			all := true
			for _, ch := range synced {
				select {
				case <-ch:
					continue
				case <-changed:
				case <-ctx.Done():
					return ctx.Err()
				}
				all = false
				break
			}
			if all {
				return nil
			}
			continue
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// NotSynced names the KubeStash resources (and CronJobs) the cluster serves whose informer
// has not synced: their objects are missing from the views until it does (e.g. backupview may
// not list a CRD installed after start, or its conversion webhook fails).
func (s *Sources) NotSynced() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []string
	for _, k := range s.kinds {
		if k.running && !k.store.hasSynced() {
			out = append(out, k.gvr.GroupResource().String())
		}
	}
	return out
}

// TargetsSynced reports whether every started target informer has synced, except those of
// kinds backupview may not read.
func (s *Sources) TargetsSynced() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, t := range s.targets {
		if t.informer != nil && !t.informer.HasSynced() && !t.unreadable {
			return false
		}
	}
	return true
}

// Status describes each source for metrics and warnings.
type Status struct {
	Resource  string
	Installed bool
	Synced    bool
	Objects   int
	LastError string
}

// Statuses lists every source's state, KubeStash kinds first, then target kinds.
func (s *Sources) Statuses() []Status {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []Status
	for _, k := range s.kinds {
		st := Status{Resource: k.gvr.GroupResource().String(), Installed: k.running, LastError: k.lastError}
		if k.running {
			st.Synced = k.store.hasSynced()
			st.Objects = k.store.len()
		}
		out = append(out, st)
	}
	var ts []Status
	for _, t := range s.targets {
		if !t.installed {
			continue // not watched: no series for a kind that may never exist
		}
		st := Status{Resource: t.gvr.GroupResource().String(), Installed: true, Synced: t.informer.HasSynced(),
			Objects: len(t.informer.GetStore().ListKeys())}
		ts = append(ts, st)
	}
	sort.Slice(ts, func(i, j int) bool { return ts[i].Resource < ts[j].Resource })
	return append(out, ts...)
}

// MissingKinds names the KubeStash resources the cluster does not serve (yet).
func (s *Sources) MissingKinds() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []string
	for _, k := range s.kinds {
		if !k.running {
			out = append(out, k.gvr.GroupResource().String())
		}
	}
	return out
}

// store is the store of a source kind, or nil when the kind is not served (yet).
func (s *Sources) store(gvr schema.GroupVersionResource) *store {
	for _, k := range s.kinds {
		if k.gvr == gvr {
			s.mu.RLock()
			defer s.mu.RUnlock()
			if !k.running {
				return nil
			}
			return k.store
		}
	}
	return nil
}
