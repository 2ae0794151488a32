package join

import (
	"strings"
	"sync"
	"time"

	"github.com/kubestash/backupview/pkg/cron"
)

// maxInterval is cron.Parse(spec) followed by MaxInterval(from), with the same results, but
// memoised: MaxInterval walks 4096 firings (about 25 ms for "0 */4 * * *"), which made every
// view build cost tens of milliseconds (minutes for a start-up build of 10,000 views, seconds
// for a BackupStorage change that touches 500 views).
//
// The memo is exact. MaxInterval(from) is the longest of the 4096 gaps after the first firing
// after from, computed in from's location (always UTC here). When the firings repeat with a
// period that holds at most 4096 of them, those 4096 consecutive gaps contain every gap of the
// period, so the result does not depend on from and is kept per schedule text:
//   - day-of-month, month and day-of-week all "*" or "?" (and @hourly, @daily, @midnight):
//     the same times every day, at most 1440 firings a day;
//   - day-of-month and month "*" or "?", any day-of-week (and @weekly): the same times every
//     week; kept per schedule only when a week holds at most 4096 firings (counted once);
//   - "@every d": MaxInterval is d.
//
// (Periods are whole days only in UTC, which is what the views use; another location falls
// through to the per-(schedule, from) memo.)
//
// Any other schedule (restricted days of month or months) is memoised per (schedule, from),
// which still spares rebuilds of the same view that do not move its last success.
func maxInterval(spec string, from time.Time) (time.Duration, bool, error) {
	intervals.mu.Lock()
	e, ok := intervals.bySpec[spec]
	intervals.mu.Unlock()
	if !ok {
		e = newIntervalEntry(spec)
		intervals.mu.Lock()
		if len(intervals.bySpec) >= maxMemo {
			intervals.bySpec = map[string]*intervalEntry{}
		}
		intervals.bySpec[spec] = e
		intervals.mu.Unlock()
	}
	if e.err != nil {
		return 0, false, e.err
	}
	if e.periodic && from.Location() == time.UTC {
		e.once.Do(func() { e.d, e.ok = e.sched.MaxInterval(from) })
		return e.d, e.ok, nil
	}
	key := atKey{spec: spec, from: from.UnixNano(), loc: from.Location().String()}
	intervals.mu.Lock()
	r, hit := intervals.byFrom[key]
	intervals.mu.Unlock()
	if !hit {
		r.d, r.ok = e.sched.MaxInterval(from)
		intervals.mu.Lock()
		if len(intervals.byFrom) >= maxMemo {
			intervals.byFrom = map[atKey]atResult{}
		}
		intervals.byFrom[key] = r
		intervals.mu.Unlock()
	}
	return r.d, r.ok, nil
}

// maxMemo bounds each memo; schedules are few in practice, and a full memo just starts over.
const maxMemo = 4096

var intervals = struct {
	mu     sync.Mutex
	bySpec map[string]*intervalEntry
	byFrom map[atKey]atResult
}{bySpec: map[string]*intervalEntry{}, byFrom: map[atKey]atResult{}}

type intervalEntry struct {
	sched    *cron.Schedule
	err      error
	periodic bool // MaxInterval does not depend on from (see maxInterval)
	once     sync.Once
	d        time.Duration
	ok       bool
}

type atKey struct {
	spec string
	from int64
	loc  string
}

type atResult struct {
	d  time.Duration
	ok bool
}

func newIntervalEntry(spec string) *intervalEntry {
	s, err := cron.Parse(spec)
	e := &intervalEntry{sched: s, err: err}
	if err != nil {
		return e
	}
	switch period(spec) {
	case daily, every:
		e.periodic = true
	case weekly:
		e.periodic = firingsPerWeek(s) <= 4096
	}
	return e
}

type periodKind int

const (
	otherPeriod periodKind = iota
	daily
	weekly
	every
)

// period classifies a schedule that cron.Parse accepted, from its text.
func period(spec string) periodKind {
	if strings.HasPrefix(spec, "@") {
		switch {
		case spec == "@hourly" || spec == "@daily" || spec == "@midnight":
			return daily
		case spec == "@weekly":
			return weekly
		case strings.HasPrefix(spec, "@every "):
			return every
		}
		return otherPeriod
	}
	f := strings.Fields(spec) // the parser splits on Unicode white space too
	if len(f) != 5 {
		return otherPeriod
	}
	any := func(s string) bool { return s == "*" || s == "?" }
	switch {
	case any(f[2]) && any(f[3]) && any(f[4]):
		return daily
	case any(f[2]) && any(f[3]):
		return weekly
	}
	return otherPeriod
}

// firingsPerWeek counts the firings in one week (stopping past 4096).
func firingsPerWeek(s *cron.Schedule) int {
	start := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC) // a Monday
	end := start.AddDate(0, 0, 7)
	n := 0
	for t := s.Next(start.Add(-time.Minute)); !t.IsZero() && t.Before(end); t = s.Next(t) {
		if n++; n > 4096 {
			break
		}
	}
	return n
}
