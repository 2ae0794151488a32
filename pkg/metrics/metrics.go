// Package metrics defines backupview's Prometheus metrics, served on /metrics by the generic
// API server through component-base's legacy registry.
package metrics

import (
	"sync"
	"time"

	"k8s.io/component-base/metrics"
	"k8s.io/component-base/metrics/legacyregistry"

	"github.com/kubestash/backupview/pkg/version"
)

var (
	// ViewsServed counts views returned by GET and LIST.
	ViewsServed = metrics.NewCounter(&metrics.CounterOpts{
		Namespace: "backupview", Name: "views_served_total", Help: "BackupConfigurationViews returned by GET and LIST.", StabilityLevel: metrics.ALPHA,
	})
	// JoinDuration observes each rebuild batch.
	JoinDuration = metrics.NewHistogram(&metrics.HistogramOpts{
		Namespace: "backupview", Name: "join_duration_seconds", Help: "Time to rebuild the views affected by a batch of source changes.",
		Buckets: metrics.ExponentialBuckets(0.0001, 4, 10), StabilityLevel: metrics.ALPHA,
	})
	// JoinedViews counts views rebuilt.
	JoinedViews = metrics.NewCounter(&metrics.CounterOpts{
		Namespace: "backupview", Name: "views_joined_total", Help: "Views rebuilt after source changes.", StabilityLevel: metrics.ALPHA,
	})
	// WatchersDropped counts watchers closed because they fell behind.
	WatchersDropped = metrics.NewCounter(&metrics.CounterOpts{
		Namespace: "backupview", Name: "watchers_dropped_total", Help: "Watches closed because the client fell too far behind.", StabilityLevel: metrics.ALPHA,
	})
)

// BuildInfo is 1, labelled with backupview's version.
var BuildInfo = metrics.NewGaugeVec(&metrics.GaugeOpts{
	Namespace: "backupview", Name: "build_info", Help: "backupview's version (the generic /version reports the Kubernetes libraries').", StabilityLevel: metrics.ALPHA,
}, []string{"version"})

var once sync.Once

// Register registers the metrics once; the sources' and the watchers' series are read from
// src and views at scrape time.
func Register(src Sources, views Watched) {
	once.Do(func() {
		legacyregistry.MustRegister(ViewsServed, JoinDuration, JoinedViews, WatchersDropped, BuildInfo)
		legacyregistry.CustomMustRegister(newStateCollector(src, views))
		BuildInfo.WithLabelValues(version.Version).Set(1)
	})
}

// ObserveBatch records one rebuild batch.
func ObserveBatch(views int, d time.Duration) {
	JoinDuration.Observe(d.Seconds())
	JoinedViews.Add(float64(views))
}
