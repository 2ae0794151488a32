package metrics

import (
	"strings"
	"testing"

	"k8s.io/component-base/metrics"
	"k8s.io/component-base/metrics/testutil"

	"github.com/kubestash/backupview/pkg/sources"
)

type state struct {
	st       []sources.Status
	watchers int
}

func (s *state) Statuses() []sources.Status { return s.st }
func (s *state) Watchers() int              { return s.watchers }

// TestStateAtScrapeTime: each scrape reads the sources and the watches as they are then, so a
// kind's "installed" label moves when its CRD appears and no series outlives its source.
func TestStateAtScrapeTime(t *testing.T) {
	s := &state{st: []sources.Status{{Resource: "snapshots.storage.kubestash.com"}}, watchers: 2}
	r := metrics.NewKubeRegistry()
	r.CustomMustRegister(newStateCollector(s, s))
	want := func(body string) string {
		return `# HELP backupview_source_objects [ALPHA] Objects held in the informer cache of a source resource.
# TYPE backupview_source_objects gauge
# HELP backupview_source_synced [ALPHA] Whether the informer of a source resource has synced (1) or not (0). installed=false: the CRD is not served; installed=true with 0: served but not listed (yet), so views lack its objects.
# TYPE backupview_source_synced gauge
# HELP backupview_watchers [ALPHA] Open watches on backupconfigurationviews.
# TYPE backupview_watchers gauge
` + body
	}
	if err := testutil.GatherAndCompare(r, strings.NewReader(want(`backupview_source_objects{resource="snapshots.storage.kubestash.com"} 0
backupview_source_synced{installed="false",resource="snapshots.storage.kubestash.com"} 0
backupview_watchers 2
`))); err != nil {
		t.Fatal(err)
	}
	s.st, s.watchers = []sources.Status{{Resource: "snapshots.storage.kubestash.com", Installed: true, Synced: true, Objects: 40}}, 0
	if err := testutil.GatherAndCompare(r, strings.NewReader(want(`backupview_source_objects{resource="snapshots.storage.kubestash.com"} 40
backupview_source_synced{installed="true",resource="snapshots.storage.kubestash.com"} 1
backupview_watchers 0
`))); err != nil {
		t.Fatal(err)
	}
}
