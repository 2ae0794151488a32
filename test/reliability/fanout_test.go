package reliability

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kubestash/backupview/test/harness"
	"github.com/kubestash/backupview/test/scale/stats"
)

// TestFanOutScales (promise 15): 2,000 namespace watchers and a cluster-wide one. Each event
// reaches only the watchers whose scope holds it; quiet watchers are never dropped because
// of another namespace's traffic; watches past --max-watches get 429. GET and LIST latency
// and memory per idle watcher are logged (docs/benchmarks.md has the benchmark).
func TestFanOutScales(t *testing.T) {
	need(t)
	const quiet = 1998 // + demo and prod = 2,000 namespace watchers, + 1 cluster-wide
	c := startCluster(t, harness.Options{Fixtures: []string{"hack/demo/samples.yaml"},
		ServerArgs: []string{fmt.Sprintf("--max-watches=%d", quiet+3), fmt.Sprintf("--max-watches-per-user=%d", quiet+3), "--watcher-buffer=50"}})
	bv := bvDirect(t, c, c.Ports.Server)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	latency := func(path string, n int) (p50, p99 time.Duration) {
		var d []time.Duration
		for i := 0; i < n; i++ {
			t0 := time.Now()
			if r := bv.get(path); r.code != 200 {
				t.Fatalf("%s: %d", path, r.code)
			}
			d = append(d, time.Since(t0))
		}
		return stats.Sample(d).Percentile(0.50), stats.Sample(d).Percentile(0.99)
	}
	getPath := "/apis/ui.kubestash.com/v1alpha1/namespaces/prod/backupconfigurationviews/postgres-backup"
	g50, g99 := latency(getPath, 200)
	l50, l99 := latency(viewsPath, 200)
	pid := pidOf(c, "backupview")
	rss0 := memKiB(pid, "VmRSS")

	type counter struct {
		events  atomic.Int64
		errors  atomic.Int64
		foreign atomic.Int64 // events of another namespace than the watcher's
		final   atomic.Bool  // saw demo's last marker
	}
	// One connection per 100 watches: HTTP/2 limits concurrent streams per connection.
	clients := make([]*httpc, 0, 21)
	for i := 0; i < 21; i++ {
		clients = append(clients, bvDirect(t, c, c.Ports.Server))
	}
	var wg sync.WaitGroup
	open := func(i int, ns string, cnt *counter) (int, error) {
		path := viewsPath + "?watch=1&allowWatchBookmarks=false"
		if ns != "" {
			path = "/apis/ui.kubestash.com/v1alpha1/namespaces/" + ns + "/backupconfigurationviews?watch=1"
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, clients[i/100].base+path, nil)
		res, err := clients[i/100].hc.Do(req)
		if err != nil {
			return 0, err
		}
		if res.StatusCode != 200 {
			res.Body.Close()
			return res.StatusCode, nil
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer res.Body.Close()
			dec := json.NewDecoder(bufio.NewReader(res.Body))
			for {
				var e watchEvent
				if err := dec.Decode(&e); err != nil {
					return
				}
				switch {
				case e.Type == "ERROR":
					cnt.errors.Add(1)
				case ns != "" && metaOf(e.Object).Metadata.Namespace != ns:
					cnt.foreign.Add(1)
				default:
					cnt.events.Add(1)
					if strings.Contains(string(e.Object), `"marker":"m59"`) {
						cnt.final.Store(true)
					}
				}
			}
		}()
		return 200, nil
	}
	quietCounts := make([]counter, quiet)
	var demo, prod, all counter
	t0 := time.Now()
	for i := 0; i < quiet; i++ {
		if code, err := open(i, fmt.Sprintf("quiet-%04d", i), &quietCounts[i]); err != nil || code != 200 {
			t.Fatalf("watch %d: %d %v", i, code, err)
		}
	}
	for i, w := range []struct {
		ns  string
		cnt *counter
	}{{"demo", &demo}, {"prod", &prod}, {"", &all}} {
		if code, err := open(quiet+i, w.ns, w.cnt); err != nil || code != 200 {
			t.Fatalf("watch of %q: %d %v", w.ns, code, err)
		}
	}
	t.Logf("opened %d watches in %v", quiet+3, time.Since(t0))
	if code, err := open(quiet+3, "demo", &counter{}); err != nil || code != http.StatusTooManyRequests {
		t.Errorf("a watch past --max-watches=%d: %d %v, want 429", quiet+3, code, err)
	}
	time.Sleep(time.Second)
	rss1 := memKiB(pid, "VmRSS")
	t.Logf("memory per idle watcher: %d B (RSS %d KiB -> %d KiB for %d watches)", (rss1-rss0)*1024/int64(quiet+3), rss0, rss1, quiet+3)

	// Traffic in demo only: 60 changes, more than a watcher's buffer of 50.
	for i := 0; i < 60; i++ {
		if out, err := c.Kubectl("label", "--overwrite", "backupconfigurations.core.kubestash.com", "-n", "demo", "mongodb-backup", fmt.Sprintf("marker=m%d", i)); err != nil {
			t.Fatal(err, out)
		}
	}
	if out, err := c.Kubectl("label", "--overwrite", "backupconfigurations.core.kubestash.com", "-n", "prod", "postgres-backup", "marker=prod"); err != nil {
		t.Fatal(err, out)
	}
	if err := waitUntil(20*time.Second, func() error {
		// Changes close together may reach a watcher as one state: count the last marker.
		if prod.events.Load() < 1 || !demo.final.Load() || !all.final.Load() {
			return fmt.Errorf("demo %d events (last marker seen: %v), prod %d, all %d (%v)", demo.events.Load(), demo.final.Load(), prod.events.Load(), all.events.Load(), all.final.Load())
		}
		return nil
	}); err != nil {
		t.Errorf("watchers in scope did not get their events: %v", err)
	}
	g50w, g99w := latency(getPath, 200)
	l50w, l99w := latency(viewsPath, 200)
	t.Logf("GET p50/p99 %v/%v without watchers, %v/%v with %d; LIST %v/%v vs %v/%v", g50, g99, g50w, g99w, quiet+3, l50, l99, l50w, l99w)

	var got []string
	for i := range quietCounts {
		if n, e, f := quietCounts[i].events.Load(), quietCounts[i].errors.Load(), quietCounts[i].foreign.Load(); n+e+f != 0 {
			got = append(got, fmt.Sprintf("quiet-%04d: %d events, %d errors, %d of other namespaces", i, n, e, f))
		}
	}
	sort.Strings(got)
	if len(got) > 0 {
		t.Errorf("%d quiet watchers got events or errors from other namespaces' traffic: %v", len(got), got[:min(5, len(got))])
	}
	// (kube-controller-manager's CronJob controller may change prod's views too.)
	if f := demo.foreign.Load() + prod.foreign.Load(); f != 0 {
		t.Errorf("the demo and prod watchers got %d events of other namespaces", f)
	}
	if e := demo.errors.Load() + prod.errors.Load() + all.errors.Load(); e != 0 {
		t.Errorf("%d reading watchers were dropped", e)
	}
	if d := metric(t, bv, "backupview_watchers_dropped_total"); d != 0 {
		t.Errorf("backupview_watchers_dropped_total = %v, want 0", d)
	}
	cancel()
	wg.Wait()
}
