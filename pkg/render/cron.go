package render

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// validateSchedule accepts exactly what kube-apiserver accepts in a new CronJob's
// spec.schedule: github.com/robfig/cron/v3 ParseStandard (5 fields or a descriptor), and no
// "TZ" anywhere (batch validation rejects TZ=/CRON_TZ= in favour of spec.timeZone). KubeStash
// copies the session schedule into the trigger CronJob, so this is the schedule's real contract.
// It is hand-written to avoid a module dependency; it mirrors robfig's parser rule by rule,
// quirks included (e.g. "?" means "*", "1,,2" is fine, day-of-week 7 is not).
func validateSchedule(spec string) error {
	if spec == "" {
		return fmt.Errorf("empty schedule")
	}
	if strings.Contains(spec, "TZ") {
		return fmt.Errorf("cannot use TZ or CRON_TZ in the schedule: CronJobs reject it")
	}
	if strings.HasPrefix(spec, "@") { // robfig does not trim: "@daily " is unrecognised
		switch spec {
		case "@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly":
			return nil
		}
		// "@every <duration>" is accepted by CronJob validation too (robfig rounds it to >= 1s).
		if d, ok := strings.CutPrefix(spec, "@every "); ok {
			if _, err := time.ParseDuration(d); err != nil {
				return fmt.Errorf("bad duration in %q: %v", spec, err)
			}
			return nil
		}
		return fmt.Errorf("unrecognized descriptor %q: use @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly or 5 cron fields", spec)
	}
	fields := strings.Fields(spec)
	if len(fields) != 5 {
		return fmt.Errorf("expected exactly 5 fields (minute hour day-of-month month day-of-week), found %d", len(fields))
	}
	for i, f := range fields {
		// FieldsFunc, like robfig: empty list items are skipped rather than rejected.
		for _, expr := range strings.FieldsFunc(f, func(r rune) bool { return r == ',' }) {
			if err := cronFields[i].checkRange(expr); err != nil {
				return fmt.Errorf("%s field: %v", cronFields[i].name, err)
			}
		}
	}
	return nil
}

type cronField struct {
	name     string
	min, max uint
	names    map[string]uint
}

var cronFields = [5]cronField{
	{name: "minute", min: 0, max: 59},
	{name: "hour", min: 0, max: 23},
	{name: "day-of-month", min: 1, max: 31},
	{name: "month", min: 1, max: 12, names: map[string]uint{
		"jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6,
		"jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12}},
	{name: "day-of-week", min: 0, max: 6, names: map[string]uint{
		"sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6}},
}

// checkRange checks one list item: "*" | "?" | N | N-M, each optionally followed by "/step".
func (r cronField) checkRange(expr string) error {
	rangeAndStep := strings.Split(expr, "/")
	lowAndHigh := strings.Split(rangeAndStep[0], "-")
	var start, end uint
	var err error
	if lowAndHigh[0] == "*" || lowAndHigh[0] == "?" {
		// robfig ignores anything after "*-" here; so does the CronJob API.
		start, end = r.min, r.max
	} else {
		if start, err = r.value(lowAndHigh[0]); err != nil {
			return err
		}
		switch len(lowAndHigh) {
		case 1:
			end = start
		case 2:
			if end, err = r.value(lowAndHigh[1]); err != nil {
				return err
			}
		default:
			return fmt.Errorf("too many hyphens in %q", expr)
		}
	}
	step := uint(1)
	switch len(rangeAndStep) {
	case 1:
	case 2:
		if step, err = number(rangeAndStep[1]); err != nil {
			return err
		}
		if len(lowAndHigh) == 1 { // "N/step" means "N-max/step"
			end = r.max
		}
	default:
		return fmt.Errorf("too many slashes in %q", expr)
	}
	switch {
	case start < r.min:
		return fmt.Errorf("%d is below the minimum %d in %q", start, r.min, expr)
	case end > r.max:
		return fmt.Errorf("%d is above the maximum %d in %q", end, r.max, expr)
	case start > end:
		return fmt.Errorf("range start %d is beyond its end %d in %q", start, end, expr)
	case step == 0:
		return fmt.Errorf("step must be a positive number in %q", expr)
	}
	return nil
}

func (r cronField) value(s string) (uint, error) {
	if v, ok := r.names[strings.ToLower(s)]; ok {
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
