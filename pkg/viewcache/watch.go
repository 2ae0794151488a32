package viewcache

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/apiserver/pkg/storage"
)

// WatchOptions select where a watch starts.
type WatchOptions[T Object] struct {
	// ResourceVersion: a resume (Initial false) sends what changed after it; with Initial, the
	// initial state is at least this version (WatchList's NotOlderThan). 0: from now.
	ResourceVersion uint64
	// Initial sends the current state first, as ADDED events.
	Initial bool
	// InitialEnd (WatchList, sendInitialEvents=true) follows the initial events with a
	// bookmark annotated k8s.io/initial-events-end.
	InitialEnd bool
	// Bookmarks enables periodic bookmarks.
	Bookmarks bool
	// Namespace scopes the watch to one namespace ("" for all): it is sent only that
	// namespace's events.
	Namespace string
	// Filter selects the objects this watcher sees (labels, fields).
	Filter func(T) bool
	// Transform, if set, turns each object sent into what the watcher may see (redaction); it
	// must not modify its argument.
	Transform func(T) T
	// User is the authenticated user the watch is for: each user may hold at most
	// Options.MaxWatchersPerUser of the watches.
	User string
}

// slowWatcher is sent, as the object of an ERROR event, to a watcher that fell behind.
var slowWatcher = apierrors.NewResourceExpired("the watcher fell too far behind and was closed; restart the watch").ErrStatus

// WaitForRV is how long a request for a version this replica has not reached yet waits.
const WaitForRV = 3 * time.Second

// BookmarkInterval is how often a watcher that allows bookmarks gets one.
var BookmarkInterval = 30 * time.Second

// liveBatches is how many undelivered batches a watcher may hold (each batch is one publish).
const liveBatches = 32

type watcher[T Object] struct {
	set     *watcherSet[T]
	ns      string
	user    string
	live    chan []*Event[T]
	pending atomic.Int64 // events queued in live
	limit   int64
	out     chan watch.Event
	mu      sync.Mutex
	closed  bool // live is closed because the watcher fell behind
	cancel  context.CancelFunc
	onDrop  func()
}

// Reach is the rule for a request that names a resourceVersion not older than rv (a LIST's
// NotOlderThan, a WATCH's start): it waits up to WaitForRV for this replica to publish rv and
// returns the snapshot that did; past that, a timeout with the ResourceVersionTooLarge cause,
// which client-go answers by re-listing; the request's own end, its error.
func (c *Cache[T]) Reach(ctx context.Context, rv uint64) (*Snapshot[T], error) {
	wctx, cancel := context.WithTimeout(ctx, WaitForRV)
	defer cancel()
	snap, err := c.WaitFor(wctx, rv)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, storage.NewTooLargeResourceVersionError(rv, c.Current().RV, int(WaitForRV.Seconds()))
	}
	return snap, nil
}

// Watch starts a watch. It fails with 410 Gone for a resourceVersion this process cannot
// vouch for (older than the kept history, or than its first build), with a "too large
// resource version" timeout for one it has not reached within WaitForRV, and with 429 when
// MaxWatchers watches are open or the user holds their share (MaxWatchersPerUser).
func (c *Cache[T]) Watch(ctx context.Context, o WatchOptions[T], onDrop func()) (watch.Interface, error) {
	if o.ResourceVersion > 0 {
		if _, err := c.Reach(ctx, o.ResourceVersion); err != nil {
			return nil, err
		}
	}
	wctx, cancel := context.WithCancel(ctx)
	w := &watcher[T]{set: &c.watchers, ns: o.Namespace, user: o.User, live: make(chan []*Event[T], liveBatches), limit: int64(c.opts.WatcherBuffer),
		out: make(chan watch.Event, 16), cancel: cancel, onDrop: onDrop}
	initial := o.Initial || o.InitialEnd

	c.mu.RLock()
	snap := c.snap
	var replay []Event[T]
	if !initial && o.ResourceVersion > 0 {
		if oldest := c.oldestRV(); o.ResourceVersion < oldest {
			c.mu.RUnlock()
			cancel()
			return nil, apierrors.NewResourceExpired(fmt.Sprintf("too old resource version: %d (oldest this server can resume from: %d)", o.ResourceVersion, oldest))
		}
		i := sort.Search(len(c.history), func(i int) bool { return c.history[i].RV > o.ResourceVersion })
		replay = c.history[i:] // never written again: history only grows at its end
	}
	// Registered under the read lock: no batch is published between the snapshot and the
	// registration, and events at or below snap.RV that reach it anyway are skipped.
	err := c.watchers.add(w, c.opts.MaxWatchers, c.opts.perUser())
	c.mu.RUnlock()
	if err != nil {
		cancel()
		return nil, err
	}
	go w.run(wctx, o, snap, initial, replay, c.b.New)
	return w, nil
}

// oldestRV is the oldest version a watch can resume from. The caller holds c.mu.
func (c *Cache[T]) oldestRV() uint64 { return max(c.base, c.dropped) }

// watcherSet holds the watchers by namespace ("" for cluster-wide), and counts them by user.
type watcherSet[T Object] struct {
	resource string // for the 429
	mu       sync.Mutex
	byNS     map[string]map[*watcher[T]]struct{}
	byUser   map[string]int
	n        int
}

// add registers a watcher unless limit watches are open or its user holds perUser of them: one
// user can never take the slots every other user's watch needs, and a user under their share
// gets a watch while any slot is free.
func (s *watcherSet[T]) add(w *watcher[T], limit, perUser int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.n >= limit {
		return apierrors.NewTooManyRequests(fmt.Sprintf("too many watches of %s open (%d, the server's limit, --max-watches); retry later", s.resource, s.n), 5)
	}
	if s.byUser[w.user] >= perUser {
		return apierrors.NewTooManyRequests(fmt.Sprintf("user %q has %d watches of %s open, the limit per user (--max-watches-per-user); close one or retry later", w.user, s.byUser[w.user], s.resource), 5)
	}
	m := s.byNS[w.ns]
	if m == nil {
		m = map[*watcher[T]]struct{}{}
		s.byNS[w.ns] = m
	}
	m[w] = struct{}{}
	if s.byUser == nil {
		s.byUser = map[string]int{}
	}
	s.byUser[w.user]++
	s.n++
	return nil
}

func (s *watcherSet[T]) remove(w *watcher[T]) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.removeLocked(w)
}

func (s *watcherSet[T]) removeLocked(w *watcher[T]) {
	m := s.byNS[w.ns]
	if _, ok := m[w]; !ok {
		return
	}
	delete(m, w)
	s.n--
	if len(m) == 0 {
		delete(s.byNS, w.ns)
	}
	if s.byUser[w.user]--; s.byUser[w.user] <= 0 {
		delete(s.byUser, w.user)
	}
}

// fanOut hands each event to the watchers whose scope holds it: the cluster-wide ones and
// those of its namespace. Sends never block: a watcher that cannot take a batch is dropped.
func (s *watcherSet[T]) fanOut(events []Event[T]) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.n == 0 {
		return
	}
	deliver := func(ws map[*watcher[T]]struct{}, batch []*Event[T]) {
		for w := range ws {
			if !w.send(batch) {
				s.removeLocked(w)
			}
		}
	}
	all := s.byNS[""]
	scoped := len(s.byNS) > 1 || len(all) == 0
	var byNS map[string][]*Event[T]
	var everything []*Event[T]
	if len(all) > 0 {
		everything = make([]*Event[T], len(events))
	}
	for i := range events {
		e := &events[i]
		if everything != nil {
			everything[i] = e
		}
		if !scoped {
			continue
		}
		ns, _, _ := strings.Cut(e.New.Key, "/")
		if _, ok := s.byNS[ns]; ok && ns != "" {
			if byNS == nil {
				byNS = map[string][]*Event[T]{}
			}
			byNS[ns] = append(byNS[ns], e)
		}
	}
	if everything != nil {
		deliver(all, everything)
	}
	for ns, batch := range byNS {
		deliver(s.byNS[ns], batch)
	}
}

// Watchers is the number of open watches.
func (c *Cache[T]) Watchers() int {
	c.watchers.mu.Lock()
	defer c.watchers.mu.Unlock()
	return c.watchers.n
}

func (c *Cache[T]) closeWatchers() {
	c.watchers.mu.Lock()
	var ws []*watcher[T]
	for _, m := range c.watchers.byNS {
		for w := range m {
			ws = append(ws, w)
		}
	}
	c.watchers.byNS = map[string]map[*watcher[T]]struct{}{}
	c.watchers.n = 0
	c.watchers.mu.Unlock()
	for _, w := range ws {
		w.cancel()
	}
}

// send queues a batch for the watcher; false means the watcher fell behind and was closed.
// The caller holds the set's lock.
func (w *watcher[T]) send(batch []*Event[T]) bool {
	if w.pending.Add(int64(len(batch))) <= w.limit {
		select {
		case w.live <- batch:
			return true
		default:
		}
	}
	w.mu.Lock()
	if !w.closed {
		w.closed = true
		close(w.live)
	}
	w.mu.Unlock()
	if w.onDrop != nil {
		w.onDrop()
	}
	return false
}

func (w *watcher[T]) run(ctx context.Context, o WatchOptions[T], snap *Snapshot[T], initial bool, replay []Event[T], empty func() T) {
	defer close(w.out)
	defer w.set.remove(w)
	emit := func(t watch.EventType, obj runtime.Object) bool {
		select {
		case w.out <- watch.Event{Type: t, Object: obj}:
			return true
		case <-ctx.Done():
			return false
		}
	}
	object := func(obj T) runtime.Object {
		if o.Transform != nil {
			return o.Transform(obj)
		}
		return obj
	}
	// Live batches come scoped to the watcher's namespace (fanOut); the initial state and the
	// replay are not.
	scoped := false
	inScope := func(e *Entry[T]) bool {
		return e != nil && (scoped || o.Namespace == "" || strings.HasPrefix(e.Key, o.Namespace+"/")) && (o.Filter == nil || o.Filter(e.Object))
	}
	last := snap.RV // everything up to here is in the initial state or the replay
	if initial {
		for _, e := range snap.Entries {
			if inScope(e) && !emit(watch.Added, object(e.Object)) {
				return
			}
		}
		if o.InitialEnd && !emit(watch.Bookmark, bookmark(empty(), snap.RV, true)) {
			return
		}
	}
	deliver := func(e *Event[T]) bool {
		oldOK, newOK := inScope(e.Old), inScope(e.New)
		switch {
		case e.Type == watch.Deleted:
			if oldOK {
				return emit(watch.Deleted, object(e.New.Object))
			}
		case oldOK && newOK:
			return emit(watch.Modified, object(e.New.Object))
		case newOK:
			return emit(watch.Added, object(e.New.Object))
		case oldOK:
			// No longer matches: the watcher sees it leave, at the new version.
			return emit(watch.Deleted, object(e.New.Object))
		}
		return true
	}
	for i := range replay {
		if !deliver(&replay[i]) {
			return
		}
	}
	scoped = true
	var tick <-chan time.Time
	if o.Bookmarks {
		t := time.NewTicker(BookmarkInterval)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return
		case batch, ok := <-w.live:
			if !ok {
				st := slowWatcher
				emit(watch.Error, &st)
				return
			}
			for _, e := range batch {
				if e.RV <= last {
					continue // already in the initial state or the replay
				}
				last = e.RV
				if !deliver(e) {
					return
				}
			}
			w.pending.Add(-int64(len(batch)))
		case <-tick:
			if !emit(watch.Bookmark, bookmark(empty(), last, false)) {
				return
			}
		}
	}
}

// bookmark turns an empty object into a bookmark at rv.
func bookmark[T Object](b T, rv uint64, initialEnd bool) T {
	b.SetResourceVersion(formatRV(rv))
	if initialEnd {
		b.SetAnnotations(map[string]string{metav1.InitialEventsAnnotationKey: "true"})
	}
	return b
}

// Stop ends the watch.
func (w *watcher[T]) Stop() { w.cancel() }

// ResultChan is the event stream.
func (w *watcher[T]) ResultChan() <-chan watch.Event { return w.out }
