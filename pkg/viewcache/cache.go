// Package viewcache materialises the BackupConfigurationViews: it rebuilds the views a
// source change affects (in one goroutine, batched), publishes immutable sorted snapshots for
// GET and LIST, and fans changes out to watchers with a bounded buffer each.
package viewcache

import (
	"context"
	"runtime/debug"
	"sort"
	"strconv"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/klog/v2"

	"github.com/kubestash/backupview/pkg/apis/ui"
	"github.com/kubestash/backupview/pkg/join"
	"github.com/kubestash/backupview/pkg/kubestash"
)

// Source is what the cache reads: the BackupConfigurations and the joins' lookups.
type Source interface {
	join.Lookup
	BackupConfiguration(key string) *kubestash.BackupConfiguration
	BackupConfigurations() []*kubestash.BackupConfiguration
}

// Entry is one published view. Views are immutable once published: readers share them.
type Entry struct {
	Key  string // namespace/name
	View *ui.BackupConfigurationView
	RV   uint64
}

// Snapshot is an immutable, sorted (namespace/name) set of views at one resourceVersion.
type Snapshot struct {
	RV      uint64
	Entries []*Entry
}

// Event is one change of a view, as watchers receive it.
type Event struct {
	Type watch.EventType
	Old  *Entry // the previous state (MODIFIED, DELETED)
	New  *Entry // the new state (ADDED, MODIFIED); for DELETED, the last state at the deletion RV
	RV   uint64
	hw   uint64 // high-water RV after this event, for resuming
}

// Options tune the cache.
type Options struct {
	// History is how many events are kept to resume watches from.
	History int
	// WatcherBuffer is how many events a watcher may fall behind before it is closed.
	WatcherBuffer int
	// Snapshots is how many past snapshots are kept for continue tokens.
	Snapshots int
}

// Cache holds the materialised views.
type Cache struct {
	src  Source
	opts Options

	dirtyMu sync.Mutex
	dirty   map[string]uint64 // key -> highest RV of the events that dirtied it
	kick    chan struct{}

	mu       sync.RWMutex
	ready    bool
	base     uint64 // the resourceVersion of the first build: watches can resume from it
	snap     *Snapshot
	byKey    map[string]*Entry
	past     []*Snapshot // recent snapshots for paging, oldest first
	history  []Event     // ring of recent events, oldest first
	watchers map[*watcher]struct{}
	// onBatch, if set, observes each rebuild batch (metrics).
	onBatch func(views int, d time.Duration)
}

// ReleaseAfterFirstBuild returns the start-up garbage to the OS once the first build is done.
var ReleaseAfterFirstBuild = true

// New returns an empty cache; call Run to start it.
func New(src Source, opts Options) *Cache {
	if opts.History <= 0 {
		opts.History = 10000
	}
	if opts.WatcherBuffer <= 0 {
		opts.WatcherBuffer = 1000
	}
	if opts.Snapshots <= 0 {
		opts.Snapshots = 32
	}
	return &Cache{
		src: src, opts: opts,
		dirty: map[string]uint64{}, kick: make(chan struct{}, 1),
		snap: &Snapshot{}, byKey: map[string]*Entry{}, watchers: map[*watcher]struct{}{},
	}
}

// SetBatchObserver sets a callback for each rebuild batch (for metrics).
func (c *Cache) SetBatchObserver(f func(views int, d time.Duration)) { c.onBatch = f }

// Notify marks views dirty; it is the sources' Sink and never blocks.
func (c *Cache) Notify(keys []string, rv uint64, deleted bool) {
	c.dirtyMu.Lock()
	for _, k := range keys {
		if old, ok := c.dirty[k]; !ok || rv > old {
			c.dirty[k] = rv
		}
	}
	c.dirtyMu.Unlock()
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// Run builds every view once synced() is true, then applies changes until ctx ends.
func (c *Cache) Run(ctx context.Context, synced func() bool) {
	for !synced() {
		select {
		case <-ctx.Done():
			return
		case <-time.After(50 * time.Millisecond):
		}
	}
	// The first build covers everything; changes seen meanwhile are folded into it.
	c.dirtyMu.Lock()
	c.dirty = map[string]uint64{}
	c.dirtyMu.Unlock()
	c.rebuildAll()
	for {
		select {
		case <-ctx.Done():
			c.closeWatchers()
			return
		case <-c.kick:
		}
		c.dirtyMu.Lock()
		batch := c.dirty
		c.dirty = map[string]uint64{}
		c.dirtyMu.Unlock()
		if len(batch) > 0 {
			c.apply(batch)
		}
	}
}

// Ready reports whether the first full build has been published.
func (c *Cache) Ready() bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.ready
}

func (c *Cache) rebuildAll() {
	start := time.Now()
	bcs := c.src.BackupConfigurations()
	entries := make([]*Entry, 0, len(bcs))
	byKey := make(map[string]*Entry, len(bcs))
	var hw uint64
	for _, bc := range bcs {
		v, rv := join.Build(bc, c.src)
		e := &Entry{Key: bc.Namespace + "/" + bc.Name, View: v, RV: rv}
		setRV(e)
		entries = append(entries, e)
		byKey[e.Key] = e
		if rv > hw {
			hw = rv
		}
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Key < entries[j].Key })
	c.mu.Lock()
	c.snap = &Snapshot{RV: hw, Entries: entries}
	c.byKey = byKey
	c.past = append(c.past, c.snap)
	c.base = hw
	c.ready = true
	c.mu.Unlock()
	klog.InfoS("views built", "count", len(entries), "resourceVersion", hw, "took", time.Since(start))
	if ReleaseAfterFirstBuild {
		// Syncing decoded every source object once (whole lists at a time): that garbage is
		// not needed again, so collect it and hand its pages back to the OS now rather than
		// whenever the scavenger gets to it. Once, in the background.
		go debug.FreeOSMemory()
	}
	if c.onBatch != nil {
		c.onBatch(len(entries), time.Since(start))
	}
}

func setRV(e *Entry) { e.View.ResourceVersion = strconv.FormatUint(e.RV, 10) }

// apply rebuilds the dirty views and publishes a new snapshot and the events.
func (c *Cache) apply(batch map[string]uint64) {
	start := time.Now()
	keys := make([]string, 0, len(batch))
	for k := range batch {
		keys = append(keys, k)
	}
	sort.Strings(keys)

	c.mu.RLock()
	hw := c.snap.RV
	c.mu.RUnlock()

	var events []Event
	changed := map[string]*Entry{} // nil value: deleted
	for _, k := range keys {
		c.mu.RLock()
		old := c.byKey[k]
		c.mu.RUnlock()
		evRV := batch[k]
		bc := c.src.BackupConfiguration(k)
		if bc == nil {
			if old == nil {
				continue
			}
			rv := maxRV(evRV, old.RV)
			if rv == old.RV {
				rv = maxRV(rv, hw)
			}
			gone := &Entry{Key: k, View: old.View.DeepCopy(), RV: rv}
			setRV(gone)
			changed[k] = nil
			events = append(events, Event{Type: watch.Deleted, Old: old, New: gone, RV: rv})
			continue
		}
		v, rv := join.Build(bc, c.src)
		if old != nil && equalViews(old.View, v) {
			continue
		}
		// The view's version is the highest source version it reflects, including deletions
		// that changed it; it never goes backwards.
		rv = maxRV(rv, evRV)
		if old != nil && rv <= old.RV {
			rv = maxRV(old.RV, hw)
		}
		e := &Entry{Key: k, View: v, RV: rv}
		setRV(e)
		changed[k] = e
		typ := watch.Modified
		if old == nil {
			typ = watch.Added
		}
		events = append(events, Event{Type: typ, Old: old, New: e, RV: rv})
	}
	if len(events) == 0 {
		return
	}
	// Deliver in resourceVersion order so that resuming from the last seen RV works.
	sort.SliceStable(events, func(i, j int) bool { return events[i].RV < events[j].RV })

	c.mu.Lock()
	entries := patch(c.snap.Entries, changed)
	for i := range events {
		if events[i].RV > hw {
			hw = events[i].RV
		}
		events[i].hw = hw
		if events[i].Type == watch.Deleted {
			delete(c.byKey, events[i].New.Key)
		} else {
			c.byKey[events[i].New.Key] = events[i].New
		}
	}
	c.snap = &Snapshot{RV: hw, Entries: entries}
	// Both rings drop their oldest entries by reslicing: append reallocates (and copies only
	// what is kept) once the capacity runs out, so each event costs O(1), not O(history).
	c.past = append(c.past, c.snap)
	if over := len(c.past) - c.opts.Snapshots; over > 0 {
		clear(c.past[:over]) // let the dropped snapshots go
		c.past = c.past[over:]
	}
	c.history = append(c.history, events...)
	if over := len(c.history) - c.opts.History; over > 0 {
		// Not cleared: a watch being set up may still replay through pointers into it.
		c.history = c.history[over:]
	}
	for w := range c.watchers {
		for i := range events {
			if !w.send(&events[i]) {
				delete(c.watchers, w)
				break
			}
		}
	}
	c.mu.Unlock()
	if c.onBatch != nil {
		c.onBatch(len(events), time.Since(start))
	}
}

// patch returns a new sorted entry slice: old with the changed entries replaced, removed (nil)
// or added. It copies old once (a memmove of pointers) and finds each change by binary
// search, instead of looking every entry up in the change set; only additions merge.
func patch(old []*Entry, changed map[string]*Entry) []*Entry {
	entries := make([]*Entry, len(old), len(old)+len(changed))
	copy(entries, old)
	var added []*Entry
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
	merged := make([]*Entry, 0, len(entries)+len(added))
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

func maxRV(a, b uint64) uint64 {
	if a > b {
		return a
	}
	return b
}

// equalViews compares views ignoring the resourceVersion.
func equalViews(a, b *ui.BackupConfigurationView) bool {
	rv := a.ResourceVersion
	if rv != b.ResourceVersion {
		ac := *a
		ac.ResourceVersion = b.ResourceVersion
		return equality.Semantic.DeepEqual(&ac, b)
	}
	return equality.Semantic.DeepEqual(a, b)
}

// Current returns the latest snapshot.
func (c *Cache) Current() *Snapshot {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.snap
}

// SnapshotAt returns the kept snapshot with exactly this RV, for continue tokens.
func (c *Cache) SnapshotAt(rv uint64) *Snapshot {
	c.mu.RLock()
	defer c.mu.RUnlock()
	for i := len(c.past) - 1; i >= 0; i-- {
		if c.past[i].RV == rv {
			return c.past[i]
		}
	}
	return nil
}

// Get returns the view namespace/name from the latest snapshot.
func (c *Cache) Get(key string) *Entry {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.byKey[key]
}

// Find returns the entry for key in a sorted snapshot, or nil.
func (s *Snapshot) Find(key string) *Entry {
	i := sort.Search(len(s.Entries), func(i int) bool { return s.Entries[i].Key >= key })
	if i < len(s.Entries) && s.Entries[i].Key == key {
		return s.Entries[i]
	}
	return nil
}

// Range returns the entries of one namespace (all when ns is ""), starting after the key
// `after` when it is set. It allocates nothing.
func (s *Snapshot) Range(ns, after string) []*Entry {
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
