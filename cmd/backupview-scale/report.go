package main

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"time"
)

// Markdown renders the results as the block written into docs/benchmarks.md.
func (r *Results) Markdown() string {
	var w strings.Builder
	p := func(format string, a ...interface{}) { fmt.Fprintf(&w, format, a...) }
	p("### Scale `%s`, measured %s\n\n", r.Scale.Name, r.Started.UTC().Format("2006-01-02 15:04 MST"))
	p("- Machine: %s; load average at start %s (the machine is shared: other work ran meanwhile).\n", r.Machine, r.LoadAvg)
	p("- Cluster: %s; %d objects.\n", r.Scale, r.Scale.Total())
	if r.Load != nil {
		p("- Generator (`backupview-scale load`, run %s): %d objects, %d requests in %s with at most %d requests in flight: **%.0f objects/s, %.0f requests/s**.\n",
			r.Load.At.Format("2006-01-02 15:04 MST"), r.Load.Objects, r.Load.Requests, fmtDur(time.Duration(r.Load.Seconds*float64(time.Second))), r.Load.Concurrency, r.Load.ObjectsPerSecond(), r.Load.RequestsPerSecond())
	}
	p("- Views: %d for %d BackupConfigurations. Whole run: %s.\n", r.Views, r.BCs, fmtDur(r.Took))
	atGoalScale := r.Scale == presets["default"]
	if !atGoalScale {
		p("- The goals are set for the default scale; at this scale fixed costs (process start, ~85 MB of RSS) dominate.\n")
	}
	p("\n")
	p("| measurement | view (median, min–max) | direct (median, min–max) | ratio (median; per-round min–max) | goal | size view / direct |\n")
	p("|---|---|---|---|---|---|\n")
	row := func(x Pair, viewLabel, dirLabel string) {
		lo, hi := x.RatioRange()
		goal := "–"
		if x.Goal > 0 {
			verdict := "**holds**"
			if x.Ratio() > x.Goal {
				verdict = fmt.Sprintf("**missed by %.0f%%**", (x.Ratio()/x.Goal-1)*100)
			}
			if !atGoalScale {
				verdict = "(set for the default scale)"
			}
			goal = fmt.Sprintf("≤ %.1f×: %s", x.Goal, verdict)
		}
		size := "–"
		if x.ViewBytes > 0 {
			size = fmtBytes(float64(x.ViewBytes)) + " / " + fmtBytes(float64(x.DirBytes))
		}
		p("| %s (n=%d) | %s%s (%s–%s) | %s%s (%s–%s) | %.2f× (%.2f–%.2f) | %s | %s |\n", x.Name, len(x.View),
			viewLabel, fmtDur(x.View.Median()), fmtDur(x.View.Min()), fmtDur(x.View.Max()),
			dirLabel, fmtDur(x.Direct.Median()), fmtDur(x.Direct.Min()), fmtDur(x.Direct.Max()),
			x.Ratio(), lo, hi, goal, size)
	}
	for _, x := range r.Pairs {
		row(x, "", "")
	}
	row(r.Ready, "", "")
	m := r.Memory
	n := float64(max(m.SourceObjects, 1))
	verdict := "**holds**"
	if m.RSS/n > 2048 {
		verdict = fmt.Sprintf("**missed by %.0f%%**", (m.RSS/n/2048-1)*100)
	}
	if !atGoalScale {
		verdict = "(set for the default scale)"
	}
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
	p("| RSS after sync (+6 s) | %s | %.0f B | ≤ 2 KiB: %s |\n", fmtBytes(m.RSS), m.RSS/n, verdict)
	p("| Go heap in use after sync | %s | %.0f B | – |\n", fmtBytes(m.HeapInuse), m.HeapInuse/n)
	p("| Go heap allocated (live + not yet collected) after sync | %s | %.0f B | – |\n", fmtBytes(m.HeapAlloc), m.HeapAlloc/n)
	p("| RSS at the end of the run (after all requests) | %s | %.0f B | – |\n", fmtBytes(m.RSSAfter), m.RSSAfter/n)
	p("| peak RSS (VmHWM) | %s | %.0f B | – |\n", fmtBytes(m.HWM), m.HWM/n)
	if len(r.Errors) > 0 {
		p("\nErrors:\n\n")
		for _, e := range r.Errors {
			p("- %s\n", e)
		}
	}
	return w.String()
}

// WriteReport replaces the block of this scale in the file (between markers), keeping the rest.
func WriteReport(path string, r *Results) error {
	begin := fmt.Sprintf("<!-- bench-scale:%s:begin -->", r.Scale.Name)
	end := fmt.Sprintf("<!-- bench-scale:%s:end -->", r.Scale.Name)
	block := begin + "\n" + r.Markdown() + end
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
