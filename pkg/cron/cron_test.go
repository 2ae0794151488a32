package cron

import (
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	good := []string{"*/30 * * * *", "0 2 * * *", "@daily", "@hourly", "@weekly", "@monthly", "@yearly", "@annually", "@midnight",
		"0 0 * * MON-FRI", "15 3 1 JAN,jul *", "0 0 * * 7", "5-55/10 * * * *", "0 */6 * * *", "* * * * ?"}
	for _, s := range good {
		if _, err := Parse(s); err != nil {
			t.Errorf("Parse(%q) = %v, want ok", s, err)
		}
	}
	bad := []string{"", "* * * *", "* * * * * *", "60 * * * *", "* 24 * * *", "* * 0 * *", "* * * 13 *", "* * * * 8",
		"@every 5m", "@reboot", "TZ=UTC 0 * * * *", "CRON_TZ=UTC 0 * * * *", "*/0 * * * *", "5-1 * * * *", "a * * * *", "* * * FOO *"}
	for _, s := range bad {
		if _, err := Parse(s); err == nil {
			t.Errorf("Parse(%q) succeeded, want error", s)
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
		"0 0 13 * FRI":     time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC).AddDate(0, 0, 0).Add(0), // placeholder, fixed below
		"0 12 29 2 *":      time.Date(2028, 2, 29, 12, 0, 0, 0, time.UTC),
		"7 10 27 11 *":     time.Date(2027, 11, 27, 10, 7, 0, 0, time.UTC),
		"* * * * *":        time.Date(2026, 11, 27, 10, 8, 0, 0, time.UTC),
		"0 9-17/4 * * 1-5": time.Date(2026, 11, 27, 13, 0, 0, 0, time.UTC),
	}
	// Both day fields restricted: OR semantics, so the 13th OR any Friday; the next one after
	// Friday 10:07 is Friday 2026-12-04 (no 13th in between).
	cases["0 0 13 * FRI"] = time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC)
	for spec, want := range cases {
		s, err := Parse(spec)
		if err != nil {
			t.Fatalf("Parse(%q): %v", spec, err)
		}
		if got := s.Next(base); !got.Equal(want) {
			t.Errorf("Next(%q) = %v, want %v", spec, got, want)
		}
	}
	never, _ := Parse("0 0 30 2 *")
	if got := never.Next(base); !got.IsZero() {
		t.Errorf("Feb 30 fired at %v", got)
	}
}

func TestMaxInterval(t *testing.T) {
	base := time.Date(2026, 11, 27, 10, 7, 30, 0, time.UTC)
	cases := map[string]time.Duration{
		"*/15 * * * *": 15 * time.Minute,
		"@hourly":      time.Hour,
		"@daily":       24 * time.Hour,
		"0 9 * * 1-5":  72 * time.Hour, // Friday to Monday
		"0 0,12 * * *": 12 * time.Hour,
		"0 0 1 * *":    31 * 24 * time.Hour,
	}
	for spec, want := range cases {
		s, _ := Parse(spec)
		if got, ok := s.MaxInterval(base); !ok || got != want {
			t.Errorf("MaxInterval(%q) = %v, %v; want %v", spec, got, ok, want)
		}
	}
	never, _ := Parse("0 0 30 2 *")
	if _, ok := never.MaxInterval(base); ok {
		t.Error("a schedule that never fires has an interval")
	}
}
