package scrape

import (
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"k8s.io/component-base/metrics/legacyregistry"

	"github.com/kubestash/backupview/pkg/metrics"
	"github.com/kubestash/backupview/pkg/sources"
)

const text = `# HELP go_goroutines Number of goroutines that currently exist.
# TYPE go_goroutines gauge
go_goroutines 42
# HELP go_memstats_heap_inuse_bytes Number of heap bytes that are in use.
# TYPE go_memstats_heap_inuse_bytes gauge
go_memstats_heap_inuse_bytes 1.9922944e+07
# HELP backupview_source_objects [ALPHA] Objects held in the informer cache of a source resource.
# TYPE backupview_source_objects gauge
backupview_source_objects{resource="backupconfigurations.core.kubestash.com"} 200
backupview_source_objects{resource="cronjobs.batch"} 300
backupview_source_objects{resource="say \"hi\"\n"} 1
# TYPE backupview_source_synced gauge
backupview_source_synced{installed="true",resource="cronjobs.batch"} 1
backupview_source_synced{installed="false",resource="widgets.example.com"} 0
# TYPE backupview_join_duration_seconds histogram
backupview_join_duration_seconds_bucket{le="0.0001"} 3
backupview_join_duration_seconds_bucket{le="+Inf"} 5
backupview_join_duration_seconds_sum 0.25
backupview_join_duration_seconds_count 5
# TYPE backupview_watchers_dropped_total counter
backupview_watchers_dropped_total 20
untyped_thing 7 1700000000000
`

func TestParse(t *testing.T) {
	m, err := Parse(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
		ok     bool
	}{
		{"go_goroutines", nil, 42, true},
		{"go_memstats_heap_inuse_bytes", nil, 19922944, true},
		{"backupview_watchers_dropped_total", nil, 20, true},
		{"untyped_thing", nil, 7, true},
		{"backupview_source_synced", []string{"resource", "widgets.example.com"}, 0, true},
		{"backupview_source_synced", []string{"resource", "cronjobs.batch", "installed", "true"}, 1, true},
		{"backupview_source_synced", []string{"resource", "cronjobs.batch", "installed", "false"}, 0, false},
		{"backupview_source_objects", nil, 200, true},       // the first sample
		{"backupview_join_duration_seconds", nil, 0, false}, // a histogram has no single value
		{"missing", nil, 0, false},
	} {
		got, ok := m.Value(c.name, c.labels...)
		if got != c.want || ok != c.ok {
			t.Errorf("Value(%s, %v) = %v, %v; want %v, %v", c.name, c.labels, got, ok, c.want, c.ok)
		}
	}
	want := map[string]float64{"backupconfigurations.core.kubestash.com": 200, "cronjobs.batch": 300, "say \"hi\"\n": 1}
	if got := m.ByLabel("backupview_source_objects", "resource"); !reflect.DeepEqual(got, want) {
		t.Errorf("ByLabel = %v, want %v", got, want)
	}
	if h := m["backupview_join_duration_seconds"].GetMetric()[0].GetHistogram(); h.GetSampleCount() != 5 || h.GetSampleSum() != 0.25 {
		t.Errorf("histogram %v", h)
	}
	if got := m.ByLabel("missing", "resource"); len(got) != 0 {
		t.Errorf("ByLabel of a missing metric = %v", got)
	}
}

func TestParseRefusesBrokenText(t *testing.T) {
	for _, in := range []string{
		"go_goroutines forty-two\n",
		"backupview_source_objects{resource=\"x\" 1\n",
		"# TYPE x gauge\n# TYPE x counter\nx 1\n",
	} {
		if _, err := Parse(strings.NewReader(in)); err == nil {
			t.Errorf("Parse(%q) succeeded", in)
		}
	}
}

// twoSources are what the server's state collector reads at scrape time.
type twoSources struct{}

func (twoSources) Statuses() []sources.Status {
	return []sources.Status{
		{Resource: "backupsessions.core.kubestash.com", Installed: true, Synced: true, Objects: 2000},
		{Resource: "cronjobs.batch", Installed: true, Objects: 300},
	}
}
func (twoSources) Watchers() int { return 7 }

// TestParseReadsBackupviewMetrics: what backupview serves on /metrics (its metrics through
// component-base's legacy registry, as the server serves them) parses, values and labels
// intact.
func TestParseReadsBackupviewMetrics(t *testing.T) {
	metrics.Register(twoSources{}, twoSources{})
	metrics.WatchersDropped.Add(3)
	metrics.JoinDuration.Observe(0.01)
	rec := httptest.NewRecorder()
	legacyregistry.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 {
		t.Fatalf("/metrics: %d", rec.Code)
	}
	m, err := Parse(rec.Body)
	if err != nil {
		t.Fatal(err)
	}
	by := m.ByLabel("backupview_source_objects", "resource")
	if by["backupsessions.core.kubestash.com"] != 2000 || by["cronjobs.batch"] != 300 {
		t.Errorf("backupview_source_objects by resource: %v", by)
	}
	if v, ok := m.Value("backupview_watchers_dropped_total"); !ok || v != 3 {
		t.Errorf("backupview_watchers_dropped_total = %v, %v", v, ok)
	}
	if _, ok := m.Value("go_memstats_heap_inuse_bytes"); !ok {
		t.Error("no go_memstats_heap_inuse_bytes")
	}
}
