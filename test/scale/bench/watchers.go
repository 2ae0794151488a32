package bench

import (
	"context"
	"fmt"
	"math/rand"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kubestash/backupview/pkg/kubestash"
	"github.com/kubestash/backupview/test/scale"
	"github.com/kubestash/backupview/test/scale/report"
	"github.com/kubestash/backupview/test/scale/stats"
)

const viewsPath = "/apis/ui.kubestash.com/v1alpha1/backupconfigurationviews"

func nsViewsPath(ns string) string {
	return "/apis/ui.kubestash.com/v1alpha1/namespaces/" + ns + "/backupconfigurationviews"
}

// ClusterWatchers is how many cluster-wide view watches the watchers part holds open.
const ClusterWatchers = 10

// WatcherCount is the number of namespace watches the watchers part opens at a scale (n > 0:
// n): 2,000 (docs/benchmarks.md, "Watchers"), scaled down to 200 at the small scale so that CI's smoke run
// stays quick.
func WatcherCount(sc scale.Scale, n int) int {
	switch {
	case n > 0:
		return n
	case sc.BCs <= scale.Small.BCs:
		return 200
	default:
		return 2000
	}
}

// watchersOf is how many of n namespace watches, spread round-robin, watch namespace k.
func watchersOf(n, namespaces, k int) int {
	c := n / namespaces
	if k < n%namespaces {
		c++
	}
	return c
}

// round is one status patch the watchers part times: every watcher records once the event
// that shows the patched session with the wanted duration.
type round struct {
	id       int64
	ns, bs   string
	want     string
	t0       time.Time
	mu       sync.Mutex
	nsL, cl  stats.Sample
	direct   stats.Sample
	complete chan struct{}
	expect   int
}

func (r *round) add(s *stats.Sample, at time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	*s = append(*s, at.Sub(r.t0))
	if len(r.nsL)+len(r.cl)+len(r.direct) == r.expect {
		close(r.complete)
	}
}

// watchers holds WatcherCount namespace watches and ClusterWatchers cluster-wide ones of the
// views open through kube-apiserver and measures what they cost: the latency of a status
// patch's event at them against a direct BackupSession watch, GET and LIST p99 with them
// open against without, and backupview's memory per idle watch.
func (b *Bench) watchers(ctx context.Context) {
	w := &report.Watchers{Namespaced: WatcherCount(b.Scale, b.WatcherCount), Cluster: ClusterWatchers, ServerFlags: b.ServerFlags}
	b.results.Watchers = w
	b.Logf("  watchers: %d namespace and %d cluster-wide view watches ...", w.Namespaced, w.Cluster)
	var err error
	if w.RSSWithout, w.HeapWithout, err = b.footprint(); err != nil {
		b.fail("watchers: reading backupview's footprint: %v", err)
		return
	}
	w.GetWithout, w.ListWithout = b.reads(ctx)

	rv, err := b.listRV(ctx, viewsPath, nil)
	if err != nil {
		b.fail("watchers: listing views: %v", err)
		return
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var cur atomic.Pointer[round]
	var early atomic.Int64 // watches that ended while they should be open
	var dones []<-chan struct{}
	var mu sync.Mutex
	// Each watcher records the current round once: when its event shows the patched session
	// with the wanted duration.
	watcher := func(cluster bool) func(time.Time, *watchEvent) {
		var last int64
		return func(at time.Time, e *watchEvent) {
			r := cur.Load()
			if r == nil || r.id == last || e.Object.Metadata.Namespace != r.ns {
				return
			}
			for _, s := range e.Object.BackupSessions {
				if s.Name == r.bs && s.Duration == r.want {
					last = r.id
					if cluster {
						r.add(&r.cl, at)
					} else {
						r.add(&r.nsL, at)
					}
					return
				}
			}
		}
	}
	open := func(path string, cluster bool) error {
		done, err := b.rawWatch(wctx, path, url.Values{"resourceVersion": {rv}}, watcher(cluster))
		if err != nil {
			return err
		}
		mu.Lock()
		dones = append(dones, done)
		mu.Unlock()
		go func() {
			<-done
			if wctx.Err() == nil {
				early.Add(1)
			}
		}()
		return nil
	}
	g, gctx := errgroup.WithContext(wctx)
	g.SetLimit(32)
	var opened atomic.Int64
	var firstErr atomic.Pointer[error]
	t0 := time.Now()
	for k := 0; k < w.Namespaced+w.Cluster && gctx.Err() == nil; k++ {
		g.Go(func() error {
			var err error
			if k < w.Namespaced {
				err = open(nsViewsPath(scale.NamespaceName(k%b.Scale.Namespaces)), false)
			} else {
				err = open(viewsPath, true)
			}
			if err != nil {
				firstErr.CompareAndSwap(nil, &err)
				return nil // count the refused, keep opening
			}
			opened.Add(1)
			return nil
		})
	}
	_ = g.Wait()
	w.Opened = int(opened.Load())
	b.Logf("    %d of %d watches opened in %s", w.Opened, w.Namespaced+w.Cluster, report.Duration(time.Since(t0)))
	if e := firstErr.Load(); e != nil {
		b.fail("watchers: %d of %d watches refused, the first: %v", w.Namespaced+w.Cluster-w.Opened, w.Namespaced+w.Cluster, *e)
	}
	// Idle: the memory gauges and RSS settle (as after sync, "+6 s").
	if pause(ctx, 6*time.Second) != nil {
		return
	}
	if w.RSSWith, w.HeapWith, err = b.footprint(); err != nil {
		b.fail("watchers: reading backupview's footprint: %v", err)
		return
	}
	rss, heap := w.PerWatcher()
	b.Logf("    RSS %s → %s, heap %s → %s: %s RSS and %s heap per watcher", report.Bytes(w.RSSWithout), report.Bytes(w.RSSWith),
		report.Bytes(w.HeapWithout), report.Bytes(w.HeapWith), report.Bytes(rss), report.Bytes(heap))
	w.GetWith, w.ListWith = b.reads(ctx)

	// Latency: a direct watch of all BackupSessions (only these patches change them now) and
	// the views' watchers, for patches in namespaces spread over the scale.
	brv, err := b.listRV(ctx, bsPath, nil)
	if err != nil {
		b.fail("watchers: listing backupsessions: %v", err)
		return
	}
	if _, err := b.rawWatch(wctx, bsPath, url.Values{"resourceVersion": {brv}}, func(at time.Time, e *watchEvent) {
		if r := cur.Load(); r != nil && e.Object.Metadata.Name == r.bs && e.Object.Status.Duration == r.want {
			r.add(&r.direct, at)
		}
	}); err != nil {
		b.fail("watchers: watch backupsessions: %v", err)
		return
	}
	for n := 0; n < b.Watches; n++ {
		i := (n*b.Scale.BCs/max(b.Watches, 1) + b.Scale.BCs/(2*max(b.Watches, 1))) % b.Scale.BCs
		ns := b.Scale.Namespace(i)
		k := i * b.Scale.Namespaces / b.Scale.BCs
		// A duration unique to the run: a patch to the value an earlier run left is no change,
		// and no event.
		want := fmt.Sprintf("%dh%02dm%02ds", 100+b.results.Started.Unix()/3600%10000, b.results.Started.Minute(), n%60)
		r := &round{id: int64(n + 1), ns: ns, bs: b.Scale.BackupSessionName(i, b.Scale.SessionsOf(i)-1), want: want,
			complete: make(chan struct{}), expect: watchersOf(w.Namespaced, b.Scale.Namespaces, k) + w.Cluster + 1}
		if w.Opened < w.Namespaced+w.Cluster { // some refused: wait for those that opened
			r.expect = -1
		}
		cur.Store(r)
		r.t0 = time.Now()
		patch := []byte(`{"status":{"duration":"` + r.want + `"}}`)
		if _, err := b.dyn.Resource(kubestash.BackupSessions).Namespace(ns).Patch(ctx, r.bs, types.MergePatchType, patch, metav1.PatchOptions{}, "status"); err != nil {
			b.fail("watchers: patch: %v", err)
			return
		}
		select {
		case <-r.complete:
		case <-time.After(10 * time.Second):
			if r.expect > 0 {
				r.mu.Lock()
				b.fail("watchers: patch %d: %d of %d events within 10 s (namespace %d, cluster-wide %d, direct %d)", n+1,
					len(r.nsL)+len(r.cl)+len(r.direct), r.expect, len(r.nsL), len(r.cl), len(r.direct))
				r.mu.Unlock()
			}
		case <-ctx.Done():
			return
		}
		cur.Store(nil)
		r.mu.Lock()
		w.NSLatency, w.ClusterLatency, w.Direct = append(w.NSLatency, r.nsL...), append(w.ClusterLatency, r.cl...), append(w.Direct, r.direct...)
		r.mu.Unlock()
		w.Patches++
		if pause(ctx, 100*time.Millisecond) != nil {
			return
		}
	}
	if n := early.Load(); n > 0 {
		b.fail("watchers: %d watches ended while they should have been open", n)
	}
	cancel()
	for _, d := range dones {
		<-d
	}
	b.Logf("    patch to event p50/p99: direct %s, namespace watchers %s, cluster-wide %s; GET p99 %s → %s, LIST p99 %s → %s",
		p50p99(w.Direct), p50p99(w.NSLatency), p50p99(w.ClusterLatency),
		report.Duration(w.GetWithout.Percentile(0.99)), report.Duration(w.GetWith.Percentile(0.99)),
		report.Duration(w.ListWithout.Percentile(0.99)), report.Duration(w.ListWith.Percentile(0.99)))
}

func p50p99(s stats.Sample) string {
	return report.Duration(s.Percentile(0.5)) + "/" + report.Duration(s.Percentile(0.99))
}

const bsPath = "/apis/core.kubestash.com/v1alpha1/backupsessions"

// reads samples b.Gets GETs of random views and b.Gets/2 LISTs of a random namespace's
// views, one at a time (the same seed each call, so both calls read the same objects).
func (b *Bench) reads(ctx context.Context) (gets, lists stats.Sample) {
	rng := rand.New(rand.NewSource(2))
	for r := 0; r < b.Gets; r++ {
		i := rng.Intn(b.Scale.BCs)
		d, _, _, err := b.get(ctx, nsViewsPath(b.Scale.Namespace(i))+"/"+scale.BCName(i), "application/json", false)
		if err != nil {
			b.fail("watchers: GET: %v", err)
			return
		}
		gets = append(gets, d)
		if r%2 == 1 {
			d, _, _, err := b.get(ctx, nsViewsPath(scale.NamespaceName(rng.Intn(b.Scale.Namespaces))), "application/json", false)
			if err != nil {
				b.fail("watchers: LIST: %v", err)
				return
			}
			lists = append(lists, d)
		}
	}
	return gets, lists
}
