package viewcache

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/kubestash/backupview/pkg/apis/ui"
)

// WatchOptions select where a watch starts.
type WatchOptions struct {
	// ResourceVersion to resume after, when Initial is false; 0 means "from now".
	ResourceVersion uint64
	// Initial sends the current state first, as ADDED events (resourceVersion "" or "0").
	Initial bool
	// InitialEnd (WatchList, sendInitialEvents=true) follows the initial events with a
	// bookmark annotated k8s.io/initial-events-end.
	InitialEnd bool
	// Bookmarks enables periodic bookmarks.
	Bookmarks bool
	// Namespace scopes the watch to one namespace ("" for all).
	Namespace string
	// Filter selects the views this watcher sees (namespace, labels, fields).
	Filter func(*ui.BackupConfigurationView) bool
	// Transform, if set, turns each view sent into what the watcher may see (redaction); it
	// must not modify its argument.
	Transform func(*ui.BackupConfigurationView) *ui.BackupConfigurationView
}

// ErrorStatus is sent, as the object of an ERROR event, to a watcher that fell behind.
var slowWatcher = apierrors.NewResourceExpired("the watcher fell too far behind and was closed; restart the watch").ErrStatus

// waitForRV is how long a watch from a version this replica has not reached yet waits.
const waitForRV = 3 * time.Second

// BookmarkInterval is how often a watcher that allows bookmarks gets one.
var BookmarkInterval = 30 * time.Second

type watcher struct {
	c      *Cache
	live   chan *Event
	out    chan watch.Event
	mu     sync.Mutex
	closed bool // live is closed because the watcher fell behind
	cancel context.CancelFunc
	// OnDrop is called when the watcher is closed for being slow.
	onDrop func()
}

// Watch starts a watch. It fails with 410 Gone for a resourceVersion older than the kept
// history, and with a "too large resource version" timeout for one this replica has not
// reached within a few seconds.
func (c *Cache) Watch(ctx context.Context, o WatchOptions, onDrop func()) (watch.Interface, error) {
	if o.ResourceVersion > 0 && !o.Initial {
		deadline := time.Now().Add(waitForRV)
		for c.Current().RV < o.ResourceVersion {
			if time.Now().After(deadline) {
				return nil, TooLarge(o.ResourceVersion, c.Current().RV)
			}
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	wctx, cancel := context.WithCancel(ctx)
	w := &watcher{c: c, live: make(chan *Event, c.opts.WatcherBuffer), out: make(chan watch.Event, 16), cancel: cancel, onDrop: onDrop}

	c.mu.Lock()
	snap := c.snap
	var replay []*Event
	initial := o.Initial || o.InitialEnd
	if !initial && o.ResourceVersion > 0 {
		var ok bool
		if replay, ok = c.replayFrom(o.ResourceVersion); !ok {
			c.mu.Unlock()
			cancel()
			return nil, apierrors.NewResourceExpired(fmt.Sprintf("too old resource version: %d (oldest kept: %d)", o.ResourceVersion, c.oldestRV()))
		}
	}
	c.watchers[w] = struct{}{}
	c.mu.Unlock()

	go w.run(wctx, o, snap, initial, replay)
	return w, nil
}

// replayFrom returns the kept events after the one that took the high-water mark to rv. The
// caller holds c.mu.
func (c *Cache) replayFrom(rv uint64) ([]*Event, bool) {
	if rv < c.oldestRV() {
		return nil, false
	}
	start := len(c.history)
	for i := range c.history {
		if c.history[i].hw >= rv {
			start = i + 1
			if c.history[i].hw > rv {
				start = i // the client has not seen this event
			}
			break
		}
	}
	out := make([]*Event, 0, len(c.history)-start)
	for i := start; i < len(c.history); i++ {
		out = append(out, &c.history[i])
	}
	return out, true
}

// oldestRV is the oldest version a watch can resume from. The caller holds c.mu.
func (c *Cache) oldestRV() uint64 {
	if len(c.history) == 0 {
		return c.snap.RV
	}
	if len(c.history) < c.opts.History {
		// Nothing was dropped yet: every change since the first build is kept, so a watch
		// can resume from that build's version (a LIST answered before the first change).
		return c.base
	}
	first := c.history[0]
	// The state before the first kept event is known up to the version just below it.
	return first.hw - 1
}

// TooLarge is the error for a resourceVersion this replica has not reached: a timeout with
// the ResourceVersionTooLarge cause, which client-go answers by re-listing.
func TooLarge(want, have uint64) error {
	err := apierrors.NewTimeoutError(fmt.Sprintf("Too large resource version: %d, current: %d", want, have), 1)
	err.ErrStatus.Details.Causes = []metav1.StatusCause{{Type: metav1.CauseTypeResourceVersionTooLarge, Message: "Too large resource version"}}
	return err
}

// send queues an event for the watcher; false means the watcher fell behind and was closed.
// The caller holds c.mu.
func (w *watcher) send(e *Event) bool {
	select {
	case w.live <- e:
		return true
	default:
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

func (w *watcher) run(ctx context.Context, o WatchOptions, snap *Snapshot, initial bool, replay []*Event) {
	defer close(w.out)
	defer w.remove()
	emit := func(t watch.EventType, obj runtime.Object) bool {
		select {
		case w.out <- watch.Event{Type: t, Object: obj}:
			return true
		case <-ctx.Done():
			return false
		}
	}
	match := func(e *Entry) bool { return e != nil && (o.Filter == nil || o.Filter(e.View)) }
	last := snap.RV
	if initial {
		for _, e := range snap.Entries {
			if match(e) && !emit(watch.Added, e.View) {
				return
			}
		}
		if o.InitialEnd {
			if !emit(watch.Bookmark, bookmark(snap.RV, true)) {
				return
			}
		}
	} else if o.ResourceVersion > 0 {
		last = o.ResourceVersion
	}
	deliver := func(e *Event) bool {
		// The snapshot and the replay were taken under the same lock that registered the
		// watcher, so live events never repeat them.
		if e.hw > last {
			last = e.hw
		}
		oldOK, newOK := match(e.Old), match(e.New)
		switch {
		case e.Type == watch.Deleted:
			if oldOK {
				return emit(watch.Deleted, e.New.View)
			}
		case oldOK && newOK:
			return emit(watch.Modified, e.New.View)
		case newOK:
			return emit(watch.Added, e.New.View)
		case oldOK:
			// No longer matches: the watcher sees it leave, at the new version.
			return emit(watch.Deleted, e.New.View)
		}
		return true
	}
	for _, e := range replay {
		if !deliver(e) {
			return
		}
	}
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
		case e, ok := <-w.live:
			if !ok {
				st := slowWatcher
				emit(watch.Error, &st)
				return
			}
			if !deliver(e) {
				return
			}
		case <-tick:
			if !emit(watch.Bookmark, bookmark(last, false)) {
				return
			}
		}
	}
}

func bookmark(rv uint64, initialEnd bool) *ui.BackupConfigurationView {
	b := &ui.BackupConfigurationView{ObjectMeta: metav1.ObjectMeta{ResourceVersion: strconv.FormatUint(rv, 10)}}
	if initialEnd {
		b.Annotations = map[string]string{metav1.InitialEventsAnnotationKey: "true"}
	}
	return b
}

func (w *watcher) remove() {
	w.c.mu.Lock()
	delete(w.c.watchers, w)
	w.c.mu.Unlock()
}

// Stop ends the watch.
func (w *watcher) Stop() { w.cancel() }

// ResultChan is the event stream.
func (w *watcher) ResultChan() <-chan watch.Event { return w.out }

func (c *Cache) closeWatchers() {
	c.mu.Lock()
	ws := c.watchers
	c.watchers = map[*watcher]struct{}{}
	c.mu.Unlock()
	for w := range ws {
		w.cancel()
	}
}

// Watchers is the number of open watches.
func (c *Cache) Watchers() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.watchers)
}
