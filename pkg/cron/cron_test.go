package cron

import (
	"strings"
	"testing"
	"time"
)

// valid and invalid are what a new CronJob's spec.schedule accepts and rejects
// (robfig/cron/v3 ParseStandard plus the "TZ" ban), quirks included.
var (
	valid = []string{
		"*/30 * * * *", "0 0 * * *", "0 2 * * *", "0 */6 * * MON-FRI", "0 0 * * MON-FRI", "15 2 1 JAN,jul *",
		"15 3 1 JAN,jul *", "0 0 1-7/2 * sun", "5-55/10 * * * *", "0 */6 * * *", "0 0 * * 6",
		"? ? ? ? ?", "* * * * ?", "5/15 * * * *", "0 0 1,,15 * *", "+5 05 * * *", "*  *\t* * *", " 0 0 * * * ",
		"0 0 31 2 *", "*-5 * * * *", "*-a-b/2 * * * *", ", * * * *", "0 0 * * Sun-SAT/1", "0 0 1 jan/3 *",
		"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly",
		"@every 1h30m", "@every 5m", "@every 0s", "@every -5m", "@every 1.5s",
	}
	invalid = []string{
		"", "* * * *", "* * * * * *", "60 * * * *", "* 24 * * *", "* * 0 * *", "* * 32 * *",
		"* * * 13 *", "* * * 0 *", "* * * * 7", "0 0 * * 7", "* * * * 8", "*/0 * * * *", "5-1 * * * *",
		"1-2-3 * * * *", "1/2/3 * * * *", "a * * * *", "* * * FOO *", "* * * JANUARY *", "* * * * MON-FUNDAY",
		"-1 * * * *", "0 0 * * Sat-SUN", "*/mon * * * *", "*/-1 * * * *",
		"@Daily", "@DAILY", "@daily ", " @daily", "@reboot", "@every", "@every 1 hour", "@every  5m",
		"TZ=UTC 0 0 * * *", "TZ=UTC 0 * * * *", "CRON_TZ=UTC 0 * * * *", "CRON_TZ=Europe/Berlin 0 0 * * *", "0 0 * * * TZ",
	}
)

func TestParse(t *testing.T) {
	for _, s := range valid {
		if _, err := Parse(s); err != nil {
			t.Errorf("Parse(%q) = %v, want ok", s, err)
		}
	}
	for _, s := range invalid {
		if _, err := Parse(s); err == nil {
			t.Errorf("Parse(%q) succeeded, want error", s)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for spec, want := range map[string]string{
		"":                      "empty schedule",
		"* * * *":               "expected exactly 5 fields (minute hour day-of-month month day-of-week), found 4",
		"60 * * * *":            `minute field: 60 is above the maximum 59 in "60"`,
		"0 0 * * 7":             `day-of-week field: 7 is above the maximum 6 in "7"`,
		"* * 0 * *":             `day-of-month field: 0 is below the minimum 1 in "0"`,
		"5-1 * * * *":           `minute field: range start 5 is beyond its end 1 in "5-1"`,
		"*/0 * * * *":           `minute field: step must be a positive number in "*/0"`,
		"1-2-3 * * * *":         `minute field: too many hyphens in "1-2-3"`,
		"1/2/3 * * * *":         `minute field: too many slashes in "1/2/3"`,
		"* * * JANUARY *":       `month field: "JANUARY" is not a number`,
		"*/-1 * * * *":          `minute field: negative number -1 is not allowed`,
		"@DAILY":                `unrecognized descriptor "@DAILY"`,
		"@every 1 hour":         `bad duration in "@every 1 hour"`,
		"CRON_TZ=UTC 0 * * * *": "cannot use TZ or CRON_TZ in the schedule",
	} {
		_, err := Parse(spec)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%q) = %v, want an error containing %q", spec, err, want)
		}
	}
}

func TestNext(t *testing.T) {
	base := time.Date(2026, 11, 27, 10, 7, 30, 0, time.UTC) // a Friday
	cases := map[string]time.Time{
		"*/15 * * * *":     time.Date(2026, 11, 27, 10, 15, 0, 0, time.UTC),
		"0 2 * * *":        time.Date(2026, 11, 28, 2, 0, 0, 0, time.UTC),
		"0 0 * * MON":      time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC),
		"0 0 1 * *":        time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC),
		"@yearly":          time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC),
		"@weekly":          time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC),
		"@monthly":         time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC),
		"0 12 29 2 *":      time.Date(2028, 2, 29, 12, 0, 0, 0, time.UTC),
		"7 10 27 11 *":     time.Date(2027, 11, 27, 10, 7, 0, 0, time.UTC),
		"* * * * *":        time.Date(2026, 11, 27, 10, 8, 0, 0, time.UTC),
		"0 9-17/4 * * 1-5": time.Date(2026, 11, 27, 13, 0, 0, 0, time.UTC),
		"*-5 * * * *":      time.Date(2026, 11, 27, 10, 8, 0, 0, time.UTC), // "*-5" is "*"
		"0 0 1,,15 * *":    time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC),
		// Both day fields restricted: OR semantics, so the 13th OR any Friday; the next one
		// after Friday 10:07 is Friday 2026-12-04 (no 13th in between).
		"0 0 13 * FRI": time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC),
		// A stepped "*" restricts the field (robfig): odd days OR Mondays, so Sunday the 29th.
		"0 0 */2 * MON": time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC),
		// An unstepped "*" (step 1, or within a list) does not: any day that is a Monday.
		"0 0 */1 * MON":    time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC),
		"0 0 1,* * MON":    time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC),
		"0 0 ? * MON":      time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC),
		"0 0 13 * */1":     time.Date(2026, 12, 13, 0, 0, 0, 0, time.UTC),
		"@every 90m":       base.Add(90 * time.Minute),
		"@every 1.5s":      base.Add(time.Second),
		"@every -5m":       base.Add(time.Second),
		"@every 0s":        base.Add(time.Second),
		"@every 2h3m4s5ms": base.Add(2*time.Hour + 3*time.Minute + 4*time.Second),
	}
	for spec, want := range cases {
		s, err := Parse(spec)
		if err != nil {
			t.Fatalf("Parse(%q): %v", spec, err)
		}
		if got := s.Next(base); !got.Equal(want) {
			t.Errorf("Next(%q) = %v, want %v", spec, got, want)
		}
	}
	for _, spec := range []string{"0 0 30 2 *", ", * * * *", "0 0 , * *"} {
		if got := mustParse(t, spec).Next(base); !got.IsZero() {
			t.Errorf("%q fired at %v", spec, got)
		}
	}
}

func TestNextEveryDropsSubSeconds(t *testing.T) {
	// robfig's ConstantDelaySchedule: t + delay - t's sub-second part, so firings land on
	// whole seconds.
	base := time.Date(2026, 11, 27, 10, 7, 30, 250_000_000, time.UTC)
	if got, want := mustParse(t, "@every 1m").Next(base), time.Date(2026, 11, 27, 10, 8, 30, 0, time.UTC); !got.Equal(want) {
		t.Errorf("Next = %v, want %v", got, want)
	}
}

func TestNextInHalfHourZone(t *testing.T) {
	ist := time.FixedZone("IST", 5*3600+1800)
	base := time.Date(2026, 11, 27, 10, 7, 0, 0, ist)
	for spec, want := range map[string]time.Time{
		"0 12 * * *":  time.Date(2026, 11, 27, 12, 0, 0, 0, ist),
		"30 9 * * *":  time.Date(2026, 11, 28, 9, 30, 0, 0, ist),
		"0 */2 * * *": time.Date(2026, 11, 27, 12, 0, 0, 0, ist),
		"15 10 * * *": time.Date(2026, 11, 27, 10, 15, 0, 0, ist),
	} {
		if got := mustParse(t, spec).Next(base); !got.Equal(want) {
			t.Errorf("Next(%q) = %v, want %v", spec, got, want)
		}
	}
}

func mustParse(t *testing.T, spec string) *Schedule {
	t.Helper()
	s, err := Parse(spec)
	if err != nil {
		t.Fatalf("Parse(%q): %v", spec, err)
	}
	return s
}

// matches reports whether a field schedule fires at the minute t.
func (s *Schedule) matches(t time.Time) bool {
	return t.Second() == 0 && t.Nanosecond() == 0 && s.minute&(1<<uint(t.Minute())) != 0 &&
		s.hour&(1<<uint(t.Hour())) != 0 && s.month&(1<<uint(t.Month())) != 0 && s.dayMatches(t)
}

// FuzzParse checks that Parse never panics, that an error explains itself, and that Next
// returns a matching time strictly after t with no matching minute in between (checked by
// brute force over up to two days).
//
//	go test ./pkg/cron -run '^$' -fuzz FuzzParse -fuzztime 30s
func FuzzParse(f *testing.F) {
	for _, s := range append(append([]string{}, valid...), invalid...) {
		f.Add(s, int64(1795774050))
	}
	f.Fuzz(func(t *testing.T, spec string, unix int64) {
		s, err := Parse(spec)
		if err != nil {
			if err.Error() == "" {
				t.Fatalf("Parse(%q): empty error", spec)
			}
			return
		}
		from := time.Unix(unix%(1<<33), 0).UTC() // 1970..2242
		next := s.Next(from)
		if s.every > 0 {
			if !next.Equal(from.Add(s.every)) || s.every%time.Second != 0 {
				t.Fatalf("%q: Next(%v) = %v", spec, from, next)
			}
			return
		}
		if next.IsZero() {
			return
		}
		if !next.After(from) || !s.matches(next) {
			t.Fatalf("%q: Next(%v) = %v does not match or is not after", spec, from, next)
		}
		if next.Sub(from) <= 48*time.Hour {
			for m := from.Truncate(time.Minute).Add(time.Minute); m.Before(next); m = m.Add(time.Minute) {
				if s.matches(m) {
					t.Fatalf("%q: Next(%v) = %v skipped %v", spec, from, next, m)
				}
			}
		}
	})
}
