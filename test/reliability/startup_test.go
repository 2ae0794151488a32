package reliability

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kubestash/backupview/test/harness"
)

// startupObserver hammers a starting backupview with every kind of read and records any
// answer that is not either a refusal (503, not listening yet, ...) or complete.
type startupObserver struct {
	want   int
	stop   chan struct{}
	wg     sync.WaitGroup
	mu     sync.Mutex
	wrong  []string // short lists, 404s for existing views, "No resources found"
	counts map[string]int
	// readyzOK is set once backupview's /readyz answered 200.
	readyzOK atomic.Bool
	// notReady is the last failed /readyz?verbose answer, for the log.
	notReady atomic.Value
}

func (o *startupObserver) count(what string) {
	o.mu.Lock()
	o.counts[what]++
	o.mu.Unlock()
}

func (o *startupObserver) bad(format string, args ...interface{}) {
	o.mu.Lock()
	if len(o.wrong) < 20 {
		o.wrong = append(o.wrong, fmt.Sprintf(format, args...))
	}
	o.mu.Unlock()
}

func (o *startupObserver) loop(every time.Duration, f func()) {
	o.wg.Add(1)
	go func() {
		defer o.wg.Done()
		for {
			select {
			case <-o.stop:
				return
			default:
			}
			f()
			select {
			case <-o.stop:
				return
			case <-time.After(every):
			}
		}
	}()
}

// observe starts the pollers: /readyz, LIST (direct and through kube-apiserver), GET of an
// existing view, a WatchList-style watch, and kubectl get.
func observe(t *testing.T, c *harness.Cluster, want int, existing string) *startupObserver {
	o := &startupObserver{want: want, stop: make(chan struct{}), counts: map[string]int{}}
	direct := bvDirect(t, c, port(c, "BV_PORT"))
	kas := kasHTTP(t, c, "admin")
	o.loop(50*time.Millisecond, func() {
		r := direct.get("/readyz?verbose")
		if r.err == nil && r.code == 200 {
			o.readyzOK.Store(true)
			o.count("readyz 200")
		} else {
			o.count("readyz not ready")
			if r.err == nil {
				var failed []string
				for _, l := range strings.Split(string(r.body), "\n") {
					if strings.HasPrefix(l, "[-]") {
						failed = append(failed, l)
					}
				}
				o.notReady.Store(strings.Join(failed, "; "))
			}
		}
	})
	list := func(name string, h *httpc) func() {
		return func() {
			r := h.get(viewsPath)
			switch {
			case r.err != nil:
				o.count(name + " LIST error")
			case r.code == 200:
				l, err := decodeList(r.body)
				if err != nil || len(l.Items) != want {
					n := -1
					if l != nil {
						n = len(l.Items)
					}
					o.bad("%s LIST answered 200 with %d of %d views (warnings %q)", name, n, want, r.hdr.Values("Warning"))
				}
				o.count(name + " LIST complete")
			default:
				o.count(fmt.Sprintf("%s LIST %d", name, r.code))
			}
		}
	}
	o.loop(100*time.Millisecond, list("direct", direct))
	o.loop(100*time.Millisecond, list("direct", direct))
	o.loop(100*time.Millisecond, list("via kube-apiserver", kas))
	ns, name, _ := strings.Cut(existing, "/")
	o.loop(100*time.Millisecond, func() {
		r := direct.get(fmt.Sprintf("/apis/ui.kubestash.com/v1alpha1/namespaces/%s/backupconfigurationviews/%s", ns, name))
		switch {
		case r.err != nil:
			o.count("GET error")
		case r.code == 404:
			o.bad("GET of the existing view %s answered 404: %s", existing, short(r.body))
		default:
			o.count(fmt.Sprintf("GET %d", r.code))
		}
	})
	o.loop(200*time.Millisecond, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		code, n, err := direct.initialEvents(ctx, viewsPath)
		switch {
		case err != nil:
			o.count("WATCH error")
		case code == 200 && n != want:
			o.bad("WATCH (sendInitialEvents) sent %d of %d views before initial-events-end", n, want)
		default:
			o.count(fmt.Sprintf("WATCH %d", code))
		}
	})
	o.loop(time.Second, func() {
		out, err := c.KubectlStdout("", "get", "bcv", "-A", "--no-headers")
		if err == nil {
			if n := len(strings.Split(strings.TrimSpace(out), "\n")); n != want || strings.TrimSpace(out) == "" {
				o.bad("kubectl get bcv -A succeeded with %d of %d rows: %.200s", n, want, out)
			}
			o.count("kubectl complete")
		} else {
			o.count("kubectl error")
		}
	})
	return o
}

// finish stops the pollers and fails the test for any wrong answer.
func (o *startupObserver) finish(t *testing.T, phase string) map[string]int {
	t.Helper()
	close(o.stop)
	o.wg.Wait()
	t.Logf("%s: %v (last /readyz failure: %v)", phase, o.counts, o.notReady.Load())
	for _, w := range o.wrong {
		t.Errorf("%s: %s", phase, w)
	}
	return o.counts
}

// TestStartupNeverAnswersFromAHalfFilledCache (promise 1): backupview starting against 2,000
// BackupConfigurations refuses (503) or waits, but never answers a LIST, GET, WATCH or
// kubectl get from a cache that is not fully synced, and /readyz stays false until it is.
// The sources' connection to kube-apiserver goes through a gate, so that the time before
// sync is as long as the test wants: first held for 15 s (longer than the 10 s a request
// waits), then refused outright (discovery fails) for a few seconds.
func TestStartupNeverAnswersFromAHalfFilledCache(t *testing.T) {
	need(t)
	c := startCluster(t, harness.Options{PortOffset: offStartup, SkipServer: true})
	const n = 2000
	s := scale{namespaces: 20, bcs: n, storages: 1, policies: 1}
	s.load(t, c)
	existing := s.key(n - 1)
	g := newGate(t, fmt.Sprintf("127.0.0.1:%d", port(c, "KAS_PORT")), port(c, "BV_PORT")+6, port(c, "BV_PORT")+4, port(c, "BV_PORT")+3)
	viaGate := []string{"BV_ARGS=--kubeconfig=" + gateKubeconfig(t, c, g)}
	startAsync := func(extra string) chan error {
		done := make(chan error, 1)
		env := append([]string(nil), viaGate...)
		env[0] += extra
		go func() { done <- clusterSh(c, env, "start-server") }()
		return done
	}
	waitStarted := func(done chan error, o *startupObserver) {
		t.Helper()
		select {
		case err := <-done:
			if err != nil {
				o.finish(t, "not started")
				if r := bvDirect(t, c, port(c, "BV_PORT")).get("/metrics"); r.err == nil {
					for _, l := range strings.Split(string(r.body), "\n") {
						if strings.HasPrefix(l, "backupview_source") {
							t.Log(l)
						}
					}
				}
				t.Fatal(err)
			}
		case <-time.After(2 * time.Minute):
			t.Fatal("backupview did not become ready within 2 minutes of the gate opening")
		}
	}
	checkComplete := func(phase string) {
		t.Helper()
		for name, h := range map[string]*httpc{"direct": bvDirect(t, c, port(c, "BV_PORT")), "via kube-apiserver": kasHTTP(t, c, "admin")} {
			r := h.get(viewsPath)
			l, err := decodeList(r.body)
			if r.code != 200 || err != nil || len(l.Items) != n {
				t.Fatalf("%s: LIST %s after ready: %d %v, want %d views", phase, name, r.code, err, n)
			}
		}
	}

	// 1. Sources held: nothing can sync. Requests wait 10 s, then get 503.
	g.set(gateHold)
	done := startAsync("")
	o := observe(t, c, n, existing)
	time.Sleep(15 * time.Second)
	if o.readyzOK.Load() {
		t.Errorf("held: /readyz answered 200 while the sources could not even list")
	}
	g.set(gateOpen)
	counts := o.finish(t, "held")
	if counts["direct LIST 503"]+counts["via kube-apiserver LIST 503"] == 0 {
		t.Errorf("held: no LIST was refused with 503 within 15 s (counts %v)", counts)
	}
	o = observe(t, c, n, existing)
	waitStarted(done, o)
	time.Sleep(time.Second)
	o.finish(t, "held, then opened")
	checkComplete("held")

	// 2. Restart with kube-apiserver refusing the sources' connections until discovery has
	// failed (client-go retries a refused GET for about 10 s first; -v=2 logs the failure).
	// backupview must not take "discovery failed" for "KubeStash is not installed".
	if err := c.StopServer(); err != nil {
		t.Fatal(err)
	}
	logf := filepath.Join(c.Dir, "logs", "backupview.log")
	logged, _ := os.ReadFile(logf)
	g.set(gateRefuse)
	done = startAsync(" --v=2")
	o = observe(t, c, n, existing)
	if err := waitUntil(90*time.Second, func() error {
		b, _ := os.ReadFile(logf)
		if !bytes.Contains(b[min(len(logged), len(b)):], []byte("discovery failed")) {
			return fmt.Errorf("no discovery failure logged yet")
		}
		return nil
	}); err != nil {
		o.finish(t, "refused")
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	if o.readyzOK.Load() {
		t.Errorf("refused: /readyz answered 200 while the sources could not reach kube-apiserver")
	}
	g.set(gateOpen)
	start := time.Now()
	waitStarted(done, o)
	t.Logf("refused: ready %s after the gate opened", time.Since(start).Round(time.Millisecond))
	time.Sleep(time.Second)
	o.finish(t, "refused, then opened")
	checkComplete("refused")
}
