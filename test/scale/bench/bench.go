// Package bench measures backupview against kube-apiserver on a loaded local control plane
// (test/controlplane): start to ready, memory, lists, GETs and watch latency, each view request
// interleaved with the direct one (docs/benchmarks.md, "How it measures").
package bench

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"

	uiv1alpha1 "github.com/kubestash/backupview/pkg/apis/ui/v1alpha1"
	"github.com/kubestash/backupview/test/controlplane"
	"github.com/kubestash/backupview/test/scale"
	"github.com/kubestash/backupview/test/scale/loader"
	"github.com/kubestash/backupview/test/scale/report"
)

var views = uiv1alpha1.SchemeGroupVersion.WithResource(uiv1alpha1.ViewsResource.Resource)

// Bench drives the measurement against a loaded cluster in Dir.
type Bench struct {
	Cluster *controlplane.Cluster // the loaded cluster; the benchmark restarts its server
	Scale   scale.Scale
	Rounds  int // interleaved rounds for the list comparisons
	Gets    int // GET pairs
	Watches int // watch-latency samples
	Starts  int // start-to-ready rounds
	// WatcherCount is the watchers part's namespace watches (0: WatcherCount's default).
	WatcherCount int
	// BurstConcurrency bounds the burst part's requests in flight (0: 32, the loader's).
	BurstConcurrency int
	// ServerFlags are extra backupview flags for every start (e.g. a higher --max-watches).
	ServerFlags []string
	// Only, when set, limits the run to these parts: ready, memory, lists, json, gets, watch,
	// watchers, burst (ready and memory always run: they restart the server).
	Only map[string]bool
	Logf func(string, ...interface{})

	cfg      *rest.Config
	dyn      dynamic.Interface
	http     *http.Client // through kube-apiserver, as the admin
	bvPort   string
	bvHTTP   *http.Client // to backupview directly, as the admin
	kasURL   string
	errs     []string
	results  report.Results
	warnedGC bool
}

func (b *Bench) want(part string) bool { return len(b.Only) == 0 || b.Only[part] }

func (b *Bench) fail(format string, args ...interface{}) {
	msg := fmt.Sprintf(format, args...)
	b.errs = append(b.errs, msg)
	b.Logf("ERROR: %s", msg)
}

// Run measures; load is the cluster's recorded load (loader.ReadMarker). It fails only when
// the cluster cannot be driven (backupview does not start); failed measurements are in the
// results' Errors.
func (b *Bench) Run(ctx context.Context, cfg *rest.Config, load *loader.LoadResult) (*report.Results, error) {
	b.cfg = rest.CopyConfig(cfg)
	b.cfg.QPS, b.cfg.Burst = -1, 0
	b.dyn = dynamic.NewForConfigOrDie(b.cfg)
	hc, err := rest.HTTPClientFor(b.cfg)
	if err != nil {
		return nil, err
	}
	b.http = hc
	b.kasURL = strings.TrimRight(b.cfg.Host, "/")
	b.bvPort = strconv.Itoa(b.Cluster.Ports().Server)
	if b.bvHTTP, err = b.Cluster.ServerHTTPClient(); err != nil {
		return nil, err
	}
	b.results = report.Results{Scale: b.Scale, Load: load, Started: time.Now(), Machine: machine(), LoadAvg: loadavg()}
	start := time.Now()

	// 1. Start to ready, against a plain informer list of the same kinds, interleaved.
	if err := b.readiness(ctx); err != nil {
		return nil, err
	}
	// 2. Memory after sync, once the gauges (refreshed every 5 s) show the synced state: the
	// report's "+6 s".
	if err := pause(ctx, 6*time.Second); err != nil {
		return nil, err
	}
	b.memory(ctx, false)
	// 3. Correctness: one view per BackupConfiguration.
	b.counts(ctx)
	// 4. Interleaved request comparisons.
	b.clearKubectlCache()
	b.lists(ctx)
	if b.want("gets") {
		b.gets(ctx)
	}
	if b.want("watch") {
		b.watchLatency(ctx)
	}
	if b.want("watchers") {
		b.watchers(ctx)
	}
	b.memory(ctx, true)
	// 5. Last, as it adds and then deletes BackupSessions: the top of the hour.
	if b.want("burst") {
		b.burst(ctx)
	}
	b.results.Took = time.Since(start)
	b.results.Errors = b.errs
	return &b.results, nil
}

// pause waits d, or until ctx ends.
func pause(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
