// Package viewcache materialises the objects backupview serves (docs/design.md, "Packages"),
// whatever their kind: a Builder says which objects exist and builds one. The store half
// (this file, watch.go) keeps immutable sorted snapshots for GET and LIST, the history
// watches resume from, and the watchers; the rebuild half (rebuild.go) turns source changes
// into rebuilt objects. Versions follow the rule in version.go. views.go builds
// BackupConfigurationViews.
package viewcache

import (
	"context"
	"sort"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
)

// Object is what the cache stores: a pointer to an API object it can version.
type Object interface {
	runtime.Object
	metav1.Object
}

// Builder is what the cache reads: which objects exist, how to build one, and how far the
// sources have listed. Its methods are called from several goroutines at once.
type Builder[T Object] interface {
	// Keys names every object ("namespace/name") that exists now, for the first build.
	Keys() []string
	// Build builds the object key; ok is false when it no longer exists. rv is the newest
	// source revision the object reflects. The object must be new: the cache owns it (it
	// sets its resourceVersion) and shares it with readers once published.
	Build(key string) (obj T, rv uint64, ok bool)
	// ListedResourceVersion is the highest resourceVersion the source informers have listed
	// or watched up to.
	ListedResourceVersion() uint64
	// New returns an empty object (bookmarks carry one).
	New() T
}

// Entry is one published object. Objects are immutable once published: readers share them.
type Entry[T Object] struct {
	Key    string // namespace/name
	Object T
	RV     uint64
}

// Snapshot is an immutable, sorted (namespace/name) set of objects at one resourceVersion.
type Snapshot[T Object] struct {
	RV      uint64
	Entries []*Entry[T]
}

// Event is one change of an object, as watchers receive it. RVs are unique and increasing.
type Event[T Object] struct {
	Type watch.EventType
	Old  *Entry[T] // the previous state (MODIFIED, DELETED)
	New  *Entry[T] // the new state (ADDED, MODIFIED); for DELETED, the last state at the deletion RV
	RV   uint64
}

// Options tune the cache. DefaultOptions holds the defaults; the server's flags start there.
type Options struct {
	// History is how many events are kept to resume watches from.
	History int
	// WatcherBuffer is how many events a watcher may fall behind before it is closed.
	WatcherBuffer int
	// Snapshots is how many past snapshots are kept for continue tokens.
	Snapshots int
	// MaxWatchers caps concurrent watches; more get 429.
	MaxWatchers int
	// MaxWatchersPerUser caps one user's share of them (0: a tenth of MaxWatchers, at least 1);
	// more from that user get 429.
	MaxWatchersPerUser int
	// Workers build objects in parallel.
	Workers int
	// SliceBudget is how long a rebuild batch waits for its slowest objects before publishing
	// the others (the slow ones follow when done): one expensive object never stalls the rest.
	SliceBudget time.Duration
}

// DefaultOptions are the defaults of every option.
func DefaultOptions() Options {
	return Options{History: 10000, WatcherBuffer: 1000, Snapshots: 32, MaxWatchers: 10000, Workers: 2, SliceBudget: 200 * time.Millisecond}
}

// Cache holds the materialised objects of one resource.
type Cache[T Object] struct {
	resource string // the resource's plural name, for messages
	b        Builder[T]
	opts     Options
	rb       *rebuilder[T]

	mu      sync.RWMutex
	snap    *Snapshot[T]
	byKey   map[string]*Entry[T]
	past    []*Snapshot[T] // recent snapshots for paging, oldest first
	history []Event[T]     // recent events, oldest first
	base    uint64         // the first build's version: nothing older can be vouched for
	dropped uint64         // the version of the newest event dropped from history
	changed chan struct{}
	ready   chan struct{}

	watchers watcherSet[T]

	// onBatch, if set, observes each published batch (metrics).
	onBatch func(objects int, d time.Duration)
}

// New returns an empty cache of the objects b builds, resource (the plural name) naming them
// in messages; call Run to start it. Options left zero take their defaults.
func New[T Object](resource string, b Builder[T], opts Options) *Cache[T] {
	d := DefaultOptions()
	for _, f := range []struct{ v, def *int }{{&opts.History, &d.History}, {&opts.WatcherBuffer, &d.WatcherBuffer}, {&opts.Snapshots, &d.Snapshots}, {&opts.MaxWatchers, &d.MaxWatchers}, {&opts.Workers, &d.Workers}} {
		if *f.v <= 0 {
			*f.v = *f.def
		}
	}
	if opts.SliceBudget <= 0 {
		opts.SliceBudget = d.SliceBudget
	}
	c := &Cache[T]{
		resource: resource, b: b, opts: opts,
		snap: &Snapshot[T]{}, byKey: map[string]*Entry[T]{},
		changed: make(chan struct{}), ready: make(chan struct{}),
		watchers: watcherSet[T]{resource: resource, byNS: map[string]map[*watcher[T]]struct{}{}},
	}
	c.rb = newRebuilder(c)
	return c
}

// SetBatchObserver sets a callback for each published batch (for metrics).
func (c *Cache[T]) SetBatchObserver(f func(objects int, d time.Duration)) { c.onBatch = f }

// Notify marks objects dirty: keys are the objects a source change at resourceVersion rv may
// affect. It is the sources' Sink and never blocks.
func (c *Cache[T]) Notify(keys []string, rv uint64, _ bool) { c.rb.notify(keys, rv) }

// Run builds every object, publishes them, then applies changes until ctx ends. Call it once
// the sources have synced.
func (c *Cache[T]) Run(ctx context.Context) {
	c.rb.run(ctx)
	c.closeWatchers()
}

// Ready reports whether the first full build has been published.
func (c *Cache[T]) Ready() bool {
	select {
	case <-c.ready:
		return true
	default:
		return false
	}
}

// WaitReady blocks until the first build is published or ctx ends.
func (c *Cache[T]) WaitReady(ctx context.Context) error {
	select {
	case <-c.ready:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// WaitFor blocks until the published version is at least rv, or ctx ends; it returns the
// snapshot that reached it.
func (c *Cache[T]) WaitFor(ctx context.Context, rv uint64) (*Snapshot[T], error) {
	for {
		c.mu.RLock()
		snap, ch := c.snap, c.changed
		c.mu.RUnlock()
		if snap.RV >= rv {
			return snap, nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// publishFirst installs the first full build.
func (c *Cache[T]) publishFirst(entries []*Entry[T], rv uint64) {
	sort.Slice(entries, func(i, j int) bool { return entries[i].Key < entries[j].Key })
	byKey := make(map[string]*Entry[T], len(entries))
	for _, e := range entries {
		byKey[e.Key] = e
		if e.RV > rv {
			rv = e.RV
		}
	}
	c.mu.Lock()
	c.snap = &Snapshot[T]{RV: rv, Entries: entries}
	c.byKey = byKey
	c.past = append(c.past, c.snap)
	c.base = rv
	close(c.changed)
	c.changed = make(chan struct{})
	c.mu.Unlock()
	close(c.ready)
}

// built is one rebuilt object (ok false when it is gone) and why it was built.
type built[T Object] struct {
	key   string
	cause uint64 // the newest revision whose change dirtied it
	obj   T
	ok    bool
	srcRV uint64 // the highest source resourceVersion the object reflects
}

// publish turns rebuilt objects into events with strictly increasing versions, installs a new
// snapshot and hands the events to the watchers in scope. Only the rebuild loop calls it, so
// it reads byKey without the lock (it is the only writer).
func (c *Cache[T]) publish(results []built[T]) {
	start := time.Now()
	// The last result per key wins; its cause is the newest of them.
	last := make(map[string]int, len(results))
	for i, r := range results {
		if j, ok := last[r.key]; ok && results[j].cause > r.cause {
			results[i].cause = results[j].cause
		}
		last[r.key] = i
	}
	type pending struct {
		ev   Event[T]
		cand uint64
	}
	evs := make([]pending, 0, len(last))
	for i, r := range results {
		if last[r.key] != i {
			continue
		}
		old := c.byKey[r.key]
		cand := candidate(max(r.cause, r.srcRV), r.key)
		switch {
		case !r.ok:
			if old == nil {
				continue
			}
			last := old.Object.DeepCopyObject().(T) // the last state, at the deletion's version
			evs = append(evs, pending{Event[T]{Type: watch.Deleted, Old: old, New: &Entry[T]{Key: r.key, Object: last}}, cand})
		case old != nil && unchanged(old.Object, r.obj):
			continue
		default:
			typ := watch.Modified
			if old == nil {
				typ = watch.Added
			}
			evs = append(evs, pending{Event[T]{Type: typ, Old: old, New: &Entry[T]{Key: r.key, Object: r.obj}}, cand})
		}
	}
	if len(evs) == 0 {
		return
	}
	// Candidates in order, so that replicas seeing the same changes assign the same versions.
	sort.Slice(evs, func(i, j int) bool {
		if evs[i].cand != evs[j].cand {
			return evs[i].cand < evs[j].cand
		}
		return evs[i].ev.New.Key < evs[j].ev.New.Key
	})
	rv := c.snap.RV
	events := make([]Event[T], len(evs))
	changed := make(map[string]*Entry[T], len(evs)) // nil: deleted
	for i := range evs {
		rv = max(evs[i].cand, rv+1)
		e := evs[i].ev
		e.RV, e.New.RV = rv, rv
		e.New.Object.SetResourceVersion(formatRV(rv))
		if e.Type == watch.Deleted {
			changed[e.New.Key] = nil
		} else {
			changed[e.New.Key] = e.New
		}
		events[i] = e
	}
	entries := patch(c.snap.Entries, changed)

	c.mu.Lock()
	for k, e := range changed {
		if e == nil {
			delete(c.byKey, k)
		} else {
			c.byKey[k] = e
		}
	}
	c.snap = &Snapshot[T]{RV: rv, Entries: entries}
	// Both rings drop their oldest entries by reslicing: append reallocates (and copies only
	// what is kept) once the capacity runs out, so each event costs O(1), not O(history).
	c.past = append(c.past, c.snap)
	if over := len(c.past) - c.opts.Snapshots; over > 0 {
		clear(c.past[:over]) // let the dropped snapshots go
		c.past = c.past[over:]
	}
	c.history = append(c.history, events...)
	if over := len(c.history) - c.opts.History; over > 0 {
		c.dropped = c.history[over-1].RV
		// Not cleared: a watch being set up may still replay through pointers into it.
		c.history = c.history[over:]
	}
	close(c.changed)
	c.changed = make(chan struct{})
	c.mu.Unlock()

	// Outside the cache's lock: GET and LIST never wait for the fan-out.
	c.watchers.fanOut(events)
	if c.onBatch != nil {
		c.onBatch(len(events), time.Since(start))
	}
}

// patch returns a new sorted entry slice: old with the changed entries replaced, removed (nil)
// or added. It copies old once (a memmove of pointers) and finds each change by binary
// search, instead of looking every entry up in the change set; only additions merge.
func patch[T Object](old []*Entry[T], changed map[string]*Entry[T]) []*Entry[T] {
	entries := make([]*Entry[T], len(old), len(old)+len(changed))
	copy(entries, old)
	var added []*Entry[T]
	removed := false
	for k, n := range changed {
		i := sort.Search(len(old), func(i int) bool { return old[i].Key >= k })
		switch {
		case i < len(old) && old[i].Key == k:
			entries[i] = n // nil removes
			removed = removed || n == nil
		case n != nil:
			added = append(added, n)
		}
	}
	if removed {
		kept := entries[:0]
		for _, e := range entries {
			if e != nil {
				kept = append(kept, e)
			}
		}
		clear(entries[len(kept):])
		entries = kept
	}
	if len(added) == 0 {
		return entries
	}
	sort.Slice(added, func(i, j int) bool { return added[i].Key < added[j].Key })
	merged := make([]*Entry[T], 0, len(entries)+len(added))
	i, j := 0, 0
	for i < len(entries) && j < len(added) {
		if entries[i].Key < added[j].Key {
			merged = append(merged, entries[i])
			i++
		} else {
			merged = append(merged, added[j])
			j++
		}
	}
	merged = append(merged, entries[i:]...)
	return append(merged, added[j:]...)
}

// unchanged reports whether fresh equals old but for the resourceVersion. It gives fresh
// old's resourceVersion to compare them: fresh is not published yet, and publishing sets it.
func unchanged[T Object](old, fresh T) bool {
	fresh.SetResourceVersion(old.GetResourceVersion())
	return equality.Semantic.DeepEqual(old, fresh)
}

// Current returns the latest snapshot.
func (c *Cache[T]) Current() *Snapshot[T] {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.snap
}

// SnapshotAt returns the kept snapshot with exactly this RV, for continue tokens.
func (c *Cache[T]) SnapshotAt(rv uint64) *Snapshot[T] {
	c.mu.RLock()
	defer c.mu.RUnlock()
	for i := len(c.past) - 1; i >= 0; i-- {
		if c.past[i].RV == rv {
			return c.past[i]
		}
	}
	return nil
}

// Get returns the object namespace/name from the latest snapshot.
func (c *Cache[T]) Get(key string) *Entry[T] {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.byKey[key]
}

// Find returns the entry for key in a sorted snapshot, or nil.
func (s *Snapshot[T]) Find(key string) *Entry[T] {
	i := sort.Search(len(s.Entries), func(i int) bool { return s.Entries[i].Key >= key })
	if i < len(s.Entries) && s.Entries[i].Key == key {
		return s.Entries[i]
	}
	return nil
}

// Range returns the entries of one namespace (all when ns is ""), starting after the key
// `after` when it is set. It allocates nothing.
func (s *Snapshot[T]) Range(ns, after string) []*Entry[T] {
	lo, hi := 0, len(s.Entries)
	if ns != "" {
		p := ns + "/"
		lo = sort.Search(len(s.Entries), func(i int) bool { return s.Entries[i].Key >= p })
		hi = sort.Search(len(s.Entries), func(i int) bool { return s.Entries[i].Key >= ns+"0" }) // '0' follows '/'
	}
	if after != "" {
		if i := sort.Search(len(s.Entries), func(i int) bool { return s.Entries[i].Key > after }); i > lo {
			lo = i
		}
	}
	if lo > hi {
		lo = hi
	}
	return s.Entries[lo:hi]
}

// perUser is the number of watches one user may hold.
func (o Options) perUser() int {
	if o.MaxWatchersPerUser > 0 {
		return o.MaxWatchersPerUser
	}
	return max(1, o.MaxWatchers/10)
}
