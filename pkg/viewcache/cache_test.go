package viewcache

import (
	"context"
	"sync"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/kubestash/backupview/pkg/apis/ui"
	"github.com/kubestash/backupview/pkg/kubestash"
)

// src is an in-memory Source holding only BackupConfigurations and sessions.
type src struct {
	mu       sync.Mutex
	bcs      map[string]*kubestash.BackupConfiguration
	sessions map[string][]*kubestash.BackupSession
}

func (s *src) BackupConfiguration(k string) *kubestash.BackupConfiguration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bcs[k]
}
func (s *src) BackupConfigurations() []*kubestash.BackupConfiguration {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*kubestash.BackupConfiguration
	for _, b := range s.bcs {
		out = append(out, b)
	}
	return out
}
func (s *src) BackupSessions(k string) []*kubestash.BackupSession {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sessions[k]
}
func (s *src) CronJobs(string) []*kubestash.CronJob                      { return nil }
func (s *src) Repository(string, string) *kubestash.Repository           { return nil }
func (s *src) BackupStorage(string, string) *kubestash.BackupStorage     { return nil }
func (s *src) RetentionPolicy(string, string) *kubestash.RetentionPolicy { return nil }
func (s *src) Target(kubestash.TypedRef) (*kubestash.Object, bool)       { return nil, false }

func (s *src) put(ns, name, rv string, paused bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.bcs[ns+"/"+name] = &kubestash.BackupConfiguration{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, ResourceVersion: rv}, Paused: paused}
}

func (s *src) session(bc, name, rv, phase string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sessions[bc] = []*kubestash.BackupSession{{ObjectMeta: metav1.ObjectMeta{Name: name, ResourceVersion: rv}, Phase: phase}}
}

func start(t *testing.T, opts Options) (*src, *Cache, context.Context) {
	s := &src{bcs: map[string]*kubestash.BackupConfiguration{}, sessions: map[string][]*kubestash.BackupSession{}}
	s.put("a", "one", "10", false)
	s.put("a", "two", "11", false)
	s.put("b", "three", "12", false)
	c := New(s, opts)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go c.Run(ctx, func() bool { return true })
	for !c.Ready() {
		time.Sleep(5 * time.Millisecond)
	}
	return s, c, ctx
}

func next(t *testing.T, w watch.Interface) watch.Event {
	t.Helper()
	select {
	case e := <-w.ResultChan():
		return e
	case <-time.After(3 * time.Second):
		t.Fatal("no event")
		return watch.Event{}
	}
}

func name(e watch.Event) string {
	v := e.Object.(*ui.BackupConfigurationView)
	return string(e.Type) + " " + v.Namespace + "/" + v.Name + "@" + v.ResourceVersion
}

func TestSnapshotAndRange(t *testing.T) {
	_, c, _ := start(t, Options{})
	snap := c.Current()
	if snap.RV != 12 || len(snap.Entries) != 3 {
		t.Fatalf("snapshot rv %d entries %d", snap.RV, len(snap.Entries))
	}
	if got := snap.Range("a", ""); len(got) != 2 || got[0].Key != "a/one" {
		t.Errorf("range a = %v", got)
	}
	if got := snap.Range("a", "a/one"); len(got) != 1 || got[0].Key != "a/two" {
		t.Errorf("range a after a/one = %v", got)
	}
	if got := snap.Range("", "a/two"); len(got) != 1 || got[0].Key != "b/three" {
		t.Errorf("range all after a/two = %v", got)
	}
	if got := snap.Range("ab", ""); len(got) != 0 {
		t.Errorf("namespace ab must not match a: %v", got)
	}
}

func TestWatchInitialAndChanges(t *testing.T) {
	s, c, ctx := start(t, Options{})
	w, err := c.Watch(ctx, WatchOptions{Initial: true, InitialEnd: true, Filter: func(v *ui.BackupConfigurationView) bool { return v.Namespace == "a" }}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	for _, want := range []string{"ADDED a/one@10", "ADDED a/two@11"} {
		if got := name(next(t, w)); got != want {
			t.Errorf("got %s, want %s", got, want)
		}
	}
	if e := next(t, w); e.Type != watch.Bookmark || e.Object.(*ui.BackupConfigurationView).Annotations[metav1.InitialEventsAnnotationKey] != "true" {
		t.Errorf("want the initial-events-end bookmark, got %v", e)
	}
	// A joined object changes: the view is MODIFIED at the object's version.
	s.session("a/one", "s1", "20", "Running")
	c.Notify([]string{"a/one"}, 20, false)
	if got := name(next(t, w)); got != "MODIFIED a/one@20" {
		t.Errorf("got %s", got)
	}
	// A change in another namespace is not seen; a deletion folds the deletion's version in.
	s.put("b", "three", "21", true)
	c.Notify([]string{"b/three"}, 21, false)
	s.mu.Lock()
	delete(s.bcs, "a/two")
	s.mu.Unlock()
	c.Notify([]string{"a/two"}, 22, true)
	if got := name(next(t, w)); got != "DELETED a/two@22" {
		t.Errorf("got %s", got)
	}
	// A notification that changes nothing emits nothing.
	c.Notify([]string{"a/one"}, 23, false)
	s.put("a", "new", "24", false)
	c.Notify([]string{"a/new"}, 24, false)
	if got := name(next(t, w)); got != "ADDED a/new@24" {
		t.Errorf("got %s", got)
	}
}

func TestWatchResumeAndGone(t *testing.T) {
	s, c, ctx := start(t, Options{History: 3})
	for i, rv := range []string{"20", "21", "22", "23", "24"} {
		s.session("a/one", "s", rv, []string{"Running", "Succeeded", "Failed", "Running", "Succeeded"}[i])
		c.Notify([]string{"a/one"}, 0, false)
		for c.Current().RV != parse(rv) {
			time.Sleep(5 * time.Millisecond)
		}
	}
	// Resume after 22: 23 and 24 are replayed, nothing else.
	w, err := c.Watch(ctx, WatchOptions{ResourceVersion: 22}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"MODIFIED a/one@23", "MODIFIED a/one@24"} {
		if got := name(next(t, w)); got != want {
			t.Errorf("got %s, want %s", got, want)
		}
	}
	w.Stop()
	// 20 is older than the 3 kept events: 410 Gone.
	if _, err := c.Watch(ctx, WatchOptions{ResourceVersion: 12}, nil); !apierrors.IsResourceExpired(err) && !apierrors.IsGone(err) {
		t.Errorf("want 410 for a too old version, got %v", err)
	}
	// A version from the future waits, then fails as too large.
	if _, err := c.Watch(ctx, WatchOptions{ResourceVersion: 1000}, nil); !apierrors.IsTimeout(err) {
		t.Errorf("want a timeout for a too large version, got %v", err)
	}
}

func parse(s string) uint64 {
	var n uint64
	for _, c := range s {
		n = n*10 + uint64(c-'0')
	}
	return n
}

func TestSlowWatcherIsDroppedWithoutBlockingOthers(t *testing.T) {
	s, c, ctx := start(t, Options{WatcherBuffer: 4})
	dropped := 0
	var mu sync.Mutex
	slow, err := c.Watch(ctx, WatchOptions{}, func() { mu.Lock(); dropped++; mu.Unlock() })
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Stop()
	fast, err := c.Watch(ctx, WatchOptions{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer fast.Stop()
	// The fast watcher reads everything; the slow one reads nothing.
	got := 0
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range fast.ResultChan() {
			got++
			if got == 100 {
				return
			}
		}
	}()
	for i := 0; i < 100; i++ {
		rv := 100 + i
		s.session("a/one", "s", itoa(rv), itoa(i))
		c.Notify([]string{"a/one"}, 0, false)
		for c.Current().RV != uint64(rv) {
			time.Sleep(time.Millisecond)
		}
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatalf("the fast watcher got %d of 100 events", got)
	}
	mu.Lock()
	if dropped != 1 {
		t.Errorf("slow watcher dropped %d times", dropped)
	}
	mu.Unlock()
	// The slow watcher ends with an ERROR event (410, so clients re-list), then closes.
	var last watch.Event
	for e := range slow.ResultChan() {
		last = e
	}
	if st, ok := last.Object.(*metav1.Status); last.Type != watch.Error || !ok || st.Code != 410 {
		t.Errorf("slow watcher's last event = %v", last)
	}
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	s := ""
	for ; i > 0; i /= 10 {
		s = string(rune('0'+i%10)) + s
	}
	return s
}

func TestSnapshotsForPaging(t *testing.T) {
	s, c, _ := start(t, Options{Snapshots: 2})
	first := c.Current()
	for i, rv := range []string{"30", "31", "32"} {
		s.session("b/three", "x", rv, itoa(i))
		c.Notify([]string{"b/three"}, 0, false)
		for c.Current().RV != parse(rv) {
			time.Sleep(time.Millisecond)
		}
	}
	if c.SnapshotAt(first.RV) != nil {
		t.Error("snapshot kept beyond the limit")
	}
	if got := c.SnapshotAt(32); got == nil || got.Find("b/three").RV != 32 {
		t.Errorf("latest snapshot = %v", got)
	}
	// Snapshots are immutable: the old one still holds the old view.
	if old := c.SnapshotAt(31); old == nil || old.Find("b/three").View.ResourceVersion != "31" {
		t.Error("an older snapshot changed")
	}
}
