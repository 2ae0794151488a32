// Package sources lists and watches what backupview joins: BackupConfigurations,
// BackupSessions, Repositories, BackupStorages, RetentionPolicies, Addons, CronJobs, Snapshots,
// BackupVerifiers and BackupVerificationSessions, decoded
// into the small structs of package kubestash and kept in a store of its own (docs/design.md,
// "The sources' store"), plus metadata-only informers for the target kinds that
// BackupConfigurations reference. It indexes them for the joins and reports which views a
// change affects.
//
// What is watched is decided by the cluster's objects only, never by a request: reflectors
// start for the KubeStash kinds the cluster serves, informers for the target kinds
// BackupConfigurations name. Lookups (this package's exported readers) only read caches.
//
// Files: sources.go (the Sources type and its poll loop), informers.go (starting and
// reporting the sources and target informers), store.go (the sources' store), mapping.go
// (discovery: which kinds the cluster serves), index.go (the store's indexes and which views a
// change affects), lookup.go (the joins' reads), secrets.go (the opt-in Secret names check).
package sources

import (
	"context"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/tools/cache"

	"github.com/kubestash/backupview/pkg/kubestash"
)

// Sink receives the keys (namespace/name) of the BackupConfigurations whose views a change
// may affect, the change's resourceVersion, and whether it was a deletion.
type Sink func(keys []string, rv uint64, deleted bool)

// Sources holds the informers and answers the join's lookups from their caches.
type Sources struct {
	lister    Lister
	meta      metadata.Interface
	disco     discovery.CachedDiscoveryInterface // filled by refreshMapping only
	sink      Sink
	pollEvery time.Duration

	kinds []*kind // the KubeStash kinds and CronJobs, in a fixed order

	// mapping is the last answer of discovery; lookups read it, only the poll replaces it.
	mapping atomic.Pointer[mapping]
	// askedUnknown: KindServed answered "not served" since the last refresh.
	askedUnknown atomic.Bool

	mu sync.RWMutex
	// targets holds the target kinds BackupConfigurations reference (or referenced), each
	// with its informer once the kind is served.
	targets map[schema.GroupKind]*target
	secrets cache.SharedIndexInformer // opt-in, metadata only
	// namespaces and formSink: the form options' sources (options.go), set by SetFormSink.
	namespaces cache.SharedIndexInformer
	formSink   FormSink
	// formKinds are the target kinds watched by configuration (WatchFormTargetKinds).
	formKinds map[schema.GroupKind]bool
	started   bool
	// discovered: discovery has answered for every kind's group version at least once
	// (served or not). Until then a kind that is not running may just be unreachable, not
	// absent, so nothing counts as synced: never an empty list for "not installed".
	discovered bool
	// stateChanged is closed and replaced (bump, under mu) whenever what WaitForSync and
	// WaitForTargets wait for changes: discovery answered, an informer started, a target kind
	// found unreadable.
	stateChanged chan struct{}
	ctx          context.Context
}

// bump wakes the waiters; the caller holds s.mu for writing.
func (s *Sources) bump() {
	close(s.stateChanged)
	s.stateChanged = make(chan struct{})
}

// kind is one watched source resource; its reflector and store start once discovery shows it.
type kind struct {
	gvr    schema.GroupVersionResource
	decode Decoder
	// newIndex makes the store's index (index.go); nil: none.
	newIndex func() index
	affected func(s *Sources, obj interface{}) []string
	// observe, when set, sees every added or updated object before its views are notified.
	observe func(s *Sources, obj interface{})
	// options, when set, routes a change to the form options it affects (options.go).
	options   func(s *Sources, obj interface{})
	store     *store
	reflector *cache.Reflector
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
func New(lister Lister, meta metadata.Interface, disco discovery.DiscoveryInterface, sink Sink) *Sources {
	s := &Sources{lister: lister, meta: meta, disco: memory.NewMemCacheClient(disco), sink: sink, pollEvery: DefaultPollInterval,
		targets: map[schema.GroupKind]*target{}, formKinds: map[schema.GroupKind]bool{}, stateChanged: make(chan struct{})}
	s.kinds = []*kind{
		{gvr: kubestash.BackupConfigurations, decode: func(d []byte) metav1.Object { return kubestash.DecodeBackupConfiguration(d) },
			newIndex: newBCIndex, affected: self, observe: watchTargetKind},
		{gvr: kubestash.BackupSessions, decode: func(d []byte) metav1.Object { return kubestash.DecodeBackupSession(d) },
			newIndex: newSessionIndex, affected: sessionAffects},
		{gvr: kubestash.Repositories, decode: func(d []byte) metav1.Object { return kubestash.DecodeRepository(d) },
			affected: referrers(refRepo)},
		{gvr: kubestash.BackupStorages, decode: func(d []byte) metav1.Object { return kubestash.DecodeBackupStorage(d) },
			affected: referrers(refStorage), options: everyNamespaceOptions},
		{gvr: kubestash.RetentionPolicies, decode: func(d []byte) metav1.Object { return kubestash.DecodeRetentionPolicy(d) },
			affected: referrers(refPolicy), options: everyNamespaceOptions},
		{gvr: kubestash.Addons, decode: func(d []byte) metav1.Object { return kubestash.DecodeAddon(d) },
			affected: func(*Sources, interface{}) []string { return nil }, options: everyNamespaceOptions},
		{gvr: kubestash.CronJobs, decode: func(d []byte) metav1.Object { return kubestash.DecodeCronJob(d) },
			newIndex: newCronIndex, affected: cronJobBC},
		{gvr: kubestash.Snapshots, decode: func(d []byte) metav1.Object { return kubestash.DecodeSnapshot(d) },
			newIndex: newSnapshotIndex, affected: snapshotAffects},
		{gvr: kubestash.BackupVerifiers, decode: func(d []byte) metav1.Object { return kubestash.DecodeBackupVerifier(d) },
			affected: referrers(refVerifier)},
		{gvr: kubestash.BackupVerificationSessions, decode: func(d []byte) metav1.Object { return kubestash.DecodeBackupVerificationSession(d) },
			newIndex: newVerificationIndex, affected: verificationAffects},
	}
	return s
}

// DefaultPollInterval is how often missing CRDs and target kinds are looked for again, unless
// SetPollInterval says otherwise.
const DefaultPollInterval = 10 * time.Second

// SetPollInterval sets how often missing CRDs and target kinds are looked for again; 0 keeps
// DefaultPollInterval.
func (s *Sources) SetPollInterval(d time.Duration) {
	if d > 0 {
		s.pollEvery = d
	}
}

// Start starts the informers of every kind the cluster serves, and keeps looking for the
// others (KubeStash may be installed later) until ctx ends.
func (s *Sources) Start(ctx context.Context) {
	s.mu.Lock()
	s.ctx, s.started = ctx, true
	s.bump()
	s.mu.Unlock()
	s.startSecrets()
	s.startNamespaces()
	s.poll()
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
				s.poll()
			}
		}
	}()
}

// poll asks discovery again, once, only when something is missing: a KubeStash kind not
// served (yet), a target kind BackupConfigurations reference that is not resolved, a kind
// KindServed was asked about and did not find, or a discovery that has not answered. Then it
// starts the informers that have become possible. Between polls everything reads the last
// answer (a kind not served stays not served), so requests never cause discovery: at most one
// refresh per poll interval, however many kinds are asked about.
func (s *Sources) poll() {
	if s.missing() {
		s.refreshMapping()
	}
	m := s.mapping.Load()
	if m == nil {
		return
	}
	answered := true
	for _, k := range s.kinds {
		s.mu.RLock()
		running := k.running
		s.mu.RUnlock()
		if running {
			continue
		}
		served, ok := m.serves(k.gvr)
		if !ok {
			answered = false
			continue
		}
		if served {
			s.startKind(k)
		}
	}
	if answered {
		s.mu.Lock()
		if !s.discovered {
			s.discovered = true
			s.bump()
		}
		s.mu.Unlock()
	}
	for _, gk := range s.pendingTargets() {
		s.resolveTarget(gk)
	}
}

// missing reports whether anything waits for discovery.
func (s *Sources) missing() bool {
	if s.askedUnknown.Swap(false) {
		return true
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if !s.discovered || s.mapping.Load() == nil {
		return true
	}
	for _, k := range s.kinds {
		if !k.running {
			return true
		}
	}
	for _, t := range s.targets {
		if !t.installed {
			return true
		}
	}
	return false
}

func (s *Sources) pendingTargets() []schema.GroupKind {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []schema.GroupKind
	for gk, t := range s.targets {
		if !t.installed {
			out = append(out, gk)
		}
	}
	return out
}

func (s *Sources) changed(k *kind, old, obj interface{}, deleted bool) {
	if k.observe != nil && !deleted {
		k.observe(s, obj)
	}
	if k.options != nil {
		k.options(s, obj)
	}
	keys := k.affected(s, obj)
	if old != nil {
		keys = append(keys, k.affected(s, old)...)
	}
	if len(keys) == 0 {
		return
	}
	s.sink(dedup(keys), rvOf(obj), deleted)
}

func rvOf(o interface{}) uint64 {
	type rv interface{ GetResourceVersion() string }
	if m, ok := o.(rv); ok {
		n, _ := strconv.ParseUint(m.GetResourceVersion(), 10, 64)
		return n
	}
	return 0
}

// dedup sorts keys and drops repeats, in place.
func dedup(keys []string) []string {
	slices.Sort(keys)
	return slices.Compact(keys)
}
