// Package sources runs the informers backupview joins: BackupConfigurations, BackupSessions,
// Repositories, BackupStorages, RetentionPolicies, Addons and CronJobs, decoded into the small
// structs of package kubestash, plus metadata-only informers for target kinds started on
// demand. It indexes them for the joins and reports which views a change affects.
package sources

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"

	"github.com/kubestash/backupview/pkg/kubestash"
)

// Index names.
const (
	byRef   = "byRef"   // BackupConfigurations by every object they reference
	byUID   = "byUID"   // BackupConfigurations by UID
	byBC    = "byBC"    // BackupSessions by the BackupConfiguration ns/name they belong to
	byOwner = "byOwner" // CronJobs by controller owner UID
)

// Sink receives the keys (namespace/name) of the BackupConfigurations whose views a change
// may affect, the change's resourceVersion, and whether it was a deletion.
type Sink func(keys []string, rv uint64, deleted bool)

// Sources holds the informers and answers the join's lookups from their caches.
type Sources struct {
	dyn       dynamic.Interface
	meta      metadata.Interface
	disco     discovery.DiscoveryInterface
	sink      Sink
	pollEvery time.Duration

	kinds []*kind // the KubeStash kinds and CronJobs, in a fixed order

	mu      sync.RWMutex
	targets map[schema.GroupKind]*target
	secrets cache.SharedIndexInformer // opt-in, metadata only
	started bool
	// discovered: every kind's group version has been answered by discovery at least once
	// (served or not found). Until then a kind that is not running may just be unreachable,
	// not absent, so nothing counts as synced: never an empty list for "not installed".
	discovered bool
	ctx        context.Context
}

// kind is one watched source resource; its informer starts once discovery shows it.
type kind struct {
	gvr       schema.GroupVersionResource
	decode    func(map[string]interface{}) interface{}
	indexers  cache.Indexers
	affected  func(s *Sources, obj interface{}) []string
	informer  cache.SharedIndexInformer
	running   bool
	lastError string
}

// target is a metadata-only informer for one target kind.
type target struct {
	gvr        schema.GroupVersionResource
	namespaced bool
	informer   cache.SharedIndexInformer
	installed  bool // false: the kind is not served by the cluster (targets show found=false)
	// unreadable: listing the kind failed for good (Forbidden: backupview's RBAC does not
	// cover it). Its targets show found=false; it is not waited for.
	unreadable bool
}

// New builds the sources; nothing runs until Start.
func New(dyn dynamic.Interface, meta metadata.Interface, disco discovery.DiscoveryInterface, sink Sink) *Sources {
	s := &Sources{dyn: dyn, meta: meta, disco: disco, sink: sink, pollEvery: 10 * time.Second, targets: map[schema.GroupKind]*target{}}
	s.kinds = []*kind{
		{gvr: kubestash.BackupConfigurations, decode: func(o map[string]interface{}) interface{} { return kubestash.DecodeBackupConfiguration(o) },
			indexers: cache.Indexers{byRef: bcRefs, byUID: bcUID}, affected: self},
		{gvr: kubestash.BackupSessions, decode: func(o map[string]interface{}) interface{} { return kubestash.DecodeBackupSession(o) },
			indexers: cache.Indexers{byBC: sessionBC}, affected: func(_ *Sources, o interface{}) []string { k, _ := sessionBC(o); return k }},
		{gvr: kubestash.Repositories, decode: func(o map[string]interface{}) interface{} { return kubestash.DecodeRepository(o) },
			affected: referrers("repo")},
		{gvr: kubestash.BackupStorages, decode: func(o map[string]interface{}) interface{} { return kubestash.DecodeBackupStorage(o) },
			affected: referrers("storage")},
		{gvr: kubestash.RetentionPolicies, decode: func(o map[string]interface{}) interface{} { return kubestash.DecodeRetentionPolicy(o) },
			affected: referrers("policy")},
		{gvr: kubestash.Addons, decode: func(o map[string]interface{}) interface{} { return kubestash.DecodeAddon(o) },
			affected: func(*Sources, interface{}) []string { return nil }},
		{gvr: kubestash.CronJobs, decode: func(o map[string]interface{}) interface{} { return kubestash.DecodeCronJob(o) },
			indexers: cache.Indexers{byOwner: cronOwner}, affected: cronJobBC},
	}
	return s
}

// SetPollInterval sets how often missing CRDs and target kinds are looked for again.
func (s *Sources) SetPollInterval(d time.Duration) { s.pollEvery = d }

// Start starts the informers of every kind the cluster serves, and keeps looking for the
// others (KubeStash may be installed later) until ctx ends.
func (s *Sources) Start(ctx context.Context) {
	s.mu.Lock()
	s.ctx, s.started = ctx, true
	s.mu.Unlock()
	s.startSecrets()
	s.discover()
	go func() {
		for {
			// Until discovery has answered once, retry soon: readiness waits for it.
			s.mu.RLock()
			discovered := s.discovered
			s.mu.RUnlock()
			wait := s.pollEvery
			if !discovered && wait > time.Second {
				wait = time.Second
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
				s.discover()
			}
		}
	}()
}

// discover starts informers for kinds that have become available and resolves target kinds
// that were not installed before.
func (s *Sources) discover() {
	served := map[schema.GroupVersion]map[string]bool{}
	isServed := func(gvr schema.GroupVersionResource) (bool, error) {
		gv := gvr.GroupVersion()
		if r, ok := served[gv]; ok {
			return r[gvr.Resource], nil
		}
		list, err := s.disco.ServerResourcesForGroupVersion(gv.String())
		if err != nil {
			if isNotFound(err) {
				served[gv] = map[string]bool{}
				return false, nil
			}
			return false, err
		}
		r := map[string]bool{}
		for _, res := range list.APIResources {
			r[res.Name] = true
		}
		served[gv] = r
		return r[gvr.Resource], nil
	}
	failed := false
	for _, k := range s.kinds {
		s.mu.RLock()
		running := k.running
		s.mu.RUnlock()
		if running {
			continue
		}
		ok, err := isServed(k.gvr)
		if err != nil {
			klog.V(2).InfoS("discovery failed", "groupVersion", k.gvr.GroupVersion(), "err", err)
			failed = true
			continue
		}
		if ok {
			s.startKind(k)
		}
	}
	if !failed {
		s.mu.Lock()
		s.discovered = true
		s.mu.Unlock()
	}
	s.mu.RLock()
	var pending []schema.GroupKind
	for gk, t := range s.targets {
		if !t.installed {
			pending = append(pending, gk)
		}
	}
	s.mu.RUnlock()
	for _, gk := range pending {
		s.resolveTarget(gk)
	}
}

func (s *Sources) startKind(k *kind) {
	// No namespace index: nothing looks objects up by namespace, and it cost a set entry per
	// object (about 16 MB at 140,000 objects).
	inf := dynamicinformer.NewFilteredDynamicInformer(s.dyn, k.gvr, metav1.NamespaceAll, 0, cache.Indexers{}, nil).Informer()
	if len(k.indexers) > 0 {
		if err := inf.AddIndexers(k.indexers); err != nil {
			panic(err) // programming error: duplicate index names
		}
	}
	decode := k.decode
	_ = inf.SetTransform(func(o interface{}) (interface{}, error) {
		if u, ok := o.(*unstructured.Unstructured); ok {
			return decode(u.Object), nil
		}
		return o, nil
	})
	_, _ = inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(o interface{}) { s.changed(k, nil, o, false) },
		UpdateFunc: func(old, o interface{}) { s.changed(k, old, o, false) },
		DeleteFunc: func(o interface{}) {
			if t, ok := o.(cache.DeletedFinalStateUnknown); ok {
				o = t.Obj
			}
			s.changed(k, nil, o, true)
		},
	})
	_ = inf.SetWatchErrorHandlerWithContext(func(ctx context.Context, r *cache.Reflector, err error) {
		s.mu.Lock()
		k.lastError = err.Error()
		s.mu.Unlock()
		cache.DefaultWatchErrorHandler(ctx, r, err)
	})
	s.mu.Lock()
	k.informer, k.running = inf, true
	ctx := s.ctx
	s.mu.Unlock()
	klog.InfoS("watching", "resource", k.gvr.String())
	go inf.RunWithContext(ctx)
}

func (s *Sources) changed(k *kind, old, obj interface{}, deleted bool) {
	keys := k.affected(s, obj)
	if old != nil {
		keys = append(keys, k.affected(s, old)...)
	}
	if len(keys) == 0 {
		return
	}
	s.sink(dedup(keys), rvOf(obj), deleted)
}

// HasSynced reports whether every running informer has synced. Kinds the cluster does not
// serve count as synced (and empty); target informers are not waited for here.
func (s *Sources) HasSynced() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if !s.started || !s.discovered {
		return false
	}
	for _, k := range s.kinds {
		if k.running && !k.informer.HasSynced() {
			return false
		}
	}
	return true
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
			st.Synced = k.informer.HasSynced()
			st.Objects = len(k.informer.GetStore().ListKeys())
		}
		out = append(out, st)
	}
	var ts []Status
	for _, t := range s.targets {
		st := Status{Resource: t.gvr.GroupResource().String(), Installed: t.installed}
		if t.informer != nil {
			st.Synced = t.informer.HasSynced()
			st.Objects = len(t.informer.GetStore().ListKeys())
		}
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

func (s *Sources) store(gvr schema.GroupVersionResource) cache.Indexer {
	for _, k := range s.kinds {
		if k.gvr == gvr {
			s.mu.RLock()
			defer s.mu.RUnlock()
			if !k.running {
				return nil
			}
			return k.informer.GetIndexer()
		}
	}
	return nil
}

func rvOf(o interface{}) uint64 {
	type rv interface{ GetResourceVersion() string }
	if m, ok := o.(rv); ok {
		n, _ := strconv.ParseUint(m.GetResourceVersion(), 10, 64)
		return n
	}
	return 0
}

func dedup(keys []string) []string {
	if len(keys) < 2 {
		return keys
	}
	sort.Strings(keys)
	out := keys[:1]
	for _, k := range keys[1:] {
		if k != out[len(out)-1] {
			out = append(out, k)
		}
	}
	return out
}

func isNotFound(err error) bool {
	type status interface{ Status() metav1.Status }
	if se, ok := err.(status); ok {
		return se.Status().Code == 404
	}
	return false
}

// String is for logs.
func (s *Sources) String() string { return fmt.Sprintf("%d kinds", len(s.kinds)) }
