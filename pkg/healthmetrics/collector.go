// Package healthmetrics exports the health of every BackupConfiguration as Prometheus
// metrics, computed when /metrics is scraped from the view cache's current snapshot
// (docs/design.md, "Metrics"). It holds no state between scrapes: nothing is updated when a
// view changes, and a scrape never takes the cache's lock beyond reading the snapshot pointer.
package healthmetrics

import (
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"k8s.io/component-base/metrics"

	ui "github.com/kubestash/backupview/pkg/apis/ui/v1alpha1"
	"github.com/kubestash/backupview/pkg/kubestash"
	"github.com/kubestash/backupview/pkg/viewcache"
)

// Prefix starts the name of every per-BackupConfiguration metric.
const Prefix = "backupview_backupconfiguration_"

// The metric names, by the Prometheus naming guide: base units, _timestamp_seconds for
// instants, _bytes for sizes. Snapshot counts can fall (retention), so they are a gauge and
// not a _total counter.
const (
	HealthVerdictName    = Prefix + "health_verdict"
	PausedName           = Prefix + "paused"
	LastSuccessName      = Prefix + "last_success_timestamp_seconds"
	OverdueAfterName     = Prefix + "overdue_after_timestamp_seconds"
	LastSessionPhaseName = Prefix + "last_session_phase"
	RepositorySizeName   = Prefix + "repository_size_bytes"
	RepositorySnapsName  = Prefix + "repository_snapshots"
	// RepositoryVerifiedName is when the newest successful verification of a Repository's
	// backups ended (docs/design.md, "Verification").
	RepositoryVerifiedName = Prefix + "repository_last_verification_timestamp_seconds"
	// CountName is the number of BackupConfigurations per verdict, exported even when the
	// per-object series are off.
	CountName = "backupview_backupconfigurations"
)

// Verdicts are the health verdicts in their precedence: one series each per
// BackupConfiguration.
var Verdicts = ui.Verdicts

// SessionPhases are the BackupSession phases, one series each per BackupConfiguration
// (docs/design.md, "KubeStash facts the joins use").
var SessionPhases = []string{kubestash.SessionPending, kubestash.SessionRunning, kubestash.SessionSucceeded, kubestash.SessionFailed, kubestash.SessionSkipped}

// The most series one BackupConfiguration has (docs/design.md, "Metrics"): one per verdict
// (9) and per session phase (5), paused, the last success and the overdue threshold; and three
// per Repository (size, snapshots, last verification). The counts per verdict (9) are exported
// once.
const (
	SeriesPerBackupConfiguration = 17
	SeriesPerRepository          = 3
)

// ObjectLabels label every per-BackupConfiguration series: the BackupConfiguration and its
// target (spec.target), so that an alert names what is not protected.
var ObjectLabels = []string{"namespace", "name", "target_group", "target_kind", "target_namespace", "target_name"}

// Views is what the collector reads: the view cache.
type Views interface {
	Ready() bool
	Current() *viewcache.Snapshot[*ui.BackupConfigurationView]
}

// Options tune the collector.
type Options struct {
	// PerObject exports the per-BackupConfiguration series; without it only the counts per
	// verdict (CountName).
	PerObject bool
	// Now is the clock the verdicts are read at (tests); nil is time.Now.
	Now func() time.Time
}

// Collector is a component-base custom collector (register it with
// legacyregistry.CustomMustRegister).
type Collector struct {
	metrics.BaseStableCollector
	views Views
	opts  Options
	mu    sync.Mutex // scrapes take turns

	verdict, paused, lastSuccess, overdueAfter, phase, repoSize, repoSnaps, repoVerified, count *metrics.Desc
}

var _ metrics.StableCollector = &Collector{}

// New returns a collector of the views' health.
func New(views Views, o Options) *Collector {
	if o.Now == nil {
		o.Now = time.Now
	}
	with := func(extra ...string) []string { return append(append([]string(nil), ObjectLabels...), extra...) }
	desc := func(name, help string, labels []string) *metrics.Desc {
		return metrics.NewDesc(name, help, labels, nil, metrics.ALPHA, "")
	}
	return &Collector{
		views: views, opts: o,
		verdict:      desc(HealthVerdictName, "The BackupConfiguration's health verdict at scrape time: 1 for the verdict that holds, 0 for the others (docs/design.md, Health).", with("verdict")),
		paused:       desc(PausedName, "Whether the BackupConfiguration is paused (spec.paused): 1 or 0.", with()),
		lastSuccess:  desc(LastSuccessName, "When the newest successful backup ended, in Unix seconds: a Succeeded BackupSession's creation plus its duration, or a Repository's lastBackupTime. Absent until one succeeds.", with()),
		overdueAfter: desc(OverdueAfterName, "When the BackupConfiguration becomes overdue, in Unix seconds: its last success (or creation) plus twice the shortest session interval. Absent when paused or without a schedule that parses.", with()),
		phase:        desc(LastSessionPhaseName, "The phase of the newest BackupSession: 1 for its phase, 0 for the others; all 0 without a BackupSession.", with("phase")),
		repoSize:     desc(RepositorySizeName, "The size of a Repository the BackupConfiguration backs up to (status.size), in bytes, where KubeStash reports it.", with("repository")),
		repoSnaps:    desc(RepositorySnapsName, "The number of snapshots in a Repository the BackupConfiguration backs up to (status.snapshotCount), where KubeStash reports it.", with("repository")),
		repoVerified: desc(RepositoryVerifiedName, "When the newest successful verification of a Repository the BackupConfiguration backs up to ended, in Unix seconds: a Succeeded BackupVerificationSession's creation plus its duration. Absent without a BackupVerifier or before one succeeds.", with("repository")),
		count:        desc(CountName, "The number of BackupConfigurations with each health verdict at scrape time.", []string{"verdict"}),
	}
}

// DescribeWithStability sends every descriptor.
func (c *Collector) DescribeWithStability(ch chan<- *metrics.Desc) {
	for _, d := range []*metrics.Desc{c.verdict, c.paused, c.lastSuccess, c.overdueAfter, c.phase, c.repoSize, c.repoSnaps, c.repoVerified, c.count} {
		ch <- d
	}
}

// CollectWithStability sends the series of the current snapshot, with every verdict read at
// one instant. It reads only the published, immutable snapshot (rebuilds go on meanwhile),
// and scrapes take turns, so that at most one scrape's series are being built at a time.
// Before the first build it sends nothing: an empty list would read as "no backups".
func (c *Collector) CollectWithStability(ch chan<- metrics.Metric) {
	if !c.views.Ready() {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	snap := c.views.Current()
	now := c.opts.Now()
	counts := make([]int, len(Verdicts))
	var s *scrape
	if c.opts.PerObject {
		s = c.newScrape()
	}
	for _, e := range snap.Entries {
		v := e.Object
		verdict := v.Health.VerdictAt(now)
		i := slices.Index(Verdicts, verdict)
		if i < 0 {
			i = len(Verdicts) - 1 // none today; the counts still add up to the views
		}
		counts[i]++
		if s != nil {
			for _, m := range s.series(v, i) {
				ch <- m
			}
		}
	}
	for i, vd := range Verdicts {
		ch <- metrics.NewLazyConstMetric(c.count, metrics.GaugeValue, float64(counts[i]), vd)
	}
}

// A scrape's series are built for the registry's Gather, which keeps every one until the
// response is written: about 20 per BackupConfiguration, 200,000 for 10,000. Const metrics
// (metrics.NewLazyConstMetric) would allocate and keep seven label pairs and their values for
// each (900 bytes a series); these share one set of label pairs per BackupConfiguration,
// whose values point into the immutable view, and the verdict and phase pairs per scrape
// (docs/benchmarks.md, "Metrics"). A scrape's pairs are its own: encoding a protobuf response
// writes into them.
type scrape struct {
	verdict, paused, lastSuccess, overdueAfter, phase, repoSize, repoSnaps, repoVerified *prometheus.Desc
	verdicts, phases                                                                     []*dto.LabelPair
}

func (c *Collector) newScrape() *scrape {
	n := len(ObjectLabels)
	s := &scrape{
		verdict: promDesc(c.verdict, n+1), paused: promDesc(c.paused, n), lastSuccess: promDesc(c.lastSuccess, n),
		overdueAfter: promDesc(c.overdueAfter, n), phase: promDesc(c.phase, n+1), repoSize: promDesc(c.repoSize, n+1), repoSnaps: promDesc(c.repoSnaps, n+1),
		repoVerified: promDesc(c.repoVerified, n+1),
	}
	pairs := func(name string, values []string) []*dto.LabelPair {
		out := make([]*dto.LabelPair, len(values))
		for i := range values {
			out[i] = &dto.LabelPair{Name: &name, Value: &values[i]}
		}
		return out
	}
	s.verdicts, s.phases = pairs("verdict", Verdicts), pairs("phase", SessionPhases)
	return s
}

// promDesc is d's Prometheus descriptor, the one registered (nil when d is hidden), of a
// metric with labels labels. component-base keeps it unexported; a const metric of d carries it.
func promDesc(d *metrics.Desc, labels int) *prometheus.Desc {
	m := metrics.NewLazyConstMetric(d, metrics.GaugeValue, 0, make([]string, labels)...)
	if m == nil {
		return nil
	}
	return m.Desc()
}

// The label names, sorted as the registry wants a series' labels (it copies and sorts
// unsorted ones): name, namespace, then phase or repository, then the target's, then verdict.
var (
	labelName, labelNamespace                          = "name", "namespace"
	labelGroup, labelKind, labelTargetName, labelTgtNS = "target_group", "target_kind", "target_name", "target_namespace"
	labelRepository                                    = "repository"
)

// series are v's series; verdict is the index in Verdicts of its verdict now.
func (s *scrape) series(v *ui.BackupConfigurationView, verdict int) []*sample {
	repos := 0
	for i := range v.Repositories {
		if v.Repositories[i].Found {
			repos++
		}
	}
	// The BackupConfiguration's pairs (6), then one repository pair per repository.
	own := make([]dto.LabelPair, 6+repos)
	for i, p := range []struct{ name, value *string }{
		{&labelName, &v.Name}, {&labelNamespace, &v.Namespace},
		{&labelGroup, &v.Target.APIGroup}, {&labelKind, &v.Target.Kind}, {&labelTargetName, &v.Target.Name}, {&labelTgtNS, &v.Target.Namespace},
	} {
		own[i].Name, own[i].Value = p.name, p.value
	}
	obj := make([]*dto.LabelPair, 6, 6+7*(len(Verdicts)+len(SessionPhases)+repos))
	for i := range 6 {
		obj[i] = &own[i]
	}
	ptrs := obj[6:]
	// with is obj with extra in its sorted place: at 2 (phase, repository) or at the end.
	with := func(extra *dto.LabelPair, at int) []*dto.LabelPair {
		l := ptrs[:7:7]
		ptrs = ptrs[7:]
		copy(l, obj[:at])
		l[at] = extra
		copy(l[at+1:], obj[at:])
		return l
	}
	ptrs = ptrs[:cap(ptrs)]

	out := make([]*sample, 0, SeriesPerBackupConfiguration+SeriesPerRepository*repos)
	buf := make([]sample, 0, cap(out))
	add := func(d *prometheus.Desc, labels []*dto.LabelPair, value float64) {
		if d == nil {
			return
		}
		buf = append(buf, sample{desc: d, label: labels, value: value})
		m := &buf[len(buf)-1]
		m.gauge.Value = &m.value
		out = append(out, m)
	}
	for i := range Verdicts {
		add(s.verdict, with(s.verdicts[i], 6), bit(i == verdict))
	}
	add(s.paused, obj, bit(v.Basic.Paused))
	if t := v.Health.LastSuccessfulBackupTime; t != nil {
		add(s.lastSuccess, obj, seconds(t.Time))
	}
	if t := v.Health.OverdueAfter; t != nil {
		add(s.overdueAfter, obj, seconds(t.Time))
	}
	for i, p := range SessionPhases {
		add(s.phase, with(s.phases[i], 2), bit(p == v.Health.LastSessionPhase))
	}
	n := 6
	for i := range v.Repositories {
		r := &v.Repositories[i]
		if !r.Found {
			continue
		}
		own[n].Name, own[n].Value = &labelRepository, &r.Name
		l := with(&own[n], 2)
		n++
		if b, ok := ParseSize(r.Size); ok {
			add(s.repoSize, l, b)
		}
		if r.SnapshotCount != nil {
			add(s.repoSnaps, l, float64(*r.SnapshotCount))
		}
		if vr := r.Verification; vr != nil && vr.LastSuccessfulVerificationTime != nil {
			add(s.repoVerified, l, seconds(vr.LastSuccessfulVerificationTime.Time))
		}
	}
	return out
}

// sample is one series: a gauge whose labels and value the registry reads as they are.
type sample struct {
	desc  *prometheus.Desc
	label []*dto.LabelPair
	gauge dto.Gauge
	value float64
}

func (m *sample) Desc() *prometheus.Desc { return m.desc }

func (m *sample) Write(out *dto.Metric) error {
	out.Label, out.Gauge = m.label, &m.gauge
	return nil
}

func bit(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// seconds is t in Unix seconds, with its sub-second part.
func seconds(t time.Time) float64 { return float64(t.Unix()) + float64(t.Nanosecond())/1e9 }
