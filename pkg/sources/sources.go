// Package sources lists and watches what backupview joins: BackupConfigurations,
// BackupSessions, Repositories, BackupStorages, RetentionPolicies, Addons, CronJobs, Snapshots,
// BackupVerifiers and BackupVerificationSessions, decoded into the small structs of package
// kubestash and kept in a store of its own (docs/design.md, "The sources' store"), plus
// metadata-only informers for the target kinds that BackupConfigurations reference, and for
// Namespaces and (opt-in) Secrets. It indexes them for the joins and reports every change, as
// it is, to one Sink: which views or form options a change affects is decided by their
// packages (join.Affected, formoptions.Affected), which read the indexes through the exported
// lookups.
//
// What is watched is decided by the cluster's objects only, never by a request: reflectors
// start for the KubeStash kinds the cluster serves, informers for the target kinds
// BackupConfigurations name. Lookups (this package's exported readers) only read caches.
//
// Files: sources.go (the Sources type, its Change and its poll loop), informers.go
// (starting the sources and target informers and reporting their changes), store.go (the
// sources' store), wire.go and dynamic.go (listing and decoding, through REST or a dynamic
// client), mapping.go (discovery: which kinds the cluster serves), index.go (the store's
// indexes and the lookups of the BackupConfigurations referencing an object), lookup.go (the
// joins' reads), snapshots.go (the Snapshots by Repository), listed.go
// (ListedResourceVersion), options.go (the namespace informer and the form options' reads),
// secrets.go (the opt-in Secret names check).
package sources

import (
	"context"
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

// Change is one change of a watched object, as the sources saw it.
type Change struct {
	// Kind is the object's kind: a source kind, a target kind, {"" Namespace} or {"" Secret}.
	Kind schema.GroupKind
	// Old is the object's previous state on an update; nil on an addition or a deletion.
	Old interface{}
	// Object is the object as stored: a *kubestash.BackupConfiguration, *BackupSession,
	// *Repository, *BackupStorage, *RetentionPolicy, *Addon, *CronJob, *Snapshot,
	// *BackupVerifier or *BackupVerificationSession, a
	// *kubestash.Object for target kinds and Secrets, a *kubestash.Namespace. On a deletion it
	// is the object's last state. nil: the informer of target kind Kind has synced, so any of
	// its objects may have changed (targets read found=false until then).
	Object interface{}
	// RV is the object's resourceVersion (0 when Object is nil).
	RV      uint64
	Deleted bool
}

// Sink receives every change. It is called from the informers' goroutines and must not
// block.
type Sink func(Change)

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
	// namespaces: the form options' namespaces (options.go), set by WatchNamespaces.
	namespaces cache.SharedIndexInformer
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
	// observe, when set, sees every added or updated object before the sink does.
	observe func(s *Sources, obj interface{})
	// gk is the kind's GroupKind, as discovery named it when the kind started.
	gk        schema.GroupKind
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
			newIndex: newBCIndex, observe: watchTargetKind},
		{gvr: kubestash.BackupSessions, decode: func(d []byte) metav1.Object { return kubestash.DecodeBackupSession(d) },
			newIndex: newSessionIndex},
		{gvr: kubestash.Repositories, decode: func(d []byte) metav1.Object { return kubestash.DecodeRepository(d) }},
		{gvr: kubestash.BackupStorages, decode: func(d []byte) metav1.Object { return kubestash.DecodeBackupStorage(d) }},
		{gvr: kubestash.RetentionPolicies, decode: func(d []byte) metav1.Object { return kubestash.DecodeRetentionPolicy(d) }},
		{gvr: kubestash.Addons, decode: func(d []byte) metav1.Object { return kubestash.DecodeAddon(d) }},
		{gvr: kubestash.CronJobs, decode: func(d []byte) metav1.Object { return kubestash.DecodeCronJob(d) },
			newIndex: newCronIndex},
		{gvr: kubestash.Snapshots, decode: func(d []byte) metav1.Object { return kubestash.DecodeSnapshot(d) },
			newIndex: newSnapshotIndex},
		{gvr: kubestash.BackupVerifiers, decode: func(d []byte) metav1.Object { return kubestash.DecodeBackupVerifier(d) }},
		{gvr: kubestash.BackupVerificationSessions, decode: func(d []byte) metav1.Object { return kubestash.DecodeBackupVerificationSession(d) },
			newIndex: newVerificationIndex},
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

// changed reports a change of a source kind's object (old and obj as the store reported them).
func (s *Sources) changed(k *kind, old, obj metav1.Object, deleted bool) {
	if k.observe != nil && !deleted {
		k.observe(s, obj)
	}
	c := Change{Kind: k.gk, Object: obj, RV: rvOf(obj), Deleted: deleted}
	if old != nil { // a nil metav1.Object must stay a nil interface{}
		c.Old = old
	}
	s.report(c)
}

func (s *Sources) report(c Change) {
	if s.sink != nil {
		s.sink(c)
	}
}

func rvOf(o interface{}) uint64 {
	type rv interface{ GetResourceVersion() string }
	if m, ok := o.(rv); ok {
		n, _ := strconv.ParseUint(m.GetResourceVersion(), 10, 64)
		return n
	}
	return 0
}
