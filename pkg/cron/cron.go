// Package cron parses the schedules a Kubernetes CronJob accepts and computes firing times.
// The preview validates session schedules with it and the views use it for the overdue
// threshold.
//
// CronJob validation is github.com/robfig/cron/v3's ParseStandard plus a ban on "TZ" anywhere
// in the schedule (TZ= and CRON_TZ= are refused in favour of spec.timeZone). KubeStash copies a
// session's schedule into its trigger CronJob, so that is the schedule's real contract. Parse is
// hand-written to avoid the module dependency and mirrors robfig's parser rule by rule, quirks
// included:
//
//   - A schedule starting with "@" is a descriptor, matched exactly: no trimming and no case
//     folding ("@Daily", "@daily " and " @daily" are refused). "@every <duration>" takes a Go
//     duration; it fires every duration rounded down to whole seconds, at least every second.
//   - Otherwise exactly five fields separated by (Unicode) white space: minute 0-59, hour 0-23,
//     day-of-month 1-31, month 1-12 or jan-dec, day-of-week 0-6 or sun-sat (7 is refused).
//   - Each field is a comma list; empty items are skipped ("1,,2" is 1,2; a field that is only
//     commas matches nothing). An item is "*", "?" (the same as "*"), N or N-M, optionally
//     followed by "/step"; "N/step" means "N-max/step"; anything after "*-" is ignored ("*-5"
//     is "*"). Numbers are strconv.Atoi numbers ("+5" and "05" are fine); names are
//     case-insensitive and allowed as values and range ends but not as steps.
//   - When the day-of-month or the day-of-week field has an unstepped "*" or "?" item (a step
//     of 1 counts as unstepped), a day must match both fields; otherwise it must match either.
package cron

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Schedule is a parsed schedule: five bit sets of allowed values, or a constant delay for
// "@every".
type Schedule struct {
	minute, hour, dom, month, dow uint64
	domStar, dowStar              bool
	// every is the delay of an "@every" schedule, already rounded like robfig's
	// ConstantDelaySchedule (whole seconds, at least one); zero for field schedules.
	every time.Duration
}

type bounds struct {
	name     string
	min, max uint
	names    map[string]uint
}

var fields = [5]bounds{
	{name: "minute", min: 0, max: 59},
	{name: "hour", min: 0, max: 23},
	{name: "day-of-month", min: 1, max: 31},
	{name: "month", min: 1, max: 12, names: map[string]uint{
		"jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6,
		"jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12}},
	{name: "day-of-week", min: 0, max: 6, names: map[string]uint{
		"sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6}},
}

// descriptors are robfig's, as the equivalent five fields.
var descriptors = map[string]string{
	"@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *",
	"@weekly": "0 0 * * 0", "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *",
}

// Parse parses a schedule exactly as a new CronJob's spec.schedule is validated (see the
// package documentation). The errors say what is wrong in terms a user can act on.
func Parse(spec string) (*Schedule, error) {
	if spec == "" {
		return nil, fmt.Errorf("empty schedule")
	}
	if strings.Contains(spec, "TZ") {
		return nil, fmt.Errorf("cannot use TZ or CRON_TZ in the schedule: CronJobs reject it (they take spec.timeZone instead)")
	}
	if strings.HasPrefix(spec, "@") { // robfig does not trim: "@daily " is unrecognised
		if f, ok := descriptors[spec]; ok {
			return parseFields(f)
		}
		if d, ok := strings.CutPrefix(spec, "@every "); ok {
			delay, err := time.ParseDuration(d)
			if err != nil {
				return nil, fmt.Errorf("bad duration in %q: %v", spec, err)
			}
			return &Schedule{every: roundDelay(delay)}, nil
		}
		return nil, fmt.Errorf("unrecognized descriptor %q: use @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly, @every <duration> or 5 cron fields", spec)
	}
	return parseFields(spec)
}

// roundDelay is robfig's Every: at least one second, rounded down to whole seconds.
func roundDelay(d time.Duration) time.Duration {
	if d < time.Second {
		d = time.Second
	}
	return d - d%time.Second
}

func parseFields(spec string) (*Schedule, error) {
	f := strings.Fields(spec)
	if len(f) != 5 {
		return nil, fmt.Errorf("expected exactly 5 fields (minute hour day-of-month month day-of-week), found %d", len(f))
	}
	var s Schedule
	dst := [5]*uint64{&s.minute, &s.hour, &s.dom, &s.month, &s.dow}
	stars := [5]bool{}
	for i, b := range fields {
		// FieldsFunc, like robfig: empty list items are skipped rather than rejected.
		for expr := range strings.FieldsFuncSeq(f[i], func(r rune) bool { return r == ',' }) {
			bits, star, err := b.rangeBits(expr)
			if err != nil {
				return nil, fmt.Errorf("%s field: %v", b.name, err)
			}
			*dst[i] |= bits
			stars[i] = stars[i] || star
		}
	}
	s.domStar, s.dowStar = stars[2], stars[4]
	return &s, nil
}

// rangeBits parses one list item: "*" | "?" | N | N-M, each optionally followed by "/step".
// star reports an unstepped (or step 1) "*" or "?", which robfig marks for day matching.
func (b bounds) rangeBits(expr string) (bits uint64, star bool, err error) {
	rangeAndStep := split(expr, "/")
	lowAndHigh := split(rangeAndStep.part[0], "-")
	var start, end uint
	if lowAndHigh.part[0] == "*" || lowAndHigh.part[0] == "?" {
		// robfig ignores anything after "*-" here; so does the CronJob API.
		start, end, star = b.min, b.max, true
	} else {
		if start, err = b.value(lowAndHigh.part[0]); err != nil {
			return 0, false, err
		}
		switch lowAndHigh.n {
		case 1:
			end = start
		case 2:
			if end, err = b.value(lowAndHigh.part[1]); err != nil {
				return 0, false, err
			}
		default:
			return 0, false, fmt.Errorf("too many hyphens in %q", expr)
		}
	}
	step := uint(1)
	switch rangeAndStep.n {
	case 1:
	case 2:
		if step, err = number(rangeAndStep.part[1]); err != nil {
			return 0, false, err
		}
		if lowAndHigh.n == 1 { // "N/step" means "N-max/step"
			end = b.max
		}
		if step > 1 {
			star = false
		}
	default:
		return 0, false, fmt.Errorf("too many slashes in %q", expr)
	}
	switch {
	case start < b.min:
		return 0, false, fmt.Errorf("%d is below the minimum %d in %q", start, b.min, expr)
	case end > b.max:
		return 0, false, fmt.Errorf("%d is above the maximum %d in %q", end, b.max, expr)
	case start > end:
		return 0, false, fmt.Errorf("range start %d is beyond its end %d in %q", start, end, expr)
	case step == 0:
		return 0, false, fmt.Errorf("step must be a positive number in %q", expr)
	}
	for v := start; v <= end; v += step { // end <= 59 and step < 2^63: no overflow
		bits |= 1 << v
	}
	return bits, star, nil
}

// pieces is strings.Split(s, sep) without the allocation (Parse runs for every session of
// every view build): the number of pieces and the first two.
type pieces struct {
	n    int
	part [2]string
}

func split(s, sep string) pieces {
	first, rest, _ := strings.Cut(s, sep)
	second, _, _ := strings.Cut(rest, sep)
	return pieces{n: strings.Count(s, sep) + 1, part: [2]string{first, second}}
}

func (b bounds) value(s string) (uint, error) {
	if v, ok := b.names[strings.ToLower(s)]; ok {
		return v, nil
	}
	return number(s)
}

// number parses like robfig's mustParseInt (strconv.Atoi, so "+5" and "05" are fine).
func number(s string) (uint, error) {
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a number", s)
	}
	if n < 0 {
		return 0, fmt.Errorf("negative number %d is not allowed", n)
	}
	return uint(n), nil
}

// Next returns the first firing time strictly after t (in t's location), or the zero time
// when the schedule never fires within five years (e.g. "0 0 30 2 *"). An "@every d"
// schedule fires at t + d less t's sub-second part, as robfig's ConstantDelaySchedule does.
func (s *Schedule) Next(t time.Time) time.Time {
	if s.every > 0 {
		return t.Add(s.every - time.Duration(t.Nanosecond()))
	}
	if s.minute == 0 || s.hour == 0 || s.month == 0 { // e.g. ", * * * *": never
		return time.Time{}
	}
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
			// To the next hour on the local clock (Truncate(time.Hour) would work on absolute
			// time and skip minutes in zones such as UTC+05:30), or straight to the next
			// allowed hour (or midnight) when the zone offset does not change on the way.
			next := t.Add(time.Duration(60-t.Minute()) * time.Minute)
			t = skip(t, next, next.Add(time.Duration(ahead(s.hour, t.Hour(), 24)-1)*time.Hour))
			continue
		}
		if s.minute&(1<<uint(t.Minute())) == 0 {
			t = skip(t, t.Add(time.Minute), t.Add(time.Duration(ahead(s.minute, t.Minute(), 60))*time.Minute))
			continue
		}
		return t
	}
	return time.Time{}
}

// ahead is the distance from v to the next value in bits above v, or to limit when there is
// none.
func ahead(bits uint64, v, limit int) int {
	for n := v + 1; n < limit; n++ {
		if bits&(1<<uint(n)) != 0 {
			return n - v
		}
	}
	return limit - v
}

// skip returns far, which the caller knows skips only values that cannot match, unless the
// zone offset changes between t and far (a DST change): then step, one unit as before, so
// that the local clock is walked exactly as without the skip (walking minute by minute took
// milliseconds per call).
func skip(t, step, far time.Time) time.Time {
	_, o1 := t.Zone()
	_, o2 := far.Zone()
	if o1 != o2 {
		return step
	}
	return far
}

// Day-of-month and day-of-week combine with OR when both are restricted, with AND when either
// has an unstepped "*" (robfig's rule).
func (s *Schedule) dayMatches(t time.Time) bool {
	dom := s.dom&(1<<uint(t.Day())) != 0
	dow := s.dow&(1<<uint(t.Weekday())) != 0
	if s.domStar || s.dowStar {
		return dom && dow
	}
	return dom || dow
}
