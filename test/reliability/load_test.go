package reliability

import (
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"math/rand"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/rest"

	"github.com/kubestash/backupview/pkg/apis/ui/v1alpha1"
	clientset "github.com/kubestash/backupview/pkg/generated/clientset/versioned"
	"github.com/kubestash/backupview/test/harness"
	"github.com/kubestash/backupview/test/scale"
	"github.com/kubestash/backupview/test/scale/stats"
)

// latencies collects request durations per operation.
type latencies struct {
	mu sync.Mutex
	d  map[string][]time.Duration
}

func (l *latencies) add(op string, d time.Duration) {
	l.mu.Lock()
	l.d[op] = append(l.d[op], d)
	l.mu.Unlock()
}

// ownClient is a clientset with its own TCP connection (a distinct Dial keeps client-go from
// sharing one cached transport between clients).
func ownClient(c *harness.Cluster) clientset.Interface {
	cfg := rest.CopyConfig(c.Config)
	cfg.QPS, cfg.Burst = -1, 0 // no client-side throttling: the load is the point
	cfg.Dial = (&net.Dialer{Timeout: 10 * time.Second}).DialContext
	return clientset.NewForConfigOrDie(cfg)
}

// markers records the writer's changes, each with a fresh marker value, and what the reading
// watchers saw of them. A view event may carry several changes at once (a view changed twice
// before it was rebuilt shows only the last state), so a marker counts as seen in a view once
// the watcher saw it or a later marker of the same source there.
type markers struct {
	mu      sync.Mutex
	written []marker       // in write order: the index orders a source's markers
	byValue map[string]int // marker value -> index in written
	scopes  []string       // per watcher: its namespace, "" for all
	// seen[w][view key][source] is the latest marker of source that watcher w saw in the view.
	seen      []map[string]map[string]int
	lags      []time.Duration // from the write to a watcher's first sight of that very marker
	firstSeen map[[2]int]bool
	progress  chan struct{} // a watcher saw something new
}

type marker struct {
	value, source string
	views         []string // keys (namespace/name) of the views that show it
	at            time.Time
	failed        bool // the write failed: nothing to see
}

func newMarkers(scopes []string) *markers {
	m := &markers{byValue: map[string]int{}, scopes: scopes, firstSeen: map[[2]int]bool{}, progress: make(chan struct{}, 1)}
	for range scopes {
		m.seen = append(m.seen, map[string]map[string]int{})
	}
	return m
}

// write registers a marker before it is written (a watcher may see it before the write
// returns) and returns a function to call when the write failed.
func (m *markers) write(value, source string, views []string) (failed func()) {
	m.mu.Lock()
	defer m.mu.Unlock()
	i := len(m.written)
	m.written = append(m.written, marker{value: value, source: source, views: views, at: time.Now()})
	m.byValue[value] = i
	return func() { m.mu.Lock(); m.written[i].failed = true; m.mu.Unlock() }
}

// observe records the markers that a view shows to watcher w.
func (m *markers) observe(w int, v *v1alpha1.BackupConfigurationView) {
	key := v.Namespace + "/" + v.Name
	var values []string
	for _, bs := range v.BackupSessions {
		values = append(values, bs.Duration)
	}
	for _, st := range v.BackupStorages {
		values = append(values, st.Size)
	}
	now := time.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	news := false
	for _, val := range values {
		i, ok := m.byValue[val]
		if !ok {
			continue
		}
		mk := m.written[i]
		if m.seen[w][key] == nil {
			m.seen[w][key] = map[string]int{}
		}
		if last, ok := m.seen[w][key][mk.source]; !ok || i > last {
			m.seen[w][key][mk.source] = i
			news = true
		}
		if !m.firstSeen[[2]int{i, w}] {
			m.firstSeen[[2]int{i, w}] = true
			m.lags = append(m.lags, now.Sub(mk.at))
		}
	}
	if news {
		select {
		case m.progress <- struct{}{}:
		default:
		}
	}
}

// lost lists every (marker, watcher, view) where a watcher whose scope holds the view never
// saw that marker or a later one of its source.
func (m *markers) lost() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for i, mk := range m.written {
		if mk.failed {
			continue
		}
		for w, scope := range m.scopes {
			for _, key := range mk.views {
				if scope != "" && !strings.HasPrefix(key, scope+"/") {
					continue
				}
				if last, ok := m.seen[w][key][mk.source]; !ok || last < i {
					out = append(out, fmt.Sprintf("%s (%s, written %s ago) at watcher %d (%s) in %s",
						mk.value, mk.source, time.Since(mk.at).Round(time.Millisecond), w, cmp.Or(scope, "all namespaces"), key))
				}
			}
		}
	}
	return out
}

// settle waits until every marker is accounted for or timeout passes, and returns the lost.
func (m *markers) settle(timeout time.Duration) []string {
	deadline := time.After(timeout)
	for {
		lost := m.lost()
		if len(lost) == 0 {
			return nil
		}
		select {
		case <-m.progress:
		case <-deadline:
			return m.lost()
		}
	}
}

// stuckWatcher opens a watch of every view through kube-apiserver on a raw connection with a
// small receive buffer and never reads from it.
func stuckWatcher(t *testing.T, c *harness.Cluster) net.Conn {
	t.Helper()
	pki := filepath.Join(c.Dir, "pki")
	kp, err := tls.LoadX509KeyPair(filepath.Join(pki, "admin.crt"), filepath.Join(pki, "admin.key"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	ca, _ := os.ReadFile(filepath.Join(pki, "ca.crt"))
	pool.AppendCertsFromPEM(ca)
	d := &net.Dialer{Control: nil}
	raw, err := d.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", c.Ports.APIServer))
	if err != nil {
		t.Fatal(err)
	}
	_ = raw.(*net.TCPConn).SetReadBuffer(4096)
	conn := tls.Client(raw, &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{kp}, NextProtos: []string{"http/1.1"}, ServerName: "127.0.0.1"})
	if err := conn.Handshake(); err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "GET %s?watch=1 HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json\r\n\r\n", viewsPath)
	return conn
}

// TestLoad (promise 6): at the scale benchmark's small scale (20 namespaces, 200
// BackupConfigurations, 2,000 BackupSessions), 50 clients mix LIST, GET and WATCH through
// kube-apiserver for 60 s while sources change: no errors, p99 recorded, memory bounded, no
// goroutine leak. Meanwhile 20 watchers that never read are dropped, and the watchers that
// do read (10 of one namespace, 2 of all) still get every change promptly: each change
// carries a fresh marker, and every marker must reach every reading watcher whose scope
// holds a view it changes.
func TestLoad(t *testing.T) {
	need(t)
	// A watcher may fall 100 events behind (default 1000): with kube-apiserver's and the
	// kernel's buffers in front, a watcher that never reads then fills up within the minute.
	c := startCluster(t, harness.Options{ServerArgs: []string{"--watcher-buffer=100"}, NoTriggers: true})
	s := scale.Small
	loadScale(t, c, s)
	direct := bvDirect(t, c, c.Ports.Server)
	bvPID := pidOf(c, "backupview")
	sessionsOf := map[string]int{}
	for i := 0; i < s.BCs; i++ {
		sessionsOf[s.Key(i)] = s.SessionsOf(i)
	}
	if err := waitUntil(60*time.Second, func() error {
		l, err := c.BV.UiV1alpha1().BackupConfigurationViews("").List(context.Background(), metav1.ListOptions{})
		if err != nil || len(l.Items) != s.BCs {
			return fmt.Errorf("%v, %d views", err, len(l.Items))
		}
		for _, v := range l.Items {
			if len(v.BackupSessions) != sessionsOf[v.Namespace+"/"+v.Name] {
				return fmt.Errorf("%s/%s has %d sessions so far", v.Namespace, v.Name, len(v.BackupSessions))
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	rss0 := memKiB(bvPID, "VmRSS")
	goroutines0 := metric(t, direct, "go_goroutines")
	dropped0 := metric(t, direct, "backupview_watchers_dropped_total")
	t.Logf("before the load: backupview RSS %d MiB, %v goroutines", rss0>>10, goroutines0)

	const (
		clients     = 50
		watchers    = 10 // of the clients, these keep a namespace watched all along
		allWatchers = 2  // and these all namespaces
		stuck       = 20
		duration    = 60 * time.Second
	)
	ctx, cancel := context.WithTimeout(context.Background(), duration)
	defer cancel()
	// The reading watchers outlive the load until every marker has arrived.
	watchCtx, stopWatchers := context.WithCancel(context.Background())
	defer stopWatchers()
	var scopes []string
	for w := 0; w < watchers; w++ {
		scopes = append(scopes, s.Namespace(w*s.BCs/watchers))
	}
	for range allWatchers {
		scopes = append(scopes, "")
	}
	mk := newMarkers(scopes)
	storageViews := map[int][]string{}
	for i := 0; i < s.BCs; i++ {
		storageViews[s.StorageOf(i)] = append(storageViews[s.StorageOf(i)], s.Key(i))
	}
	lat := &latencies{d: map[string][]time.Duration{}}
	var errMu sync.Mutex
	var errs []string
	fail := func(format string, args ...interface{}) {
		errMu.Lock()
		if len(errs) < 30 {
			errs = append(errs, fmt.Sprintf(format, args...))
		}
		errMu.Unlock()
	}
	var ops atomic.Int64

	// The writer: a BackupSession's duration carries a fresh marker every 250 ms (one view
	// changes), and a BackupStorage's totalSize every 500 ms (50 views change at once).
	var writes atomic.Int64
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		tick := time.NewTicker(250 * time.Millisecond)
		defer tick.Stop()
		for n := 0; ; n++ {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			i := (n * 37) % s.BCs
			name := s.BackupSessionName(i, s.SessionsOf(i)-1) // the newest
			mark := fmt.Sprintf("%dms", 1000000+n)
			failed := mk.write(mark, "BackupSession "+s.Namespace(i)+"/"+name, []string{s.Key(i)})
			patch := []byte(fmt.Sprintf(`{"status":{"duration":%q}}`, mark))
			if _, err := c.Dyn.Resource(gvrBS).Namespace(s.Namespace(i)).Patch(context.Background(), name, types.MergePatchType, patch, metav1.PatchOptions{}, "status"); err != nil {
				failed()
				fail("writer: %v", err)
			}
			writes.Add(1)
			if n%2 == 0 {
				k := (n / 2) % s.Storages
				size := fmt.Sprintf("%d MiB", 1000000+n)
				failed := mk.write(size, "BackupStorage "+scale.StorageName(k), storageViews[k])
				patch := []byte(fmt.Sprintf(`{"status":{"totalSize":%q}}`, size))
				if _, err := c.Dyn.Resource(gvrStorage).Namespace(scale.SharedNamespace).Patch(context.Background(), scale.StorageName(k), types.MergePatchType, patch, metav1.PatchOptions{}, "status"); err != nil {
					failed()
					fail("writer: %v", err)
				}
				writes.Add(1)
			}
		}
	}()

	// 20 watchers that never read.
	var stuckConns []net.Conn
	for i := 0; i < stuck; i++ {
		stuckConns = append(stuckConns, stuckWatcher(t, c))
	}
	defer func() {
		for _, conn := range stuckConns {
			conn.Close()
		}
	}()

	// Memory, sampled every second.
	var rssMax atomic.Int64
	go func() {
		for ctx.Err() == nil {
			if r := memKiB(bvPID, "VmRSS"); r > rssMax.Load() {
				rssMax.Store(r)
			}
			time.Sleep(time.Second)
		}
	}()

	// Clients.
	var wg sync.WaitGroup
	for id := 0; id < clients; id++ {
		wg.Add(1)
		go func(id int) {
			defer wg.Done()
			cs := ownClient(c)
			r := rand.New(rand.NewSource(int64(id)))
			if id < len(scopes) {
				longWatch(watchCtx, cs, scopes[id], id, lat, fail, mk)
				return
			}
			for ctx.Err() == nil {
				i := r.Intn(s.BCs)
				var op string
				start := time.Now()
				var err error
				switch p := r.Intn(100); {
				case p < 40:
					op = "GET"
					_, err = cs.UiV1alpha1().BackupConfigurationViews(s.Namespace(i)).Get(ctx, scale.BCName(i), metav1.GetOptions{})
				case p < 70:
					op = "LIST namespace"
					var l *v1alpha1.BackupConfigurationViewList
					l, err = cs.UiV1alpha1().BackupConfigurationViews(s.Namespace(i)).List(ctx, metav1.ListOptions{})
					if err == nil && len(l.Items) != s.BCs/s.Namespaces {
						err = fmt.Errorf("%d views in %s", len(l.Items), s.Namespace(i))
					}
				case p < 85:
					op = "LIST all (pages of 50)"
					n, cont := 0, ""
					for {
						var l *v1alpha1.BackupConfigurationViewList
						l, err = cs.UiV1alpha1().BackupConfigurationViews("").List(ctx, metav1.ListOptions{Limit: 50, Continue: cont})
						if err != nil {
							break
						}
						n += len(l.Items)
						if cont = l.Continue; cont == "" {
							break
						}
					}
					if err == nil && n != s.BCs {
						err = fmt.Errorf("%d views in all", n)
					}
				default:
					op = "WATCH (to the first event)"
					err = shortWatch(ctx, cs, s.Namespace(i))
				}
				if ctx.Err() != nil {
					return
				}
				if err != nil {
					// The paged LIST may outlive its snapshot under this write rate: a 410 is
					// the documented answer, and kubectl restarts the walk.
					if op == "LIST all (pages of 50)" && strings.Contains(err.Error(), "continue token has expired") {
						lat.add("LIST all: 410, restarted", time.Since(start))
						continue
					}
					fail("client %d %s: %v", id, op, err)
					continue
				}
				lat.add(op, time.Since(start))
				ops.Add(1)
			}
		}(id)
	}
	<-ctx.Done()
	<-writerDone
	// Every change reaches every reading watcher whose scope holds it, or it was lost.
	settleStart := time.Now()
	lost := mk.settle(20 * time.Second)
	settled := time.Since(settleStart)
	stopWatchers()
	wg.Wait()

	// Results.
	var report []string
	line := func(what string, d stats.Sample) string {
		return fmt.Sprintf("%-28s n=%-6d p50=%-8s p90=%-8s p99=%-8s max=%s", what, len(d),
			d.Percentile(0.5).Round(time.Millisecond), d.Percentile(0.9).Round(time.Millisecond),
			d.Percentile(0.99).Round(time.Millisecond), d.Percentile(1).Round(time.Millisecond))
	}
	lat.mu.Lock()
	for op, d := range lat.d {
		report = append(report, line(op, d))
	}
	lat.mu.Unlock()
	mk.mu.Lock()
	lags := stats.Sample(slices.Clone(mk.lags))
	nMarks := len(mk.written)
	mk.mu.Unlock()
	report = append(report, line("event lag (reading watchers)", lags))
	dropped := metric(t, direct, "backupview_watchers_dropped_total") - dropped0
	t.Logf("%d clients for %s: %d requests, %d source writes\n%s", clients, duration, ops.Load(), writes.Load(), strings.Join(report, "\n"))
	t.Logf("backupview RSS: %d MiB before, %d MiB at most during the load; watchers dropped: %v", rss0>>10, rssMax.Load()>>10, dropped)
	t.Logf("%d markers written; %d reading watchers (%d of one namespace, %d of all) accounted for all of them %s after the writer stopped; %d lost",
		nMarks, len(scopes), watchers, allWatchers, settled.Round(time.Millisecond), len(lost))

	for _, e := range errs {
		t.Error(e)
	}
	if len(lost) > 0 {
		t.Errorf("%d markers lost (never seen, nor a later change of the same source, in 20 s after the last write):\n%s",
			len(lost), strings.Join(lost[:min(len(lost), 40)], "\n"))
	}
	if len(lags) == 0 {
		t.Error("the reading watchers saw no marked change")
	} else if p99 := lags.Percentile(0.99); p99 > 5*time.Second {
		t.Errorf("the reading watchers were slowed down: event lag p99 %s", p99)
	}
	if dropped < stuck {
		t.Errorf("%v watchers dropped, want the %d that never read", dropped, stuck)
	}
	if grown := rssMax.Load() - rss0; grown > 384<<10 {
		t.Errorf("backupview RSS grew by %d MiB under load", grown>>10)
	}
	// No leak: once the clients are gone, so are their goroutines.
	for _, conn := range stuckConns {
		conn.Close()
	}
	if err := waitUntil(30*time.Second, func() error {
		if g := metric(t, direct, "go_goroutines"); g > goroutines0+50 {
			return fmt.Errorf("%v goroutines, %v before the load", g, goroutines0)
		}
		return nil
	}); err != nil {
		t.Error(err)
	}
	if r := direct.get("/readyz"); r.code != 200 || !alive(bvPID) {
		t.Errorf("backupview after the load: readyz %d, alive %v", r.code, alive(bvPID))
	}
	if p := serverLogHasPanic(c); p != "" {
		t.Errorf("backupview logged a panic: %s", p)
	}
}

// shortWatch opens a watch of a namespace and waits for its first (initial) event.
func shortWatch(ctx context.Context, cs clientset.Interface, ns string) error {
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	w, err := cs.UiV1alpha1().BackupConfigurationViews(ns).Watch(wctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	defer w.Stop()
	select {
	case e, ok := <-w.ResultChan():
		if !ok {
			return errors.New("watch closed before its first event")
		}
		if e.Type != watch.Added {
			return fmt.Errorf("first event %s %v", e.Type, e.Object)
		}
		return nil
	case <-wctx.Done():
		return wctx.Err()
	}
}

// longWatch watches one namespace ("" for all) for the whole test (list, then watch from the
// list's version; again after the watch ends), recording the markers each view shows.
func longWatch(ctx context.Context, cs clientset.Interface, ns string, id int, lat *latencies, fail func(string, ...interface{}), mk *markers) {
	for ctx.Err() == nil {
		start := time.Now()
		l, err := cs.UiV1alpha1().BackupConfigurationViews(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			if ctx.Err() == nil {
				fail("watcher %d list: %v", id, err)
			}
			return
		}
		if ns != "" {
			lat.add("LIST namespace", time.Since(start))
		}
		for i := range l.Items {
			mk.observe(id, &l.Items[i])
		}
		w, err := cs.UiV1alpha1().BackupConfigurationViews(ns).Watch(ctx, metav1.ListOptions{ResourceVersion: l.ResourceVersion, AllowWatchBookmarks: true})
		if err != nil {
			if ctx.Err() == nil {
				fail("watcher %d watch: %v", id, err)
			}
			return
		}
		for e := range w.ResultChan() {
			if e.Type == watch.Error {
				st, _ := e.Object.(*metav1.Status)
				switch {
				case ctx.Err() != nil: // the test is over: client-go reports the cancelled stream
				case ns == "" && st != nil && st.Code == 410:
					// An all-namespace watcher gets 50 events per storage change and may fall
					// behind the test's small buffer: it relists, as an informer would, and
					// must still account for every marker.
					lat.add("all-ns watcher: 410, relisted (time watched)", time.Since(start))
				default:
					fail("watcher %d: ERROR event %v", id, e.Object)
				}
				break
			}
			if v, ok := e.Object.(*v1alpha1.BackupConfigurationView); ok {
				mk.observe(id, v)
			}
		}
		w.Stop()
	}
}
