package healthmetrics

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/component-base/metrics"

	ui "github.com/kubestash/backupview/pkg/apis/ui/v1alpha1"
	"github.com/kubestash/backupview/pkg/viewcache"
)

// fakeViews serves a fixed snapshot.
type fakeViews struct {
	ready bool
	snap  *viewcache.Snapshot[*ui.BackupConfigurationView]
}

func (f *fakeViews) Ready() bool { return f.ready }
func (f *fakeViews) Current() *viewcache.Snapshot[*ui.BackupConfigurationView] {
	return f.snap
}

func snapshot(views ...*ui.BackupConfigurationView) *fakeViews {
	s := &viewcache.Snapshot[*ui.BackupConfigurationView]{RV: 1}
	for _, v := range views {
		s.Entries = append(s.Entries, &viewcache.Entry[*ui.BackupConfigurationView]{Key: v.Namespace + "/" + v.Name, Object: v})
	}
	return &fakeViews{ready: true, snap: s}
}

func mt(t time.Time) *metav1.Time { return &metav1.Time{Time: t} }
func i32(n int32) *int32          { return &n }

var t0 = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

// healthyView succeeded at t0 and is overdue from t0 + 8h (a 4-hourly schedule).
func healthyView() *ui.BackupConfigurationView {
	return &ui.BackupConfigurationView{
		ObjectMeta: metav1.ObjectMeta{Namespace: "demo", Name: "mongodb-backup"},
		Target:     ui.TargetRef{APIGroup: "kubedb.com", Kind: "MongoDB", Namespace: "demo", Name: "mongodb", Found: true},
		Repositories: []ui.RepositoryRef{
			{Name: "mongodb-repo", Namespace: "demo", Found: true, Size: "9.046 KiB", SnapshotCount: i32(4),
				Verification: &ui.RepositoryVerification{LastSuccessfulVerificationTime: mt(t0.Add(-time.Hour))}},
			{Name: "missing-repo", Namespace: "demo", Found: false},
			{Name: "new-repo", Namespace: "demo", Found: true, Size: "", SnapshotCount: nil, Verification: &ui.RepositoryVerification{}},
			{Name: "odd-repo", Namespace: "demo", Found: true, Size: "a lot", SnapshotCount: i32(0)},
		},
		Health: ui.Health{
			Verdict:                  ui.VerdictHealthy,
			Reasons:                  []ui.HealthReason{{Type: ui.VerdictOverdue, After: mt(t0.Add(8 * time.Hour))}},
			LastSuccessfulBackupTime: mt(t0.Add(500 * time.Millisecond)),
			LastSessionPhase:         "Succeeded",
			OverdueAfter:             mt(t0.Add(8 * time.Hour)),
		},
	}
}

func pausedView() *ui.BackupConfigurationView {
	return &ui.BackupConfigurationView{
		ObjectMeta: metav1.ObjectMeta{Namespace: "demo", Name: "app-data-backup"},
		Basic:      ui.Basic{Paused: true},
		Target:     ui.TargetRef{APIGroup: "apps", Kind: "StatefulSet", Namespace: "demo", Name: "app-data"},
		Health:     ui.Health{Verdict: ui.VerdictPaused, Reasons: []ui.HealthReason{{Type: ui.VerdictPaused}}, LastSessionPhase: "Skipped"},
	}
}

// registry registers c in a registry of its own, as the server does in the legacy one.
func registry(c *Collector) metrics.KubeRegistry {
	reg := metrics.NewKubeRegistry()
	reg.CustomMustRegister(c)
	return reg
}

// scrapeOnce gathers c once through a registry of its own.
func scrapeOnce(t testing.TB, c *Collector) map[string]float64 { return gather(t, registry(c)) }

// gather gathers reg as /metrics does: "name{k="v",...}" -> value, labels sorted by name.
func gather(t testing.TB, reg metrics.KubeRegistry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var ls []string
			for _, lp := range m.GetLabel() {
				ls = append(ls, fmt.Sprintf("%s=%q", lp.GetName(), lp.GetValue()))
			}
			sort.Strings(ls)
			out[mf.GetName()+"{"+strings.Join(ls, ",")+"}"] = m.GetGauge().GetValue()
		}
	}
	return out
}

const mongo = `name="mongodb-backup",namespace="demo",target_group="kubedb.com",target_kind="MongoDB",target_name="mongodb",target_namespace="demo"`
const appData = `name="app-data-backup",namespace="demo",target_group="apps",target_kind="StatefulSet",target_name="app-data",target_namespace="demo"`

func series(name, obj string, extra ...string) string {
	ls := strings.Split(obj, ",")
	ls = append(ls, extra...)
	sort.Strings(ls)
	return name + "{" + strings.Join(ls, ",") + "}"
}

func TestSeriesOfOneBackupConfiguration(t *testing.T) {
	now := t0.Add(time.Hour)
	got := scrapeOnce(t, New(snapshot(healthyView(), pausedView()), Options{PerObject: true, Now: func() time.Time { return now }}))
	want := map[string]float64{
		series(PausedName, mongo):                                          0,
		series(LastSuccessName, mongo):                                     float64(t0.Unix()) + 0.5,
		series(OverdueAfterName, mongo):                                    float64(t0.Add(8 * time.Hour).Unix()),
		series(RepositorySizeName, mongo, `repository="mongodb-repo"`):     9263,
		series(RepositorySnapsName, mongo, `repository="mongodb-repo"`):    4,
		series(RepositorySnapsName, mongo, `repository="odd-repo"`):        0,
		series(RepositoryVerifiedName, mongo, `repository="mongodb-repo"`): float64(t0.Add(-time.Hour).Unix()),
		series(PausedName, appData):                                        1,
	}
	for _, v := range Verdicts {
		want[series(HealthVerdictName, mongo, fmt.Sprintf("verdict=%q", v))] = bit(v == ui.VerdictHealthy)
		want[series(HealthVerdictName, appData, fmt.Sprintf("verdict=%q", v))] = bit(v == ui.VerdictPaused)
		n := 0.0
		if v == ui.VerdictHealthy || v == ui.VerdictPaused {
			n = 1
		}
		want[fmt.Sprintf("%s{verdict=%q}", CountName, v)] = n
	}
	for _, p := range SessionPhases {
		want[series(LastSessionPhaseName, mongo, fmt.Sprintf("phase=%q", p))] = bit(p == "Succeeded")
		want[series(LastSessionPhaseName, appData, fmt.Sprintf("phase=%q", p))] = bit(p == "Skipped")
	}
	for k, v := range want {
		g, ok := got[k]
		if !ok {
			t.Errorf("missing %s", k)
		} else if g != v {
			t.Errorf("%s = %v, want %v", k, g, v)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected %s = %v", k, got[k])
		}
	}
}

// The verdict is read at each scrape, from the same stored view: nothing is updated between.
func TestVerdictAtScrapeTime(t *testing.T) {
	now := t0.Add(time.Hour)
	reg := registry(New(snapshot(healthyView()), Options{PerObject: true, Now: func() time.Time { return now }}))
	overdue := series(HealthVerdictName, mongo, `verdict="Overdue"`)
	healthy := series(HealthVerdictName, mongo, `verdict="Healthy"`)
	if got := gather(t, reg); got[overdue] != 0 || got[healthy] != 1 || got[CountName+`{verdict="Healthy"}`] != 1 {
		t.Errorf("at %s: Overdue %v Healthy %v, want 0 and 1", now, got[overdue], got[healthy])
	}
	now = t0.Add(9 * time.Hour)
	if got := gather(t, reg); got[overdue] != 1 || got[healthy] != 0 || got[CountName+`{verdict="Overdue"}`] != 1 {
		t.Errorf("at %s: Overdue %v Healthy %v, want 1 and 0", now, got[overdue], got[healthy])
	}
}

// Without per-object series, only the counts per verdict; before the first build, nothing.
func TestPerObjectOffAndNotReady(t *testing.T) {
	got := scrapeOnce(t, New(snapshot(healthyView(), pausedView()), Options{PerObject: false, Now: func() time.Time { return t0 }}))
	if len(got) != len(Verdicts) {
		t.Errorf("per-object series off: %d series, want the %d counts: %v", len(got), len(Verdicts), got)
	}
	for k := range got {
		if !strings.HasPrefix(k, CountName+"{") {
			t.Errorf("per-object series off: %s", k)
		}
	}
	if got[CountName+`{verdict="Paused"}`] != 1 || got[CountName+`{verdict="Healthy"}`] != 1 {
		t.Errorf("counts: %v", got)
	}
	f := snapshot(healthyView())
	f.ready = false
	if got := scrapeOnce(t, New(f, Options{PerObject: true})); len(got) != 0 {
		t.Errorf("before the first build: %v, want nothing", got)
	}
}

// SeriesPerBackupConfiguration and SeriesPerRepository are the cardinality docs/design.md
// ("Metrics") states: a BackupConfiguration with every series has exactly that many.
func TestCardinality(t *testing.T) {
	v := healthyView()
	v.Repositories = v.Repositories[:1]
	got := scrapeOnce(t, New(snapshot(v), Options{PerObject: true, Now: func() time.Time { return t0 }}))
	if n := len(got) - len(Verdicts); n != SeriesPerBackupConfiguration+SeriesPerRepository {
		t.Errorf("%d series for one BackupConfiguration with one repository, want %d + %d", n, SeriesPerBackupConfiguration, SeriesPerRepository)
	}
}

// benchViews is n views (10 per namespace) like the scale benchmark's: two repositories
// each, half of them overdue at t0.
func benchViews(n int) *fakeViews {
	views := make([]*ui.BackupConfigurationView, n)
	for i := range views {
		v := healthyView()
		v.Namespace, v.Name = fmt.Sprintf("team-%04d", i/10), fmt.Sprintf("db-%05d-backup", i)
		v.Target.Namespace, v.Target.Name = v.Namespace, fmt.Sprintf("db-%05d", i)
		v.Repositories = []ui.RepositoryRef{
			{Name: v.Name + "-s3", Namespace: v.Namespace, Found: true, Size: "1.372 GiB", SnapshotCount: i32(12)},
			{Name: v.Name + "-gcs", Namespace: v.Namespace, Found: true, Size: "86.113 KiB", SnapshotCount: i32(5)},
		}
		if i%2 == 0 {
			v.Health.OverdueAfter = mt(t0.Add(-time.Hour))
			v.Health.Reasons[0].After = v.Health.OverdueAfter
		}
		views[i] = v
	}
	return snapshot(views...)
}

// BenchmarkCollect is one scrape's gathering of the collector's series (what a /metrics
// request does before encoding them). live-B/series is what the gathered series hold until the
// response is written.
func BenchmarkCollect(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			reg := registry(New(benchViews(n), Options{PerObject: true, Now: func() time.Time { return t0 }}))
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			mfs, err := reg.Gather()
			if err != nil {
				b.Fatal(err)
			}
			runtime.GC()
			runtime.ReadMemStats(&after)
			count := 0
			for _, mf := range mfs {
				count += len(mf.GetMetric())
			}
			runtime.KeepAlive(mfs)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := reg.Gather(); err != nil {
					b.Fatal(err)
				}
			}
			// After the loop: its first iteration drops metrics reported before.
			b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(count), "live-B/series")
			b.ReportMetric(float64(count), "series")
		})
	}
}

// BenchmarkScrape is a whole /metrics response of the collector's series for 10,000
// BackupConfigurations, as text, gzipped, as Prometheus asks for it.
func BenchmarkScrape(b *testing.B) {
	reg := registry(New(benchViews(10000), Options{PerObject: true, Now: func() time.Time { return t0 }}))
	h := metrics.HandlerFor(reg, metrics.HandlerOpts{})
	b.ReportAllocs()
	size := 0
	for b.Loop() {
		w := httptest.NewRecorder()
		r := httptest.NewRequest(http.MethodGet, "/metrics", nil)
		r.Header.Set("Accept-Encoding", "gzip")
		h.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			b.Fatalf("%d %s", w.Code, w.Body)
		}
		size = w.Body.Len()
	}
	b.ReportMetric(float64(size), "gzip-bytes/response")
}

// viewBuilder builds views from a paused flag per key, for a real viewcache.Cache.
type viewBuilder struct {
	mu     sync.Mutex
	paused map[string]bool
	rv     uint64
}

func (b *viewBuilder) Keys() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var keys []string
	for k := range b.paused {
		keys = append(keys, k)
	}
	return keys
}

func (b *viewBuilder) Build(key string) (*ui.BackupConfigurationView, uint64, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	v := healthyView()
	v.Namespace, v.Name, _ = strings.Cut(key, "/")
	v.Basic.Paused = b.paused[key]
	return v, b.rv, true
}

func (b *viewBuilder) ListedResourceVersion() uint64    { return 0 }
func (b *viewBuilder) New() *ui.BackupConfigurationView { return &ui.BackupConfigurationView{} }

// A scrape reads one snapshot and holds no lock of the cache while it sends its series: a
// scrape stalled halfway (a slow reader of /metrics) neither keeps a change from being
// published nor sees it; the next scrape does.
func TestScrapeNeitherBlocksNorSeesARebuild(t *testing.T) {
	b := &viewBuilder{paused: map[string]bool{}, rv: 1}
	for i := range 100 {
		b.paused[fmt.Sprintf("demo/bc-%03d", i)] = false
	}
	cache := viewcache.New("backupconfigurationviews", viewcache.Builder[*ui.BackupConfigurationView](b), viewcache.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	go cache.Run(ctx)
	if err := cache.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	c := New(cache, Options{PerObject: true, Now: func() time.Time { return t0 }})
	registry(c)                     // creates the descriptors, as registration in the server does
	ch := make(chan metrics.Metric) // unbuffered: the scrape waits for every read
	done := make(chan struct{})
	go func() { c.CollectWithStability(ch); close(ch); close(done) }()
	<-ch // the scrape has started and holds its snapshot

	// Pause the last view while the scrape is stalled: the change is published.
	b.mu.Lock()
	b.paused["demo/bc-099"], b.rv = true, 2
	b.mu.Unlock()
	cache.Notify([]string{"demo/bc-099"}, 2, false)
	if _, err := cache.WaitFor(ctx, 2*viewcache.Stride); err != nil { // the change came from revision 2
		t.Fatalf("a change was not published while a scrape was stalled: %v", err)
	}
	// The stalled scrape goes on with its own snapshot: bc-099 not paused.
	var pausedSeen []string
	for m := range ch {
		var out dto.Metric
		if err := m.Write(&out); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(m.Desc().String(), PausedName) && out.GetGauge().GetValue() == 1 {
			pausedSeen = append(pausedSeen, out.String())
		}
	}
	<-done
	if len(pausedSeen) != 0 {
		t.Errorf("the stalled scrape saw a change published after it began: %v", pausedSeen)
	}
	if got := scrapeOnce(t, New(cache, Options{PerObject: true, Now: func() time.Time { return t0 }})); got[series(PausedName, `name="bc-099",namespace="demo",target_group="kubedb.com",target_kind="MongoDB",target_name="mongodb",target_namespace="demo"`)] != 1 {
		t.Error("the next scrape does not see the change")
	}
}

// The hand-built series conform to their descriptors as a pedantic registry checks them
// (label names, types, help).
func TestPedanticRegistry(t *testing.T) {
	c := New(snapshot(healthyView(), pausedView()), Options{PerObject: true, Now: func() time.Time { return t0 }})
	registry(c) // creates the descriptors
	p := prometheus.NewPedanticRegistry()
	p.MustRegister(c)
	if _, err := p.Gather(); err != nil {
		t.Fatal(err)
	}
}

// Each series' labels come sorted, as the registry wants them (it copies and sorts them
// otherwise), and the series that share label pairs encode alike as text and protobuf.
func TestLabelsSortedAndEncodings(t *testing.T) {
	c := New(snapshot(healthyView(), pausedView()), Options{PerObject: true, Now: func() time.Time { return t0 }})
	reg := registry(c)
	ch := make(chan metrics.Metric)
	go func() { c.CollectWithStability(ch); close(ch) }()
	for m := range ch {
		var out dto.Metric
		if err := m.Write(&out); err != nil {
			t.Fatal(err)
		}
		if !sort.SliceIsSorted(out.Label, func(i, j int) bool { return out.Label[i].GetName() < out.Label[j].GetName() }) {
			t.Errorf("%s: labels not sorted: %v", m.Desc(), out.Label)
		}
	}
	h := metrics.HandlerFor(reg, metrics.HandlerOpts{})
	decode := func(accept string) map[string]string {
		r := httptest.NewRequest(http.MethodGet, "/metrics", nil)
		r.Header.Set("Accept", accept)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		dec := expfmt.NewDecoder(w.Body, expfmt.ResponseFormat(w.Header()))
		got := map[string]string{}
		for {
			var mf dto.MetricFamily
			if err := dec.Decode(&mf); err == io.EOF {
				break
			} else if err != nil {
				t.Fatalf("%s: %v", accept, err)
			}
			for _, m := range mf.GetMetric() {
				got[mf.GetName()+m.String()] = mf.GetType().String()
			}
		}
		return got
	}
	text := decode("text/plain;version=0.0.4")
	proto := decode("application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited")
	if len(text) < 2*SeriesPerBackupConfiguration || !reflect.DeepEqual(text, proto) {
		t.Errorf("text and protobuf differ (%d and %d series)", len(text), len(proto))
	}
}
