// Package cron parses the schedules a Kubernetes CronJob accepts (five fields, names, ranges,
// steps and the @daily-style macros) and computes firing times. The preview validates with it
// and the views use it for the overdue threshold.
package cron

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Schedule is a parsed five-field schedule; each field is a bit set of allowed values.
type Schedule struct {
	minute, hour, dom, month, dow uint64
	domStar, dowStar              bool
}

type bounds struct {
	min, max uint
	names    map[string]uint
}

var (
	minutes = bounds{0, 59, nil}
	hours   = bounds{0, 23, nil}
	doms    = bounds{1, 31, nil}
	months  = bounds{1, 12, map[string]uint{"jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12}}
	dows    = bounds{0, 6, map[string]uint{"sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6}}
)

var macros = map[string]string{
	"@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *",
	"@weekly": "0 0 * * 0", "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *",
}

// Parse parses a schedule as a CronJob accepts it. Time zones inside the schedule
// (TZ=, CRON_TZ=) are refused, as CronJob validation refuses them.
func Parse(spec string) (*Schedule, error) {
	spec = strings.TrimSpace(spec)
	if spec == "" {
		return nil, fmt.Errorf("empty schedule")
	}
	if strings.HasPrefix(spec, "TZ=") || strings.HasPrefix(spec, "CRON_TZ=") {
		return nil, fmt.Errorf("time zones are not supported in the schedule; a CronJob takes spec.timeZone instead")
	}
	if strings.HasPrefix(spec, "@") {
		m, ok := macros[strings.ToLower(spec)]
		if !ok {
			return nil, fmt.Errorf("unknown descriptor %q (one of @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly)", spec)
		}
		spec = m
	}
	f := strings.Fields(spec)
	if len(f) != 5 {
		return nil, fmt.Errorf("expected 5 fields (minute hour day-of-month month day-of-week), found %d", len(f))
	}
	s := &Schedule{domStar: isStar(f[2]), dowStar: isStar(f[4])}
	var err error
	for i, p := range []struct {
		dst *uint64
		b   bounds
		n   string
	}{{&s.minute, minutes, "minute"}, {&s.hour, hours, "hour"}, {&s.dom, doms, "day-of-month"}, {&s.month, months, "month"}, {&s.dow, dows, "day-of-week"}} {
		if *p.dst, err = field(f[i], p.b); err != nil {
			return nil, fmt.Errorf("%s field %q: %v", p.n, f[i], err)
		}
	}
	// Day-of-week 7 is Sunday too.
	if s.dow&(1<<7) != 0 {
		s.dow |= 1
	}
	return s, nil
}

func isStar(f string) bool { return f == "*" || f == "?" || strings.HasPrefix(f, "*/") }

func field(f string, b bounds) (uint64, error) {
	var bits uint64
	for _, part := range strings.Split(f, ",") {
		v, err := rangeBits(part, b)
		if err != nil {
			return 0, err
		}
		bits |= v
	}
	return bits, nil
}

func rangeBits(r string, b bounds) (uint64, error) {
	max := b.max
	if b.names != nil && b.max == 6 {
		max = 7 // day-of-week accepts 7 for Sunday
	}
	step := uint(1)
	if i := strings.IndexByte(r, '/'); i >= 0 {
		n, err := strconv.ParseUint(r[i+1:], 10, 8)
		if err != nil || n == 0 {
			return 0, fmt.Errorf("bad step %q", r[i+1:])
		}
		step, r = uint(n), r[:i]
	}
	var lo, hi uint
	switch {
	case r == "*" || r == "?":
		lo, hi = b.min, b.max
	default:
		parts := strings.SplitN(r, "-", 2)
		var err error
		if lo, err = value(parts[0], b, max); err != nil {
			return 0, err
		}
		hi = lo
		if len(parts) == 2 {
			if hi, err = value(parts[1], b, max); err != nil {
				return 0, err
			}
		} else if step > 1 {
			hi = b.max // "a/n" means from a to the end
		}
		if lo > hi {
			return 0, fmt.Errorf("range %d-%d is backwards", lo, hi)
		}
	}
	var bits uint64
	for v := lo; v <= hi; v += step {
		bits |= 1 << v
	}
	return bits, nil
}

func value(s string, b bounds, max uint) (uint, error) {
	if n, ok := b.names[strings.ToLower(s)]; ok {
		return n, nil
	}
	v, err := strconv.ParseUint(s, 10, 8)
	if err != nil {
		return 0, fmt.Errorf("%q is not a number", s)
	}
	if uint(v) < b.min || uint(v) > max {
		return 0, fmt.Errorf("%d is out of range %d-%d", v, b.min, max)
	}
	return uint(v), nil
}

// Next returns the first firing time strictly after t (in t's location), or the zero time
// when the schedule never fires within five years (e.g. "0 0 30 2 *").
func (s *Schedule) Next(t time.Time) time.Time {
	t = t.Truncate(time.Minute).Add(time.Minute)
	limit := t.AddDate(5, 0, 0)
	for t.Before(limit) {
		if s.month&(1<<uint(t.Month())) == 0 {
			t = time.Date(t.Year(), t.Month()+1, 1, 0, 0, 0, 0, t.Location())
			continue
		}
		if !s.dayMatches(t) {
			t = time.Date(t.Year(), t.Month(), t.Day()+1, 0, 0, 0, 0, t.Location())
			continue
		}
		if s.hour&(1<<uint(t.Hour())) == 0 {
			t = t.Truncate(time.Hour).Add(time.Hour)
			continue
		}
		if s.minute&(1<<uint(t.Minute())) == 0 {
			t = t.Add(time.Minute)
			continue
		}
		return t
	}
	return time.Time{}
}

// Day-of-month and day-of-week combine with OR when both are restricted (cron semantics).
func (s *Schedule) dayMatches(t time.Time) bool {
	dom := s.dom&(1<<uint(t.Day())) != 0
	dow := s.dow&(1<<uint(t.Weekday())) != 0
	if s.domStar || s.dowStar {
		return dom && dow
	}
	return dom || dow
}

// MaxInterval is the longest gap between two firings among the first 4096 after from (a week
// of a five-minute schedule, years of a daily one): the time a healthy schedule may go without
// running, weekends included. ok is false when it never fires.
func (s *Schedule) MaxInterval(from time.Time) (d time.Duration, ok bool) {
	prev := s.Next(from)
	for n := 0; n < 4096 && !prev.IsZero(); n++ {
		next := s.Next(prev)
		if next.IsZero() {
			break
		}
		if g := next.Sub(prev); g > d {
			d = g
		}
		prev = next
	}
	return d, d > 0
}
