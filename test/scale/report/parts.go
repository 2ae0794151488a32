package report

import (
	"fmt"
	"strings"
	"time"

	"github.com/kubestash/backupview/test/scale/stats"
)

// The goals of the watchers and burst parts (docs/benchmarks.md, "Goals"): the watchers'
// are judged with the full 2,000 namespace watches (WatchersGoalCount), the burst's at the
// default scale.
const (
	WatchLatencyGoal  = 1.5      // p99 of a view event at its watchers / p99 of a direct BackupSession watch
	WatchedReadGoal   = 1.2      // p99 of GET and LIST with the watchers open / without
	PerWatcherGoal    = 16 << 10 // bytes of RSS (and heap) per idle watcher
	WatchersGoalCount = 2000
	ConvergeGoal      = 2 * time.Second
	BurstCreateGoal   = 60 * time.Second
)

// Watchers is the "watchers" part: idle watches of views held open through kube-apiserver,
// and what they cost.
type Watchers struct {
	Namespaced, Cluster int      // watches asked for
	Opened              int      // watches that opened
	ServerFlags         []string // extra backupview flags the part ran with (none: the defaults)
	// A status patch's event: at every watcher of its namespace, at every cluster-wide one,
	// and at a direct BackupSession watch; one entry per watcher per patch.
	NSLatency, ClusterLatency, Direct stats.Sample
	Patches                           int
	// Reads without the watchers, then with them open: GET one view, LIST one namespace's.
	GetWithout, GetWith, ListWithout, ListWith stats.Sample
	// backupview's footprint without the watchers, then with them open and idle.
	RSSWithout, RSSWith, HeapWithout, HeapWith float64
}

// verdict judges a watchers' figure, once the part ran with the goals' count of watches.
func (w *Watchers) verdict(value, limit float64) string {
	if w.Namespaced < WatchersGoalCount {
		return fmt.Sprintf("(set for %d watches)", WatchersGoalCount)
	}
	return verdict(value, limit)
}

// PerWatcher is the footprint's growth per open watch (0 when none opened).
func (w *Watchers) PerWatcher() (rss, heap float64) {
	if w.Opened == 0 {
		return 0, 0
	}
	return (w.RSSWith - w.RSSWithout) / float64(w.Opened), (w.HeapWith - w.HeapWithout) / float64(w.Opened)
}

// Burst is the "burst" part: a new BackupSession for every BackupConfiguration at once, each
// moved to Running and then Succeeded.
type Burst struct {
	Sessions    int           // BackupSessions created (one per BackupConfiguration)
	Writes      int           // requests: the creates and two status updates each
	Concurrency int           // requests in flight at most
	Create      time.Duration // first create to last create
	Writing     time.Duration // first create to last status update
	// Converged is the time from the last write until every view showed its session
	// Succeeded; negative: not within the wait (NotConverged views did not).
	Converged    time.Duration
	NotConverged int
	// Lag is, per session and state (created, Running, Succeeded), the view watch's event
	// time minus the direct BackupSession watch's (both watches run in the benchmark).
	Lag        stats.Sample
	CPUSeconds float64 // backupview's user+system CPU from the first create to convergence
}

func p50p99(s stats.Sample) string {
	return fmt.Sprintf("%s / %s", Duration(s.Percentile(0.5)), Duration(s.Percentile(0.99)))
}

func ratio(a, b time.Duration) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// watchersMarkdown renders the watchers part.
func (r *Results) watchersMarkdown(p func(string, ...interface{})) {
	w := r.Watchers
	p("\nWatchers: %d namespace watches of backupconfigurationviews (over %d namespaces) and %d cluster-wide, through kube-apiserver; %d opened",
		w.Namespaced, min(w.Namespaced, r.Scale.Namespaces), w.Cluster, w.Opened)
	if len(w.ServerFlags) > 0 {
		p("; backupview ran with `%s`", strings.Join(w.ServerFlags, " "))
	}
	p(":\n\n")
	p("| | p50 / p99 | against (p50 / p99) | p99 ratio | goal |\n|---|---|---|---|---|\n")
	d99 := w.Direct.Percentile(0.99)
	for _, x := range []struct {
		name string
		s    stats.Sample
	}{{"namespace watchers", w.NSLatency}, {"cluster-wide watchers", w.ClusterLatency}} {
		rt := ratio(x.s.Percentile(0.99), d99)
		p("| status patch to view event, %s (n=%d over %d patches) | %s | direct BackupSession watch (n=%d): %s | %.2f× | ≤ %.1f×: %s |\n",
			x.name, len(x.s), w.Patches, p50p99(x.s), len(w.Direct), p50p99(w.Direct), rt, WatchLatencyGoal, w.verdict(rt, WatchLatencyGoal))
	}
	for _, x := range []struct {
		name          string
		without, with stats.Sample
	}{{"GET one view", w.GetWithout, w.GetWith}, {"LIST one namespace's views", w.ListWithout, w.ListWith}} {
		rt := ratio(x.with.Percentile(0.99), x.without.Percentile(0.99))
		p("| %s with the watchers open (n=%d) | %s | without (n=%d): %s | %.2f× | ≤ %.1f×: %s |\n", x.name, len(x.with),
			p50p99(x.with), len(x.without), p50p99(x.without), rt, WatchedReadGoal, w.verdict(rt, WatchedReadGoal))
	}
	rss, heap := w.PerWatcher()
	p("| RSS per idle watcher | %s | %s with, %s without | – | ≤ 16 KiB: %s |\n", Bytes(rss), Bytes(w.RSSWith), Bytes(w.RSSWithout), w.verdict(rss, PerWatcherGoal))
	p("| heap in use per idle watcher | %s | %s with, %s without | – | ≤ 16 KiB: %s |\n", Bytes(heap), Bytes(w.HeapWith), Bytes(w.HeapWithout), w.verdict(heap, PerWatcherGoal))
}

// burstMarkdown renders the burst part.
func (r *Results) burstMarkdown(p func(string, ...interface{})) {
	u := r.Burst
	p("\nTop of the hour: a new BackupSession for each of the %d BackupConfigurations, then Running, then Succeeded through the status subresource (%d requests, at most %d in flight):\n\n",
		u.Sessions, u.Writes, u.Concurrency)
	p("| | value | goal |\n|---|---|---|\n")
	p("| creates, first to last | %s (%.0f/s) | ≤ 60 s: %s |\n", Duration(u.Create), float64(u.Sessions)/max(u.Create.Seconds(), 1e-3), r.atDefault(u.Create.Seconds(), BurstCreateGoal.Seconds()))
	p("| all writes, first to last | %s (%.0f requests/s) | – |\n", Duration(u.Writing), float64(u.Writes)/max(u.Writing.Seconds(), 1e-3))
	if u.Converged >= 0 {
		p("| last write to every view Succeeded | %s | ≤ 2 s: %s |\n", Duration(u.Converged), r.atDefault(u.Converged.Seconds(), ConvergeGoal.Seconds()))
	} else {
		p("| last write to every view Succeeded | **%d views not converged** | ≤ 2 s |\n", u.NotConverged)
	}
	p("| view event lag behind the direct BackupSession watch, p50 / p99 (n=%d) | %s | – |\n", len(u.Lag), p50p99(u.Lag))
	p("| backupview CPU, first create to convergence | %.2f s | – |\n", u.CPUSeconds)
}
