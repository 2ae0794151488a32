package bench

import (
	"context"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/kubestash/backupview/test/scale"
	"github.com/kubestash/backupview/test/scale/stats"
)

// recorder is a pair of measured functions that log their calls and return durations in
// call order (1 ms, 2 ms, ...).
type recorder struct {
	calls []string
	fail  map[int]bool // call numbers (from 1) that fail
}

func (r *recorder) f(name string, size int64) func() (time.Duration, int64, error) {
	return func() (time.Duration, int64, error) {
		r.calls = append(r.calls, name)
		n := len(r.calls)
		if r.fail[n] {
			return 0, 0, errors.New("boom")
		}
		return time.Duration(n) * time.Millisecond, size, nil
	}
}

func quiet() *Bench { return &Bench{Logf: func(string, ...interface{}) {}} }

// TestInterleave: one warm-up of each (not recorded), then view, direct; direct, view; ...
func TestInterleave(t *testing.T) {
	b, r := quiet(), &recorder{}
	p := stats.Pair{Name: "x"}
	b.interleave(&p, 3, r.f("view", 10), r.f("direct", 20))
	want := []string{"view", "direct", "view", "direct", "direct", "view", "view", "direct"}
	if !reflect.DeepEqual(r.calls, want) {
		t.Errorf("calls %v, want %v", r.calls, want)
	}
	ms := func(v ...int) stats.Sample {
		var s stats.Sample
		for _, x := range v {
			s = append(s, time.Duration(x)*time.Millisecond)
		}
		return s
	}
	if !reflect.DeepEqual(p.View, ms(3, 6, 7)) || !reflect.DeepEqual(p.Direct, ms(4, 5, 8)) {
		t.Errorf("view %v, direct %v; want the rounds' durations without the warm-up", p.View, p.Direct)
	}
	if p.ViewBytes != 10 || p.DirBytes != 20 || len(b.errs) != 0 {
		t.Errorf("sizes %d/%d, errors %v", p.ViewBytes, p.DirBytes, b.errs)
	}
}

// TestInterleaveStopsAtAnError: a failed request is an error of the run, and the comparison
// stops there (its rounds so far are kept).
func TestInterleaveStopsAtAnError(t *testing.T) {
	b, r := quiet(), &recorder{fail: map[int]bool{5: true}}
	p := stats.Pair{Name: "x"}
	b.interleave(&p, 5, r.f("view", 1), r.f("direct", 1))
	if len(r.calls) != 5 || len(p.View) != 1 || len(p.Direct) != 1 {
		t.Errorf("calls %v, view %v, direct %v; want a stop at the fifth call", r.calls, p.View, p.Direct)
	}
	if len(b.errs) != 1 || !strings.Contains(b.errs[0], "x: boom") {
		t.Errorf("errors %v", b.errs)
	}
}

func TestOnce(t *testing.T) {
	b, r := quiet(), &recorder{fail: map[int]bool{2: true}}
	p := stats.Pair{Name: "x"}
	b.once(&p, r.f("view", 3), r.f("direct", 4))
	b.once(&p, nil, r.f("direct", 5))
	if !reflect.DeepEqual(r.calls, []string{"view", "direct", "direct"}) || len(p.View) != 1 || len(p.Direct) != 1 || p.DirBytes != 5 || len(b.errs) != 1 {
		t.Errorf("calls %v, pair %+v, errors %v", r.calls, p, b.errs)
	}
}

func TestProcStatus(t *testing.T) {
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("no /proc")
	}
	rss, hwm := procStatus(os.Getpid(), "VmRSS"), procStatus(os.Getpid(), "VmHWM")
	if rss < 1<<20 || hwm < rss {
		t.Errorf("this process: RSS %v B, peak %v B", rss, hwm)
	}
	if procStatus(0, "VmRSS") != 0 {
		t.Error("a missing process has an RSS")
	}
}

func TestPause(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start := time.Now()
	if err := pause(ctx, time.Hour); !errors.Is(err, context.Canceled) || time.Since(start) > time.Second {
		t.Errorf("pause with an ended context: %v after %s", err, time.Since(start))
	}
	if err := pause(context.Background(), time.Millisecond); err != nil {
		t.Error(err)
	}
}

// TestParseStatCPU: utime + stime (fields 14 and 15) in seconds, with a command name that
// holds spaces and parentheses.
func TestParseStatCPU(t *testing.T) {
	stat := "4242 (backupview (x) y) S 1 4242 4242 0 -1 4194560 15000 0 0 0 1234 567 0 0 20 0 12 0 99 1000000 5000 18446744073709551615\n"
	if got, err := parseStatCPU(stat); err != nil || got != 18.01 {
		t.Errorf("parseStatCPU = %v, %v; want 18.01 s", got, err)
	}
	for _, bad := range []string{"", "4242 (x) S 1 2", "4242 (x) S 1 4242 4242 0 -1 4194560 15000 0 0 0 a b 0"} {
		if _, err := parseStatCPU(bad); err == nil {
			t.Errorf("parseStatCPU(%q): no error", bad)
		}
	}
}

// TestWatcherSpread: the namespace watches spread round-robin add up, differ by at most one
// per namespace, and default to 200 at the small scale, 2,000 above it.
func TestWatcherSpread(t *testing.T) {
	for _, c := range []struct{ n, namespaces int }{{2000, 1000}, {2000, 200}, {200, 20}, {7, 3}, {2, 5}} {
		sum, lo, hi := 0, c.n, 0
		for k := 0; k < c.namespaces; k++ {
			w := watchersOf(c.n, c.namespaces, k)
			sum, lo, hi = sum+w, min(lo, w), max(hi, w)
		}
		if sum != c.n || hi-lo > 1 {
			t.Errorf("%d over %d namespaces: %d in all, %d..%d per namespace", c.n, c.namespaces, sum, lo, hi)
		}
	}
	if WatcherCount(scale.Small, 0) != 200 || WatcherCount(scale.Medium, 0) != 2000 || WatcherCount(scale.Default, 0) != 2000 || WatcherCount(scale.Small, 50) != 50 {
		t.Error("WatcherCount's defaults are not 200 at small, 2000 above, or the count asked for")
	}
}

// TestStateOf: the burst's states by phase; other phases are none of them.
func TestStateOf(t *testing.T) {
	for phase, want := range map[string]int{"": created, "Running": running, "Succeeded": succeeded, "Failed": -1, "Pending": -1} {
		if got := stateOf(phase); got != want {
			t.Errorf("stateOf(%q) = %d, want %d", phase, got, want)
		}
	}
}
