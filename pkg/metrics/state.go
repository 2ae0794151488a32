package metrics

import (
	"strconv"

	"k8s.io/component-base/metrics"

	"github.com/kubestash/backupview/pkg/sources"
)

// Sources are read for the source series at scrape time (package sources).
type Sources interface{ Statuses() []sources.Status }

// Watched tells how many watches are open (the view cache).
type Watched interface{ Watchers() int }

// stateCollector reads the sources' and the watches' state when /metrics is scraped, so the
// series are never staler than the scrape and nothing polls between scrapes.
type stateCollector struct {
	metrics.BaseStableCollector
	src                      Sources
	views                    Watched
	synced, objects, watches *metrics.Desc
}

func newStateCollector(src Sources, views Watched) *stateCollector {
	return &stateCollector{
		src: src, views: views,
		// installed="true" with 0 is a served kind backupview cannot list (yet): its objects
		// are missing from the views, while /readyz stays ready once the views were built.
		synced: metrics.NewDesc("backupview_source_synced",
			"Whether the informer of a source resource has synced (1) or not (0). installed=false: the CRD is not served; installed=true with 0: served but not listed (yet), so views lack its objects.",
			[]string{"resource", "installed"}, nil, metrics.ALPHA, ""),
		objects: metrics.NewDesc("backupview_source_objects", "Objects held in the informer cache of a source resource.",
			[]string{"resource"}, nil, metrics.ALPHA, ""),
		watches: metrics.NewDesc("backupview_watchers", "Open watches on backupconfigurationviews.", nil, nil, metrics.ALPHA, ""),
	}
}

func (c *stateCollector) DescribeWithStability(ch chan<- *metrics.Desc) {
	ch <- c.synced
	ch <- c.objects
	ch <- c.watches
}

func (c *stateCollector) CollectWithStability(ch chan<- metrics.Metric) {
	for _, st := range c.src.Statuses() {
		v := 0.0
		if st.Synced {
			v = 1
		}
		ch <- metrics.NewLazyConstMetric(c.synced, metrics.GaugeValue, v, st.Resource, strconv.FormatBool(st.Installed))
		ch <- metrics.NewLazyConstMetric(c.objects, metrics.GaugeValue, float64(st.Objects), st.Resource)
	}
	ch <- metrics.NewLazyConstMetric(c.watches, metrics.GaugeValue, float64(c.views.Watchers()))
}
