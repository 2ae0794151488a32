package viewcache

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/apiserver/pkg/storage"

	ui "github.com/kubestash/backupview/pkg/apis/ui/v1alpha1"
	"github.com/kubestash/backupview/pkg/join"
	"github.com/kubestash/backupview/pkg/kubestash"
)

// src is an in-memory ViewSource holding only BackupConfigurations and sessions.
type src struct {
	mu       sync.Mutex
	bcs      map[string]*kubestash.BackupConfiguration
	sessions map[string][]*kubestash.BackupSession
	listed   uint64
	// slow makes the lookups of one view block until it is closed.
	slow    map[string]chan struct{}
	lookups atomic.Int64
}

func newSrc() *src {
	return &src{bcs: map[string]*kubestash.BackupConfiguration{}, sessions: map[string][]*kubestash.BackupSession{}, slow: map[string]chan struct{}{}}
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
	s.lookups.Add(1)
	s.mu.Lock()
	ch := s.slow[k]
	out := s.sessions[k]
	s.mu.Unlock()
	if ch != nil {
		<-ch
	}
	return out
}
func (s *src) ListedResourceVersion() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.listed
}
func (s *src) CronJobs(string, string) []*kubestash.CronJob              { return nil }
func (s *src) Repository(string, string) *kubestash.Repository           { return nil }
func (s *src) BackupStorage(string, string) *kubestash.BackupStorage     { return nil }
func (s *src) RetentionPolicy(string, string) *kubestash.RetentionPolicy { return nil }
func (s *src) Target(kubestash.TypedRef) (*kubestash.Object, bool)       { return nil, false }
func (s *src) Snapshots(string, string) ([]*kubestash.Snapshot, bool)    { return nil, true }
func (s *src) BackupVerifier(string, string) *kubestash.BackupVerifier   { return nil }
func (s *src) VerificationSessions(string) ([]*kubestash.BackupVerificationSession, bool) {
	return nil, true
}

func (s *src) put(ns, name, rv string, paused bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.bcs[ns+"/"+name] = &kubestash.BackupConfiguration{Meta: kubestash.Meta{Namespace: ns, Name: name, ResourceVersion: rv}, Paused: paused}
}

func (s *src) del(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.bcs, key)
}

func (s *src) session(bc, name, rv, phase string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sessions[bc] = []*kubestash.BackupSession{{Meta: kubestash.Meta{Name: name, ResourceVersion: rv}, Phase: phase}}
}

// v is the version of view key after a source change at revision r (version.go).
func v(r uint64, key string) uint64 { return candidate(r, key) }

// viewCache is the cache the tests drive: views, built by the join from a src.
type viewCache = Cache[*ui.BackupConfigurationView]

type watchOptions = WatchOptions[*ui.BackupConfigurationView]

func start(t *testing.T, opts Options) (*src, *viewCache, context.Context) {
	s := newSrc()
	s.put("a", "one", "10", false)
	s.put("a", "two", "11", false)
	s.put("b", "three", "12", false)
	return s, run(t, s, opts), context.Background()
}

func run(t *testing.T, s *src, opts Options) *viewCache {
	c := New("backupconfigurationviews", join.Views(s, join.Options{}), opts)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go c.Run(ctx)
	if err := c.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	return c
}

// settle waits until the published version is at least rv.
func settle(t *testing.T, c *viewCache, rv uint64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if _, err := c.WaitFor(ctx, rv); err != nil {
		t.Fatalf("version %d not reached (at %d)", rv, c.Current().RV)
	}
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

func none(t *testing.T, w watch.Interface) {
	t.Helper()
	select {
	case e := <-w.ResultChan():
		t.Fatalf("unexpected event %s", name(e))
	case <-time.After(100 * time.Millisecond):
	}
}

func name(e watch.Event) string {
	o := e.Object.(metav1.Object)
	return string(e.Type) + " " + o.GetNamespace() + "/" + o.GetName() + "@" + o.GetResourceVersion()
}

func at(typ, key string, rv uint64) string { return fmt.Sprintf("%s %s@%d", typ, key, rv) }

func TestSnapshotAndRange(t *testing.T) {
	_, c, _ := start(t, Options{})
	snap := c.Current()
	if snap.RV != v(12, "b/three") || len(snap.Entries) != 3 {
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
	w, err := c.Watch(ctx, WatchOptions[*ui.BackupConfigurationView]{Initial: true, InitialEnd: true, Namespace: "a"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	for _, want := range []string{at("ADDED", "a/one", v(10, "a/one")), at("ADDED", "a/two", v(11, "a/two"))} {
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
	if got := name(next(t, w)); got != at("MODIFIED", "a/one", v(20, "a/one")) {
		t.Errorf("got %s", got)
	}
	// A change in another namespace is not seen; a deletion carries the deletion's version.
	s.put("b", "three", "21", true)
	c.Notify([]string{"b/three"}, 21, false)
	s.del("a/two")
	c.Notify([]string{"a/two"}, 22, true)
	if got := name(next(t, w)); got != at("DELETED", "a/two", v(22, "a/two")) {
		t.Errorf("got %s", got)
	}
	// A notification that changes nothing emits nothing.
	c.Notify([]string{"a/one"}, 23, false)
	s.put("a", "new", "24", false)
	c.Notify([]string{"a/new"}, 24, false)
	if got := name(next(t, w)); got != at("ADDED", "a/new", v(24, "a/new")) {
		t.Errorf("got %s", got)
	}
}

// Promise 10: one source change that changes several views gives each its own version, in
// key order; a change whose source version is old (a relist, a late target sync) still gets
// a version above every earlier one; a resume from any of them neither skips nor repeats.
func TestEveryChangeHasAVersionOfItsOwn(t *testing.T) {
	s, c, ctx := start(t, Options{})
	s.session("a/one", "s", "30", "Running")
	s.session("a/two", "s", "30", "Running")
	s.session("b/three", "s", "30", "Running")
	c.Notify([]string{"a/one", "a/two", "b/three"}, 30, false)
	keys := []string{"a/one", "a/two", "b/three"}
	sort.Slice(keys, func(i, j int) bool { return v(30, keys[i]) < v(30, keys[j]) })
	settle(t, c, v(30, keys[2]))
	// Seen only through a relist: the source version is old.
	s.put("a", "one", "5", true)
	c.Notify([]string{"a/one"}, 0, false)
	settle(t, c, v(30, keys[2])+1)
	var want []string
	for _, k := range keys {
		want = append(want, at("MODIFIED", k, v(30, k)))
	}
	want = append(want, at("MODIFIED", "a/one", v(30, keys[2])+1))
	for i, from := range []uint64{v(12, "b/three"), v(30, keys[0]), v(30, keys[1]), v(30, keys[2])} {
		w, err := c.Watch(ctx, watchOptions{ResourceVersion: from}, nil)
		if err != nil {
			t.Fatalf("resume from %d: %v", from, err)
		}
		for _, wnt := range want[i:] {
			if got := name(next(t, w)); got != wnt {
				t.Errorf("resume from %d: got %s, want %s", from, got, wnt)
			}
		}
		none(t, w)
		w.Stop()
	}
}

// Promise 9: the first build vouches for nothing older than what the sources had listed: a
// watch from an older version (another process's, or from before a restart) gets 410.
func TestNoGhostsAfterARestart(t *testing.T) {
	s := newSrc()
	s.put("a", "one", "10", false)
	s.listed = 40 // e.g. a deletion at 40 that this process never saw as an event
	c := run(t, s, Options{})
	if got := c.Current().RV; got != floorOf(40) {
		t.Fatalf("first build at %d, want the floor %d", got, floorOf(40))
	}
	for _, from := range []uint64{v(10, "a/one"), v(39, "a/one"), v(40, "a/one")} {
		if _, err := c.Watch(context.Background(), watchOptions{ResourceVersion: from}, nil); !apierrors.IsResourceExpired(err) {
			t.Errorf("resume from %d (before this process): want 410, got %v", from, err)
		}
	}
	w, err := c.Watch(context.Background(), watchOptions{ResourceVersion: floorOf(40)}, nil)
	if err != nil {
		t.Fatalf("resume from the first build's own version: %v", err)
	}
	w.Stop()
}

func TestWatchResumeAndGone(t *testing.T) {
	s, c, ctx := start(t, Options{History: 3})
	for i, rv := range []uint64{20, 21, 22, 23, 24} {
		s.session("a/one", "s", fmt.Sprint(rv), []string{"Running", "Succeeded", "Failed", "Running", "Succeeded"}[i])
		c.Notify([]string{"a/one"}, 0, false)
		settle(t, c, v(rv, "a/one"))
	}
	// Resume after 22: 23 and 24 are replayed, nothing else.
	w, err := c.Watch(ctx, watchOptions{ResourceVersion: v(22, "a/one")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{at("MODIFIED", "a/one", v(23, "a/one")), at("MODIFIED", "a/one", v(24, "a/one"))} {
		if got := name(next(t, w)); got != want {
			t.Errorf("got %s, want %s", got, want)
		}
	}
	w.Stop()
	// 21 is the newest dropped event: resuming from it still works, from 20 it cannot.
	if w, err := c.Watch(ctx, watchOptions{ResourceVersion: v(21, "a/one")}, nil); err != nil {
		t.Errorf("resume from the newest dropped event: %v", err)
	} else {
		w.Stop()
	}
	if _, err := c.Watch(ctx, watchOptions{ResourceVersion: v(20, "a/one")}, nil); !apierrors.IsResourceExpired(err) {
		t.Errorf("want 410 for a too old version, got %v", err)
	}
	// A version from the future waits, then fails as too large.
	if _, err := c.Watch(ctx, watchOptions{ResourceVersion: v(1000, "a/one")}, nil); !apierrors.IsTimeout(err) {
		t.Errorf("want a timeout for a too large version, got %v", err)
	}
}

// Promise 11: a WatchList (initial events) honours resourceVersion as LIST does: it waits
// for the version and starts from a state at least that new, or fails as too large.
func TestWatchListHonoursResourceVersion(t *testing.T) {
	s, c, ctx := start(t, Options{})
	if _, err := c.Watch(ctx, watchOptions{Initial: true, InitialEnd: true, ResourceVersion: v(500, "a/one")}, nil); !apierrors.IsTimeout(err) {
		t.Fatalf("WatchList from a version not reached: want the too-large timeout, got %v", err)
	}
	go func() {
		time.Sleep(200 * time.Millisecond)
		s.put("b", "three", "50", true)
		c.Notify([]string{"b/three"}, 50, false)
	}()
	w, err := c.Watch(ctx, watchOptions{Initial: true, InitialEnd: true, ResourceVersion: v(50, "b/three")}, nil)
	if err != nil {
		t.Fatalf("WatchList from a version reached within the wait: %v", err)
	}
	defer w.Stop()
	var got []string
	for e := next(t, w); e.Type != watch.Bookmark; e = next(t, w) {
		got = append(got, name(e))
	}
	if len(got) != 3 || got[2] != at("ADDED", "b/three", v(50, "b/three")) {
		t.Errorf("initial events %v: want the state at %d", got, v(50, "b/three"))
	}
}

// Promise 15: a watcher only gets its namespace's events, so a quiet namespace's watcher is
// never dropped because of another namespace's traffic, while a cluster-wide watcher that
// does not read is.
func TestQuietWatcherIsNotDroppedForOthersTraffic(t *testing.T) {
	s, c, ctx := start(t, Options{WatcherBuffer: 4})
	var dropped atomic.Int32
	onDrop := func() { dropped.Add(1) }
	quiet, err := c.Watch(ctx, watchOptions{Namespace: "b"}, onDrop)
	if err != nil {
		t.Fatal(err)
	}
	defer quiet.Stop()
	stuck, err := c.Watch(ctx, watchOptions{}, onDrop)
	if err != nil {
		t.Fatal(err)
	}
	defer stuck.Stop()
	for i := uint64(100); i < 140; i++ { // more than out (16) + the buffer (4)
		s.session("a/one", "s", fmt.Sprint(i), fmt.Sprint(i))
		c.Notify([]string{"a/one"}, i, false)
		settle(t, c, v(i, "a/one"))
	}
	if got := dropped.Load(); got != 1 {
		t.Errorf("dropped %d watchers, want only the cluster-wide one that never read", got)
	}
	s.put("b", "three", "200", true)
	c.Notify([]string{"b/three"}, 200, false)
	if got := name(next(t, quiet)); got != at("MODIFIED", "b/three", v(200, "b/three")) {
		t.Errorf("quiet watcher got %s", got)
	}
	var last watch.Event
	for e := range stuck.ResultChan() {
		last = e
	}
	if st, ok := last.Object.(*metav1.Status); last.Type != watch.Error || !ok || st.Code != 410 {
		t.Errorf("stuck watcher's last event = %v", last)
	}
}

// Promise 15: watches beyond the cap get 429.
func TestWatchCap(t *testing.T) {
	_, c, ctx := start(t, Options{MaxWatchers: 2, MaxWatchersPerUser: 2})
	for i := 0; i < 2; i++ {
		w, err := c.Watch(ctx, watchOptions{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer w.Stop()
	}
	if _, err := c.Watch(ctx, watchOptions{}, nil); !apierrors.IsTooManyRequests(err) {
		t.Fatalf("third watch: want 429, got %v", err)
	}
}

// Promise 30: one user holds at most their share of the watches; another user still gets one
// while any slot is free, and a closed watch gives its user's slot back.
func TestWatchSharePerUser(t *testing.T) {
	_, c, ctx := start(t, Options{MaxWatchers: 5, MaxWatchersPerUser: 2})
	var tenant []watch.Interface
	for i := 0; i < 2; i++ {
		w, err := c.Watch(ctx, watchOptions{User: "tenant", Namespace: "a"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		tenant = append(tenant, w)
	}
	_, err := c.Watch(ctx, watchOptions{User: "tenant", Namespace: "b"}, nil)
	if !apierrors.IsTooManyRequests(err) || !strings.Contains(err.Error(), "limit per user (--max-watches-per-user)") {
		t.Fatalf("the tenant's third watch: %v, want 429 naming --max-watches-per-user", err)
	}
	for _, u := range []string{"admin", "admin", "other"} {
		w, err := c.Watch(ctx, watchOptions{User: u}, nil)
		if err != nil {
			t.Fatalf("%s's watch while the tenant is at its share: %v", u, err)
		}
		defer w.Stop()
	}
	if _, err := c.Watch(ctx, watchOptions{User: "fourth"}, nil); !apierrors.IsTooManyRequests(err) || !strings.Contains(err.Error(), "the server's limit, --max-watches") {
		t.Fatalf("a watch past --max-watches: %v, want 429", err)
	}
	tenant[0].Stop()
	for range tenant[0].ResultChan() { // closed once the watcher has left the set
	}
	w, err := c.Watch(ctx, watchOptions{User: "tenant"}, nil)
	if err != nil {
		t.Fatalf("the tenant's watch after closing one: %v", err)
	}
	w.Stop()
	tenant[1].Stop()
}

// Promise 14: a view that takes long to build does not hold back the others: they are
// published after the slice budget, the slow one when it is done.
func TestSlowViewDoesNotStallOthers(t *testing.T) {
	s, c, ctx := start(t, Options{SliceBudget: 50 * time.Millisecond})
	w, err := c.Watch(ctx, watchOptions{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	release := make(chan struct{})
	s.mu.Lock()
	s.slow["a/one"] = release
	s.mu.Unlock()
	s.put("a", "one", "60", true)
	s.put("b", "three", "60", true)
	c.Notify([]string{"a/one", "b/three"}, 60, false)
	if got := name(next(t, w)); got != at("MODIFIED", "b/three", v(60, "b/three")) {
		t.Fatalf("got %s, want b/three first", got)
	}
	// Changed again while a/one still builds: a/one is not built twice at once.
	s.put("b", "three", "61", false)
	c.Notify([]string{"a/one", "b/three"}, 61, false)
	if got := name(next(t, w)); got != at("MODIFIED", "b/three", v(61, "b/three")) {
		t.Fatalf("got %s", got)
	}
	close(release)
	s.mu.Lock()
	delete(s.slow, "a/one")
	s.mu.Unlock()
	// a/one's late result comes after everything published so far; its rebuild for 61 then
	// finds nothing new.
	if got := name(next(t, w)); got != at("MODIFIED", "a/one", v(61, "b/three")+1) {
		t.Errorf("got %s", got)
	}
	none(t, w)
}

func TestSnapshotsForPaging(t *testing.T) {
	s, c, _ := start(t, Options{Snapshots: 2})
	first := c.Current()
	for i, rv := range []uint64{30, 31, 32} {
		s.session("b/three", "x", fmt.Sprint(rv), fmt.Sprint(i))
		c.Notify([]string{"b/three"}, 0, false)
		settle(t, c, v(rv, "b/three"))
	}
	if c.SnapshotAt(first.RV) != nil {
		t.Error("snapshot kept beyond the limit")
	}
	if got := c.SnapshotAt(v(32, "b/three")); got == nil || got.Find("b/three").RV != v(32, "b/three") {
		t.Errorf("latest snapshot = %v", got)
	}
	// Snapshots are immutable: the old one still holds the old view.
	if old := c.SnapshotAt(v(31, "b/three")); old == nil || old.Find("b/three").Object.ResourceVersion != fmt.Sprint(v(31, "b/three")) {
		t.Error("an older snapshot changed")
	}
}

// TestReach: a version already published answers at once; one not reached within WaitForRV
// is the too-large timeout client-go re-lists on; the request's own end wins over both.
func TestReach(t *testing.T) {
	_, c, ctx := start(t, Options{})
	now := c.Current().RV
	if snap, err := c.Reach(ctx, now); err != nil || snap.RV < now {
		t.Fatalf("Reach(%d) = %v, %v; want the snapshot at %[1]d", now, snap, err)
	}
	t0 := time.Now()
	_, err := c.Reach(ctx, 1<<40)
	if !storage.IsTooLargeResourceVersion(err) || time.Since(t0) < WaitForRV {
		t.Fatalf("Reach(far ahead) = %v after %s, want the too-large timeout after %s", err, time.Since(t0), WaitForRV)
	}
	done, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := c.Reach(done, 1<<40); !errors.Is(err, context.Canceled) {
		t.Fatalf("Reach with the request gone = %v, want context.Canceled", err)
	}
}
