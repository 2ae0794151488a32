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
	// SourceSynced is 1 when a source informer has synced, 0 otherwise. installed="true" with
	// 0 is a served kind backupview cannot list (yet): its objects are missing from the views,
	// while /readyz stays ready once the views were built.
	SourceSynced = metrics.NewGaugeVec(&metrics.GaugeOpts{
		Namespace: "backupview", Name: "source_synced", Help: "Whether the informer of a source resource has synced (1) or not (0). installed=false: the CRD is not served; installed=true with 0: served but not listed (yet), so views lack its objects.",
		StabilityLevel: metrics.ALPHA,
	}, []string{"resource", "installed"})
	// SourceObjects is the number of cached objects per source.
	SourceObjects = metrics.NewGaugeVec(&metrics.GaugeOpts{
		Namespace: "backupview", Name: "source_objects", Help: "Objects held in the informer cache of a source resource.", StabilityLevel: metrics.ALPHA,
	}, []string{"resource"})
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
	// Watchers is the number of open watches.
	Watchers = metrics.NewGauge(&metrics.GaugeOpts{
		Namespace: "backupview", Name: "watchers", Help: "Open watches on backupconfigurationviews.", StabilityLevel: metrics.ALPHA,
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

// Register registers the metrics once.
func Register() {
	once.Do(func() {
		legacyregistry.MustRegister(SourceSynced, SourceObjects, ViewsServed, JoinDuration, JoinedViews, Watchers, WatchersDropped, BuildInfo)
		BuildInfo.WithLabelValues(version.Version).Set(1)
	})
}

// ObserveBatch records one rebuild batch.
func ObserveBatch(views int, d time.Duration) {
	JoinDuration.Observe(d.Seconds())
	JoinedViews.Add(float64(views))
}
