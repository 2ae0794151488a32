// Package report writes the scale benchmark's results as the markdown block of
// docs/benchmarks.md ("Results"): one block per scale, between markers, the rest of the file
// kept.
package report

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/kubestash/backupview/test/scale"
	"github.com/kubestash/backupview/test/scale/loader"
	"github.com/kubestash/backupview/test/scale/stats"
)

// Results is everything the report prints.
type Results struct {
	Scale      scale.Scale
	Load       *loader.LoadResult // nil: not known
	Pairs      []stats.Pair
	Ready      stats.Pair // view = backupview start to ready; direct = a plain informer list
	Memory     Memory
	Watchers   *Watchers // nil: the part did not run
	Burst      *Burst    // nil: the part did not run
	Views, BCs int
	Started    time.Time
	Took       time.Duration
	Machine    string
	LoadAvg    string
	Errors     []string
}

// Memory is backupview's footprint after sync.
type Memory struct {
	RSS, HWM, HeapInuse, HeapAlloc float64 // bytes
	// RSSAnon and RSSFile split RSS after sync: anonymous memory (heap, stacks, the runtime)
	// and file-backed pages (the binary's code and read-only data, which the kernel can drop
	// and read again).
	RSSAnon, RSSFile    float64
	SourceObjects       int
	Views               int
	BySource            map[string]int
	RSSAfter, HeapAfter float64 // at the end of the run, after every request
}

// The goals of the measurements of every scale (docs/benchmarks.md, "Goals"): a ratio of
// backupview's time to kube-apiserver's for the same question, at every scale.
const (
	KubectlTableGoal = 1.0 // kubectl get bcv -A / kubectl get backupconfigurations -A
	KubectlJSONGoal  = 1.0 // the same with -o json
	ListGoal         = 0.5 // one LIST request, as Table and as JSON
	GetGoal          = 1.0 // GET one view / GET one BackupConfiguration
	WatchGoal        = 1.5 // a status update's event: view watch / BackupSession watch
	ReadyGoal        = 1.0 // start to ready / the plain informers' list of the same kinds
)

// RSSGoal is the goal for backupview's RSS per source object held, in bytes, at a scale (0:
// none, where fixed costs are most of it).
func RSSGoal(sc scale.Scale) float64 {
	switch sc {
	case scale.Default:
		return 1 << 10
	case scale.Medium:
		return 2 << 10
	}
	return 0
}

// Markdown renders the results as the block written into docs/benchmarks.md.
func (r *Results) Markdown() string {
	var w strings.Builder
	p := func(format string, a ...interface{}) { fmt.Fprintf(&w, format, a...) }
	p("### Scale `%s`, measured %s\n\n", r.Scale.Name, r.Started.UTC().Format("2006-01-02 15:04 MST"))
	p("- Machine: %s; load average at start %s (the machine is shared: other work ran meanwhile).\n", r.Machine, r.LoadAvg)
	p("- Cluster: %s; %d objects.\n", r.Scale, r.Scale.Total())
	if r.Load != nil {
		p("- Generator (`backupview-scale load`, run %s): %d objects, %d requests in %s with at most %d requests in flight: **%.0f objects/s, %.0f requests/s**.\n",
			r.Load.At.Format("2006-01-02 15:04 MST"), r.Load.Objects, r.Load.Requests, Duration(time.Duration(r.Load.Seconds*float64(time.Second))), r.Load.Concurrency, r.Load.ObjectsPerSecond(), r.Load.RequestsPerSecond())
		if r.Load.Existing > 0 {
			p("  It resumed an interrupted load: %d of the objects existed already.\n", r.Load.Existing)
		}
	}
	p("- Views: %d for %d BackupConfigurations. Whole run: %s.\n", r.Views, r.BCs, Duration(r.Took))
	if r.Scale != scale.Default && r.Scale != scale.Medium {
		p("- At this scale fixed costs (process start, ~85 MB of RSS) dominate the per-object figures.\n")
	}
	p("\n")
	p("| measurement | view (median, min–max) | direct (median, min–max) | ratio (median; per-round min–max) | goal | size view / direct |\n")
	p("|---|---|---|---|---|---|\n")
	row := func(x stats.Pair) {
		lo, hi := x.RatioRange()
		goal := "–"
		if x.Goal > 0 {
			goal = fmt.Sprintf("≤ %.1f×: %s", x.Goal, verdict(x.Ratio(), x.Goal))
		}
		size := "–"
		if x.ViewBytes > 0 {
			size = Bytes(float64(x.ViewBytes)) + " / " + Bytes(float64(x.DirBytes))
		}
		p("| %s (n=%d) | %s (%s–%s) | %s (%s–%s) | %.2f× (%.2f–%.2f) | %s | %s |\n", x.Name, len(x.View),
			Duration(x.View.Median()), Duration(x.View.Min()), Duration(x.View.Max()),
			Duration(x.Direct.Median()), Duration(x.Direct.Min()), Duration(x.Direct.Max()),
			x.Ratio(), lo, hi, goal, size)
	}
	for _, x := range r.Pairs {
		row(x)
	}
	row(r.Ready)
	m := r.Memory
	n := float64(max(m.SourceObjects, 1))
	p("\nMemory of backupview (%d source objects held", m.SourceObjects)
	if len(m.BySource) > 0 {
		var ks []string
		for k := range m.BySource {
			ks = append(ks, k)
		}
		sort.Strings(ks)
		var parts []string
		for _, k := range ks {
			parts = append(parts, fmt.Sprintf("%s %d", k, m.BySource[k]))
		}
		p(": %s", strings.Join(parts, ", "))
	}
	p("; %d views):\n\n", r.Views)
	p("| | total | per source object | goal |\n|---|---|---|---|\n")
	rssGoal := "–"
	if g := RSSGoal(r.Scale); g > 0 {
		rssGoal = fmt.Sprintf("≤ %.0f KiB: %s", g/1024, verdict(m.RSS/n, g))
	}
	p("| RSS after sync (+6 s) | %s | %.0f B | %s |\n", Bytes(m.RSS), m.RSS/n, rssGoal)
	if m.RSSAnon > 0 || m.RSSFile > 0 {
		p("| of which anonymous (RssAnon: heap, stacks, runtime) | %s | %.0f B | – |\n", Bytes(m.RSSAnon), m.RSSAnon/n)
		p("| of which file-backed (RssFile: the binary's code and data) | %s | %.0f B | – |\n", Bytes(m.RSSFile), m.RSSFile/n)
	}
	p("| Go heap in use after sync (after a forced collection) | %s | %.0f B | – |\n", Bytes(m.HeapInuse), m.HeapInuse/n)
	p("| Go heap allocated (live + not yet collected) after sync, before it | %s | %.0f B | – |\n", Bytes(m.HeapAlloc), m.HeapAlloc/n)
	p("| RSS at the end of the run (after all requests) | %s | %.0f B | – |\n", Bytes(m.RSSAfter), m.RSSAfter/n)
	p("| peak RSS (VmHWM) | %s | %.0f B | – |\n", Bytes(m.HWM), m.HWM/n)
	if r.Watchers != nil {
		r.watchersMarkdown(p)
	}
	if r.Burst != nil {
		r.burstMarkdown(p)
	}
	if len(r.Errors) > 0 {
		p("\nErrors:\n\n")
		for _, e := range r.Errors {
			p("- %s\n", e)
		}
	}
	return w.String()
}

// verdict judges a value against its limit.
func verdict(value, limit float64) string {
	if by, missed := stats.Missed(value, limit); missed {
		// Under 1%, two significant digits: a hair over the limit must not read as
		// "missed by 0%".
		if by < 0.01 {
			return fmt.Sprintf("**missed by %.2g%%**", by*100)
		}
		return fmt.Sprintf("**missed by %.0f%%**", by*100)
	}
	return "**holds**"
}

// atDefault judges a goal set for the default scale only.
func (r *Results) atDefault(value, limit float64) string {
	if r.Scale != scale.Default {
		return "(set for the default scale)"
	}
	return verdict(value, limit)
}

// Write replaces the block of the results' scale in the file (between its markers), keeping
// the rest; a file without the block gets it appended, a missing one is created.
func Write(path string, r *Results) error { return WriteBlock(path, r.Scale.Name, r.Markdown()) }

// WriteBlock replaces the named block in the file (between its markers), keeping the rest; a
// file without the block gets it appended, a missing one is created.
func WriteBlock(path, name, content string) error {
	begin := fmt.Sprintf("<!-- bench-scale:%s:begin -->", name)
	end := fmt.Sprintf("<!-- bench-scale:%s:end -->", name)
	block := begin + "\n" + content + end
	old, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	s := string(old)
	if i, j := strings.Index(s, begin), strings.Index(s, end); i >= 0 && j > i {
		s = s[:i] + block + s[j+len(end):]
	} else {
		if s == "" {
			s = "# Benchmarks\n\n"
		}
		s = strings.TrimRight(s, "\n") + "\n\n" + block + "\n"
	}
	return os.WriteFile(path, []byte(s), 0o644)
}

// Duration prints a duration with three significant digits or so: "12.3 s", "1.24 s",
// "132 ms", "6.5 ms", "0.85 ms".
func Duration(d time.Duration) string {
	switch {
	case d >= 10*time.Second:
		return fmt.Sprintf("%.1f s", d.Seconds())
	case d >= time.Second:
		return fmt.Sprintf("%.2f s", d.Seconds())
	case d >= 10*time.Millisecond:
		return fmt.Sprintf("%.0f ms", float64(d)/1e6)
	case d >= time.Millisecond:
		return fmt.Sprintf("%.1f ms", float64(d)/1e6)
	default:
		return fmt.Sprintf("%.2f ms", float64(d)/1e6)
	}
}

// Bytes prints a size in binary units: "1.25 GiB", "95.4 MiB", "41.8 KiB", "512 B".
func Bytes(b float64) string {
	switch {
	case b >= 1<<30:
		return fmt.Sprintf("%.2f GiB", b/(1<<30))
	case b >= 1<<20:
		return fmt.Sprintf("%.1f MiB", b/(1<<20))
	case b >= 1<<10:
		return fmt.Sprintf("%.1f KiB", b/(1<<10))
	default:
		return fmt.Sprintf("%.0f B", b)
	}
}
