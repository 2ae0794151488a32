package report

import (
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kubestash/backupview/test/scale"
	"github.com/kubestash/backupview/test/scale/loader"
	"github.com/kubestash/backupview/test/scale/stats"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func ms(v ...float64) stats.Sample {
	var s stats.Sample
	for _, x := range v {
		s = append(s, time.Duration(x*float64(time.Millisecond)))
	}
	return s
}

// results are those of a run at the scale: the rows the benchmark measures, in its order,
// with the goals it sets.
func results(sc scale.Scale) *Results {
	at := time.Date(2026, 11, 27, 8, 50, 0, 0, time.UTC)
	return &Results{
		Scale: sc,
		Load: &loader.LoadResult{Scale: sc, Objects: sc.Total() + 1, Requests: int64(sc.Total() + 301), Seconds: 16.2, Concurrency: 32,
			At: at.Add(-time.Minute), StatusInCreate: true},
		Pairs: []stats.Pair{
			{Name: "kubectl get -A (Table)", Goal: KubectlTableGoal, View: ms(132, 124, 156), Direct: ms(124, 184, 123), ViewBytes: 42803, DirBytes: 10854},
			{Name: "kubectl get -A -o json", Goal: KubectlJSONGoal, View: ms(436, 412, 585), Direct: ms(447, 359, 558), ViewBytes: 1887437, DirBytes: 1572864},
			{Name: "LIST -A as Table, one request (HTTP, no kubectl)", Goal: ListGoal, View: ms(7.5, 6.5, 18), Direct: ms(13, 17, 13), ViewBytes: 157286, DirBytes: 264090},
			{Name: "LIST -A as JSON, one request (HTTP, no kubectl)", Goal: ListGoal, View: ms(22, 14, 27), Direct: ms(27, 46, 26), ViewBytes: 993484, DirBytes: 714649},
			{Name: "GET one object (HTTP JSON, keep-alive)", Goal: GetGoal, View: ms(3.9, 2.0, 28, 0.4), Direct: ms(4.2, 1.9, 26, 4.1), ViewBytes: 5222, DirBytes: 4096},
			{Name: "watch latency: BackupSession status update to event", Goal: WatchGoal, View: ms(14, 8.8, 70), Direct: ms(12, 6.4, 69)},
		},
		Ready: stats.Pair{Name: "start to ready (backupview) vs informer list of the same kinds", Goal: ReadyGoal,
			View: ms(1760, 1730, 2120), Direct: ms(1400, 4100, 1200)},
		Memory: Memory{RSS: 95.4 * (1 << 20), RSSAnon: 28.1 * (1 << 20), RSSFile: 67.3 * (1 << 20), HWM: 105.7 * (1 << 20), HeapInuse: 19 * (1 << 20), HeapAlloc: 12.9 * (1 << 20),
			SourceObjects: sc.SourceObjects(), BySource: map[string]int{"backupsessions.core.kubestash.com": sc.Sessions, "backupconfigurations.core.kubestash.com": sc.BCs},
			RSSAfter: 105.3 * (1 << 20)},
		Views: sc.BCs, BCs: sc.BCs,
		Started: at, Took: 41200 * time.Millisecond,
		Machine: "2 cores (AMD EPYC), 23.54 GiB RAM, Linux 6.18.44, go1.26.8", LoadAvg: "5.66 5.33 5.28",
	}
}

// withParts adds the watchers and burst parts' results.
func withParts(r *Results) *Results {
	r.Watchers = &Watchers{Namespaced: 200, Cluster: 10, Opened: 210, Patches: 3,
		Direct: ms(6.1, 5.2, 9.0), NSLatency: ms(8.2, 7.5, 9.1, 12, 8.8, 30), ClusterLatency: ms(9.5, 8.1, 14, 10, 11, 12),
		GetWithout: ms(2.1, 1.9, 4.4, 2.0), GetWith: ms(2.2, 2.0, 5.0, 2.1), ListWithout: ms(3.0, 3.5), ListWith: ms(3.3, 3.4),
		RSSWithout: 96 << 20, RSSWith: 99 << 20, HeapWithout: 20 << 20, HeapWith: 21 << 20}
	r.Burst = &Burst{Sessions: 200, Writes: 600, Concurrency: 32, Create: 1200 * time.Millisecond, Writing: 3500 * time.Millisecond,
		Converged: 40 * time.Millisecond, Lag: ms(3, 4, 5, 12), CPUSeconds: 1.23}
	return r
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -run %s -update writes it)", err, t.Name())
	}
	if got != string(want) {
		t.Errorf("%s differs from the golden file (go test -update rewrites it after a deliberate change):\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

// TestMarkdownGolden: the block as the benchmark writes it, below the default scale (goals
// not judged) and at it (judged: held and missed), with errors.
func TestMarkdownGolden(t *testing.T) {
	golden(t, "small.md", withParts(results(scale.Small)).Markdown())
	r := results(scale.Default)
	r.Load = nil
	r.Pairs[0].View = ms(3200, 3100, 2900) // the Table list misses its goal
	r.Memory.RSS = 414.2 * (1 << 20)
	r.Memory.SourceObjects = 140042
	r.Errors = []string{"200 views for 199 BackupConfigurations (scale: 10000)", "watch latency: no event within 10 s (direct true, view false)"}
	golden(t, "default.md", r.Markdown())
	// At the default scale with the parts: watcher memory and convergence missed, the rest held;
	// a burst that did not converge; a resumed load.
	r = withParts(results(scale.Default))
	r.Load.Existing = 1234
	r.Watchers.Namespaced, r.Watchers.Opened, r.Watchers.RSSWith = 2000, 2010, 140<<20
	r.Watchers.ServerFlags = []string{"--max-watches=20000"}
	r.Burst.Sessions, r.Burst.Writes = scale.Default.BCs, 3*scale.Default.BCs
	golden(t, "default-parts.md", r.Markdown())
	r.Burst.Converged, r.Burst.NotConverged = -1, 17
	if got := r.Markdown(); !strings.Contains(got, "**17 views not converged**") {
		t.Errorf("a burst that did not converge:\n%s", got)
	}
}

// shape reduces a block to its format: numbers, units, verdicts and the machine's
// description become placeholders.
func shape(s string) string {
	for _, r := range []struct{ re, with string }{
		{`Machine: [^;]*; load average at start [0-9. ]*\(`, "Machine: M; load average at start L ("},
		{`held: [^;]*;`, "held: S;"},
		{`\*\*(holds|missed by \d+(\.\d+)?%)\*\*`, "VERDICT"},
		{`-?\d+(\.\d+)? (ms|s)\b`, "T"}, // a lag is negative when the view's event came first
		{`\d+(\.\d+)? (B|KiB|MiB|GiB)\b`, "SIZE"},
		{`\d+(\.\d+)?`, "N"},
	} {
		s = regexp.MustCompile(r.re).ReplaceAllString(s, r.with)
	}
	return s
}

// TestMarkdownIsWhatTheDocsShow: docs/benchmarks.md holds blocks the tool wrote; the tool
// still writes blocks of that shape (a change of format is a change of that page too: run
// make bench-scale). A block measured before the generator made Snapshots has the shape of
// the scale without them.
func TestMarkdownIsWhatTheDocsShow(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "..", "docs", "benchmarks.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, sc := range []scale.Scale{scale.Small, scale.Medium, scale.Default} {
		begin, end := "<!-- bench-scale:"+sc.Name+":begin -->\n", "<!-- bench-scale:"+sc.Name+":end -->"
		_, rest, ok := strings.Cut(string(doc), begin)
		block, _, ok2 := strings.Cut(rest, end)
		if !ok || !ok2 {
			t.Fatalf("docs/benchmarks.md has no %s block", sc.Name)
		}
		r := results(sc)
		withParts(r)
		if sc != scale.Small { // the runs there open the goals' count of watches
			r.Watchers.Namespaced = WatchersGoalCount
		}
		got, want := shape(r.Markdown()), shape(block)
		if !strings.Contains(want, " Snapshots,") {
			got = strings.Replace(got, " N Snapshots,", "", 1)
		}
		if got != want {
			t.Errorf("scale %s: the tool writes\n%s\ndocs/benchmarks.md shows\n%s", sc.Name, got, want)
		}
	}
}

func TestWrite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "benchmarks.md")
	small, tiny := results(scale.Small), results(scale.Tiny)
	block := func(r *Results) string {
		return "<!-- bench-scale:" + r.Scale.Name + ":begin -->\n" + r.Markdown() + "<!-- bench-scale:" + r.Scale.Name + ":end -->"
	}
	read := func() string {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	// A missing file is created with a title.
	if err := Write(path, small); err != nil {
		t.Fatal(err)
	}
	if got, want := read(), "# Benchmarks\n\n"+block(small)+"\n"; got != want {
		t.Errorf("new file:\n%s\nwant\n%s", got, want)
	}
	// Text around the blocks stays; another scale's block is appended, then replaced in place.
	hand := "# Benchmarks\n\nWritten by hand.\n\n" + block(small) + "\n\n## Analysis\n\nAlso by hand.\n"
	if err := os.WriteFile(path, []byte(hand), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Write(path, tiny); err != nil {
		t.Fatal(err)
	}
	if got, want := read(), hand+"\n"+block(tiny)+"\n"; got != want {
		t.Errorf("appended:\n%s\nwant\n%s", got, want)
	}
	small.Views = 7
	if err := Write(path, small); err != nil {
		t.Fatal(err)
	}
	want := "# Benchmarks\n\nWritten by hand.\n\n" + block(small) + "\n\n## Analysis\n\nAlso by hand.\n\n" + block(tiny) + "\n"
	if got := read(); got != want || !strings.Contains(got, "- Views: 7 for") {
		t.Errorf("replaced:\n%s\nwant\n%s", got, want)
	}
}

func TestDurationAndBytes(t *testing.T) {
	for d, want := range map[time.Duration]string{
		12345 * time.Millisecond: "12.3 s", 1240 * time.Millisecond: "1.24 s", 132 * time.Millisecond: "132 ms",
		6500 * time.Microsecond: "6.5 ms", 850 * time.Microsecond: "0.85 ms", 0: "0.00 ms",
	} {
		if got := Duration(d); got != want {
			t.Errorf("Duration(%v) = %q, want %q", d, got, want)
		}
	}
	for b, want := range map[float64]string{
		1.25 * (1 << 30): "1.25 GiB", 95.4 * (1 << 20): "95.4 MiB", 42803: "41.8 KiB", 512: "512 B",
	} {
		if got := Bytes(b); got != want {
			t.Errorf("Bytes(%v) = %q, want %q", b, got, want)
		}
	}
}

func TestVerdict(t *testing.T) {
	for _, c := range []struct {
		value, limit float64
		want         string
	}{
		{1.0, 1.0, "**holds**"},
		{0.5, 1.0, "**holds**"},
		{1.21, 1.0, "**missed by 21%**"},
		{1.004, 1.0, "**missed by 0.4%**"},
		{1.008, 1.0, "**missed by 0.8%**"},
		{1.012, 1.0, "**missed by 1%**"},
		{1.00004, 1.0, "**missed by 0.004%**"},
	} {
		if got := verdict(c.value, c.limit); got != c.want {
			t.Errorf("verdict(%v, %v) = %q, want %q", c.value, c.limit, got, c.want)
		}
	}
}
