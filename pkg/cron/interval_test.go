package cron

import (
	"fmt"
	"math/rand"
	"strings"
	"sync"
	"testing"
	"time"
)

const day = 24 * time.Hour

// hard are schedules whose longest gap is easy to get wrong, with the gap worked out by hand
// (never: the schedule never fires).
const never = -1

var hard = map[string]time.Duration{
	"* * * * *":           time.Minute,
	"*/15 * * * *":        15 * time.Minute,
	"@hourly":             time.Hour,
	"@daily":              day,
	"@midnight":           day,
	"0 0,12 * * *":        12 * time.Hour,
	"*/7 * * * *":         7 * time.Minute,               // 0..56; from 56 to the next hour's 0 is 4
	"*/7 */5 * * *":       4*time.Hour + 4*time.Minute,   // 0:56 to 5:00 (20:56 to 0:00 is 3h4m)
	"50-59 23 * * *":      day - 9*time.Minute,           // 23:59 to 23:50 the next day
	"5,55 0,23 * * *":     23*time.Hour - 50*time.Minute, // 0:55 to 23:05
	"0 9 * * 1-5":         72 * time.Hour,                // Friday to Monday
	"0 9 * * MON-FRI":     72 * time.Hour,
	"0 */6 * * MON-FRI":   54 * time.Hour, // Friday 18:00 to Monday 0:00
	"@weekly":             7 * day,
	"0 0 * * 0,3":         4 * day, // Wednesday to Sunday
	"30 1 * * */3":        3 * day, // Sunday, Wednesday, Saturday
	"0 0 1 * *":           31 * day,
	"@monthly":            31 * day,
	"0 0 1,15 * *":        17 * day, // the 15th to the 1st after a 31-day month
	"0 0 30 * *":          60 * day, // 30 January to 30 March in a leap year
	"0 0 31 * *":          61 * day, // 31 March to 31 May, and others
	"0 0 13 * 5":          7 * day,  // the 13th OR any Friday
	"0 0 */2 * MON":       2 * day,  // a stepped "*" restricts: odd days OR Mondays
	"0 0 1-7 * 1":         7 * day,  // days 1-7 OR Mondays
	"0 0 8-14 * */7":      7 * day,  // "*/7" is Sunday only: days 8-14 OR Sundays
	"0 0 ? * MON":         7 * day,  // "?" is "*": Mondays only
	"0 0 1,* * MON":       7 * day,  // an unstepped "*" in a list: Mondays only
	"0 0 13 * */1":        31 * day, // "*/1" is "*": every 13th
	"0 0 1 * 0-6":         day,      // both restricted: the 1st OR any weekday
	"0 0 , * 1":           7 * day,  // no day of month OR Mondays
	"0 0 1 * ,":           31 * day, // the 1st OR no weekday
	"@yearly":             366 * day,
	"@annually":           366 * day,
	"59 23 31 12 *":       366 * day,
	"0 12 27 11 *":        366 * day,
	"15 2 1 JAN,jul *":    184 * day,             // 1 July to 1 January
	"* * * 1 *":           335*day + time.Minute, // 31 January 23:59 to 1 January, across a 29 February
	"0 0 * 2 *":           338 * day,             // 28 February to 1 February
	"0 0 28-31 2 *":       365 * day,             // 28 February to 28 February, or 29 to 28
	"0 0 29 2 *":          2921 * day,            // 2096-02-29 to 2104-02-29: 2100 is not a leap year
	"0 0 29 2 1":          350 * day,             // Mondays in February OR the 29th: Monday 22 February to Monday 7 February
	"0 0 31 4 1":          343 * day,             // Mondays in April (there is no 31 April): 49 weeks
	"@every 90m":          90 * time.Minute,
	"@every 1h30m":        90 * time.Minute,
	"@every 1500ms":       time.Second, // as robfig runs it
	"@every -1h":          time.Second,
	"@every 0s":           time.Second,
	"@every 2h3m4s5ms":    2*time.Hour + 3*time.Minute + 4*time.Second,
	", * * * *":           never,
	"0 , * * *":           never,
	"0 0 * , *":           never,
	"0 0 , * *":           never, // no day of month, AND any weekday
	"0 0 30 2 *":          never,
	"0 0 30,31 2 *":       never,
	"0 0 31 4 ?":          never,
	"0 0 31 2,4,6,9,11 *": never,
}

func TestMaxIntervalHard(t *testing.T) {
	for spec, want := range hard {
		s := mustParse(t, spec)
		got, ok := s.MaxInterval()
		ref, refOK := refMaxInterval(s)
		if ok != refOK || got != ref {
			t.Errorf("MaxInterval(%q) = %v, %v; reference %v, %v", spec, got, ok, ref, refOK)
		}
		switch {
		case want == never:
			if ok || got != 0 {
				t.Errorf("%q never fires but MaxInterval = %v, %v", spec, got, ok)
			}
		case !ok || got != want:
			t.Errorf("MaxInterval(%q) = %v, %v; want %v", spec, got, ok, want)
		}
	}
}

// The calendar constants the computation relies on.
func TestCycle(t *testing.T) {
	a := time.Date(cycleStart, 1, 1, 0, 0, 0, 0, time.UTC)
	b := time.Date(cycleStart+400, 1, 1, 0, 0, 0, 0, time.UTC)
	days := (b.Unix() - a.Unix()) / 86400
	if int(a.Weekday()) != cycleStartDow || b.Weekday() != a.Weekday() || days != cycleDays || cycleDays%7 != 0 {
		t.Errorf("cycle: starts %v, %d days, next starts %v", a.Weekday(), days, b.Weekday())
	}
}

// TestMaxIntervalRandom compares MaxInterval with the brute-force reference on thousands of
// random schedules, and checks that no gap Next walks is longer.
func TestMaxIntervalRandom(t *testing.T) {
	n := 4000
	if testing.Short() || raceEnabled {
		n = 500
	}
	rng := rand.New(rand.NewSource(14))
	silent := 0
	for i := 0; i < n; i++ {
		spec := randomSpec(rng)
		s, err := Parse(spec)
		if err != nil {
			t.Fatalf("randomSpec gave %q: %v", spec, err)
		}
		got, ok := s.MaxInterval()
		ref, refOK := refMaxInterval(s)
		if ok != refOK || got != ref {
			t.Fatalf("MaxInterval(%q) = %v, %v; reference %v, %v", spec, got, ok, ref, refOK)
		}
		if !ok {
			silent++
		}
		if i%20 == 0 { // Next is slower: a sample
			from := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(rng.Int63n(200*365)) * day)
			if g := longestNextGap(s, from, 50); g > got {
				t.Fatalf("%q: Next from %v walks a gap of %v, longer than MaxInterval %v", spec, from, g, got)
			}
		}
	}
	if silent > n/4 {
		t.Errorf("%d of %d random schedules never fire: the generator is too narrow", silent, n)
	}
}

// The reference enumerates the same firings as Next, so comparing with it compares with cron.
func TestReferenceAgreesWithNext(t *testing.T) {
	rng := rand.New(rand.NewSource(18))
	specs := []string{}
	for spec := range hard {
		if !strings.HasPrefix(spec, "@every") {
			specs = append(specs, spec)
		}
	}
	for len(specs) < 400 {
		if spec := randomSpec(rng); !strings.HasPrefix(spec, "@every") {
			specs = append(specs, spec)
		}
	}
	start := time.Date(cycleStart, 1, 1, 0, 0, 0, 0, time.UTC)
	compared := 0
	defer func() {
		if compared < 100*len(specs)/4 {
			t.Errorf("compared only %d firings of %d schedules", compared, len(specs))
		}
	}()
	for _, spec := range specs {
		s := mustParse(t, spec)
		want := refFirings(s, 60)
		var got []time.Time
		for tm := s.Next(start.Add(-time.Minute)); !tm.IsZero() && len(got) < len(want); tm = s.Next(tm) {
			got = append(got, tm)
		}
		if len(want) == 0 {
			if next := s.Next(start); !next.IsZero() {
				t.Errorf("%q: no reference firings, but Next gives %v", spec, next)
			}
			continue
		}
		// Next may give up on gaps over five years (29 February across 2100): compare the
		// prefix it finds.
		compared += len(got)
		for k := range got {
			if !got[k].Equal(want[k]) {
				t.Fatalf("%q: firing %d: Next %v, reference %v", spec, k, got[k], want[k])
			}
		}
		if len(got) < len(want) && want[len(got)].Sub(want[max(len(got)-1, 0)]) < 5*365*day {
			t.Fatalf("%q: Next stopped after %d firings", spec, len(got))
		}
	}
}

// longestNextGap is the longest gap among up to n firings Next finds after from.
func longestNextGap(s *Schedule, from time.Time, n int) time.Duration {
	var g time.Duration
	prev := s.Next(from)
	for i := 0; i < n && !prev.IsZero(); i++ {
		next := s.Next(prev)
		if next.IsZero() {
			break
		}
		g = max(g, next.Sub(prev))
		prev = next
	}
	return g
}

// calendar is every day from 1 January 2000 to 1 January 2410, from package time: 400 years
// (the Gregorian cycle) and ten more, so that every gap of the cycle, the one across its end
// included, is seen between two consecutive days in it.
var calendar = sync.OnceValue(func() []time.Time {
	var days []time.Time
	end := time.Date(cycleStart+410, 1, 1, 0, 0, 0, 0, time.UTC)
	for d := time.Date(cycleStart, 1, 1, 0, 0, 0, 0, time.UTC); d.Before(end); d = d.AddDate(0, 0, 1) {
		days = append(days, d)
	}
	return days
})

type calDay struct{ month, dom, dow uint8 }

var calendarFields = sync.OnceValue(func() []calDay {
	var out []calDay
	for _, d := range calendar() {
		out = append(out, calDay{uint8(d.Month()), uint8(d.Day()), uint8(d.Weekday())})
	}
	return out
})

// refDay is robfig's day rule, written out again: the month, then day-of-month AND
// day-of-week when either has an unstepped "*", OR otherwise.
func refDay(s *Schedule, c calDay) bool {
	if s.month&(1<<c.month) == 0 {
		return false
	}
	dom, dow := s.dom&(1<<c.dom) != 0, s.dow&(1<<c.dow) != 0
	if s.domStar || s.dowStar {
		return dom && dow
	}
	return dom || dow
}

// refTimes are a day's firing times, in minutes, found minute by minute with matches on the
// first day the schedule fires at all.
func refTimes(s *Schedule) []int {
	for i, c := range calendarFields() {
		if !refDay(s, c) {
			continue
		}
		var out []int
		d := calendar()[i]
		for m := 0; m < minutesPerDay; m++ {
			if s.matches(d.Add(time.Duration(m) * time.Minute)) {
				out = append(out, m)
			}
		}
		return out
	}
	return nil
}

// refMaxInterval is the brute-force reference: the longest gap between consecutive firings
// over the calendar. In UTC every matching day fires at the same times (matches looks only at
// the minute, the hour and the day), so the gaps inside a day are those of refTimes, and the
// gap from one matching day to the next is from its last time to the next day's first.
func refMaxInterval(s *Schedule) (time.Duration, bool) {
	if s.every > 0 {
		return s.every, true
	}
	times := refTimes(s)
	if len(times) == 0 {
		return 0, false
	}
	g := 0
	for i := 1; i < len(times); i++ {
		g = max(g, times[i]-times[i-1])
	}
	prev := -1
	for i, c := range calendarFields() {
		if !refDay(s, c) {
			continue
		}
		if prev >= 0 {
			g = max(g, (i-prev)*minutesPerDay+times[0]-times[len(times)-1])
		}
		prev = i
	}
	return time.Duration(g) * time.Minute, true
}

// refFirings are the first n firings of the calendar.
func refFirings(s *Schedule, n int) []time.Time {
	times := refTimes(s)
	var out []time.Time
	for i, c := range calendarFields() {
		if !refDay(s, c) {
			continue
		}
		for _, m := range times {
			if len(out) == n {
				return out
			}
			out = append(out, calendar()[i].Add(time.Duration(m)*time.Minute))
		}
	}
	return out
}

// randomSpec makes a schedule Parse accepts, biased to the hard parts: sparse day and month
// sets, both day fields restricted, steps, names, empty lists and descriptors.
func randomSpec(rng *rand.Rand) string {
	if rng.Intn(20) == 0 {
		d := []string{"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}
		if rng.Intn(3) == 0 {
			return fmt.Sprintf("@every %dm%ds", rng.Intn(200), rng.Intn(60))
		}
		return d[rng.Intn(len(d))]
	}
	months := []string{"", "jan", "FEB", "Mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}
	days := []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}
	field := func(lo, hi int, names []string, star int) string {
		if rng.Intn(100) < star {
			return []string{"*", "?", "*/1", "*/" + fmt.Sprint(2+rng.Intn(hi-lo+1))}[rng.Intn(4)]
		}
		if rng.Intn(60) == 0 {
			return ","
		}
		val := func() int { return lo + rng.Intn(hi-lo+1) }
		name := func(v int) string {
			if names != nil && rng.Intn(3) == 0 {
				return names[v]
			}
			return fmt.Sprint(v)
		}
		var items []string
		for k := 1 + rng.Intn(3); k > 0; k-- {
			a := val()
			switch rng.Intn(5) {
			case 0, 1:
				items = append(items, name(a))
			case 2:
				b := a + rng.Intn(hi-a+1)
				items = append(items, name(a)+"-"+name(b))
			case 3:
				b := a + rng.Intn(hi-a+1)
				items = append(items, fmt.Sprintf("%s-%s/%d", name(a), name(b), 1+rng.Intn(hi-lo+1)))
			default:
				items = append(items, fmt.Sprintf("%s/%d", name(a), 1+rng.Intn(hi-lo+1)))
			}
		}
		return strings.Join(items, ",")
	}
	f := []string{
		field(0, 59, nil, 30), field(0, 23, nil, 30),
		field(1, 31, nil, 50), field(1, 12, months, 50), field(0, 6, days, 50),
	}
	if rng.Intn(8) == 0 { // the end of February
		f[2], f[3] = []string{"29", "28-29", "29,30", "29-31", "28/2"}[rng.Intn(5)], []string{"2", "feb", "2,3", "1-2"}[rng.Intn(4)]
	}
	return strings.Join(f, " ")
}

// FuzzMaxInterval compares MaxInterval with the reference, which is exact over its
// 410-year calendar, and with the gaps Next walks from a given time.
//
//	go test ./pkg/cron -run '^$' -fuzz FuzzMaxInterval -fuzztime 30s
func FuzzMaxInterval(f *testing.F) {
	for spec := range hard {
		f.Add(spec, int64(1795774050))
	}
	f.Fuzz(func(t *testing.T, spec string, unix int64) {
		s, err := Parse(spec)
		if err != nil {
			return
		}
		got, ok := s.MaxInterval()
		ref, refOK := refMaxInterval(s)
		if ok != refOK || got != ref {
			t.Fatalf("MaxInterval(%q) = %v, %v; reference %v, %v", spec, got, ok, ref, refOK)
		}
		if s.every > 0 {
			return
		}
		from := time.Unix(unix%(1<<33), 0).UTC() // 1970..2242
		if g := longestNextGap(s, from, 20); g > got {
			t.Fatalf("%q: Next from %v walks a gap of %v, longer than MaxInterval %v", spec, from, g, got)
		}
	})
}

// BenchmarkMaxInterval: common schedules, rare ones, and the slowest kind (every day of
// restricted months, so all 14 kinds of year are dense).
func BenchmarkMaxInterval(b *testing.B) {
	for _, spec := range []string{
		"0 2 * * *", "0 */4 * * *", "*/5 * * * *", "0 9 * * 1-5", "@weekly", "0 0 1 * *", "0 0 13 * 5",
		"@yearly", "0 0 29 2 *", "* * * 1 *", "0 0 * 1-11 *", "* * 1-31 1-11 0-6", "@every 90m",
	} {
		s, err := Parse(spec)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(strings.ReplaceAll(spec, " ", "_"), func(b *testing.B) {
			for b.Loop() {
				s.MaxInterval()
			}
		})
	}
}

// BenchmarkParseMaxInterval is what a view pays per session schedule.
func BenchmarkParseMaxInterval(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		s, _ := Parse("0 */4 * * *")
		s.MaxInterval()
	}
}
