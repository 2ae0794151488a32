package cron

import (
	"math/bits"
	"time"
)

// MaxInterval is the longest time between two consecutive firings over the schedule's whole
// period, with firing times in UTC (any fixed-offset zone gives the same gaps; with daylight
// saving time a gap across a change is longer or shorter by it): the time a healthy schedule
// may go without running, weekends, short months and leap days included. It does not depend
// on when it is asked, so it takes no start time.
//
//   - "@every d" is d as the schedule runs it (whole seconds, at least one).
//   - A field schedule fires at the same times of day (its minute and hour sets) on every
//     matching day, so the longest gap is the larger of the longest gap inside a day and the
//     longest gap between matching days less the day's span (first to last firing). Matching
//     days (months, and the day-of-month/day-of-week rule in the package documentation)
//     repeat with the Gregorian calendar every 400 years, which is 146,097 days, a whole
//     number of weeks; the work is bounded by that cycle's 14 kinds of year (leap or not, by
//     the weekday of 1 January) and its 400 years, in integer arithmetic with no time.Time:
//     about 12 µs at most, 2-3 µs for monthly and yearly schedules and nanoseconds for daily
//     and weekly ones (which need no calendar). Nothing is cached.
//   - ok is false when the schedule never fires ("0 0 30 2 *", an empty field such as
//     ", * * * *"), and d is then 0. A schedule that fires at all fires again within 8 years
//     (29 February, across a century year that is not a leap year), so d always fits.
//
// This is the exact period-wide value. It used to be the longest of the 4,096 gaps after a
// start time, found with Next (which looks only five years ahead); that agrees when the window
// holds a whole period (daily schedules, weekly ones with at most 4,096 firings a week) but
// missed gaps outside it: "* * * 1 *" (every minute of January) gave 1m where 31 January
// 23:59 to the next 1 January is 335 days and 1 minute (across a 29 February), and
// "0 0 29 2 *" gave 1,461 days where 2096-02-29 to 2104-02-29 is 2,921.
func (s *Schedule) MaxInterval() (d time.Duration, ok bool) {
	if s.every > 0 {
		return s.every, true
	}
	first, last, inner, ok := s.dayTimes()
	if !ok {
		return 0, false
	}
	days, ok := s.maxDayGap()
	if !ok {
		return 0, false
	}
	gap := days*minutesPerDay - (last - first)
	return time.Duration(max(gap, inner)) * time.Minute, true
}

const (
	minutesPerDay = 24 * 60
	cycleDays     = 146097 // 400 Gregorian years: 20,871 weeks
	cycleStart    = 2000   // any year would do; 1 January 2000 is a Saturday
	cycleStartDow = 6
	allDom        = uint64(1<<32 - 2)  // bits 1..31
	allMonths     = uint64(1<<13 - 2)  // bits 1..12
	allDow        = uint64(1<<7 - 1)   // bits 0..6
	everyDow      = uint64(0x10204081) // bits 0, 7, 14, 21, 28: one day a week
)

// dayTimes returns the first and last firing of a day in minutes after midnight and the
// longest gap between two firings of the same day (0 when it fires once a day); ok is false
// when the minute or hour set is empty.
func (s *Schedule) dayTimes() (first, last, inner int, ok bool) {
	if s.minute == 0 || s.hour == 0 {
		return 0, 0, 0, false
	}
	mFirst, mLast := bits.TrailingZeros64(s.minute), bits.Len64(s.minute)-1
	inner = maxGap(s.minute)
	prev := -1
	for h := s.hour; h != 0; h &= h - 1 {
		hour := bits.TrailingZeros64(h)
		if prev >= 0 {
			inner = max(inner, (hour-prev)*60-(mLast-mFirst))
		}
		prev = hour
	}
	return bits.TrailingZeros64(s.hour)*60 + mFirst, prev*60 + mLast, inner, true
}

// maxGap is the longest distance between two consecutive set bits of x, or 0 with fewer than
// two.
func maxGap(x uint64) int {
	g, prev := 0, -1
	for ; x != 0; x &= x - 1 {
		b := bits.TrailingZeros64(x)
		if prev >= 0 {
			g = max(g, b-prev)
		}
		prev = b
	}
	return g
}

// maxDayGap is the longest distance in days between two consecutive matching days, over the
// 400-year cycle and across its end; ok is false when no day ever matches.
func (s *Schedule) maxDayGap() (int, bool) {
	if s.month == 0 {
		return 0, false
	}
	and := s.domStar || s.dowStar
	if s.month == allMonths {
		switch {
		case and && s.dom == allDom && s.dow == allDow, !and && (s.dom == allDom || s.dow == allDow):
			return 1, true // every day
		case and && s.dom == allDom, !and && s.dom == 0:
			return weekGap(s.dow) // the same weekdays every week
		}
	}
	// The 14 kinds of year, each computed at most once.
	var kinds [2][7]yearDays
	var done [2][7]bool
	best, firstDay, lastDay := 0, -1, -1
	start, dow := 0, cycleStartDow
	for y := cycleStart; y < cycleStart+400; y++ {
		leap := 0
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			leap = 1
		}
		if !done[leap][dow] {
			kinds[leap][dow], done[leap][dow] = s.year(dow, leap == 1), true
		}
		if k := kinds[leap][dow]; k.any {
			if lastDay < 0 {
				firstDay = start + k.first
			} else {
				best = max(best, start+k.first-lastDay)
			}
			best, lastDay = max(best, k.inner), start+k.last
		}
		n := 365 + leap
		start, dow = start+n, (dow+n)%7
	}
	if firstDay < 0 {
		return 0, false
	}
	// The gap across the cycle's end: the next cycle starts on the same weekday. (Starting in
	// 2000 the same years also follow each other inside the cycle, so this never changes the
	// result; it keeps it independent of cycleStart.)
	return max(best, firstDay+cycleDays-lastDay), true
}

// weekGap is the longest distance in days between consecutive weekdays of dow, round the
// week.
func weekGap(dow uint64) (int, bool) {
	if dow == 0 {
		return 0, false
	}
	// Two weeks side by side, so the gap from the last weekday to the first of the next
	// week is an ordinary one.
	return maxGap(dow | dow<<7), true
}

// yearDays describes the matching days of one kind of year, as days since 1 January.
type yearDays struct {
	any         bool
	first, last int
	inner       int // longest gap between matching days within the year
}

var monthDays = [13]int{0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}

// year computes the matching days of a year that starts on weekday jan1.
func (s *Schedule) year(jan1 int, leap bool) yearDays {
	var y yearDays
	and := s.domStar || s.dowStar
	off, dow := 0, jan1
	for m := 1; m <= 12; m++ {
		n := monthDays[m]
		if m == 2 && leap {
			n = 29
		}
		if s.month&(1<<uint(m)) != 0 {
			// Day d of the month falls on weekday (dow+d-1)%7: rotate the weekday set so
			// that bit k is the month's (k+1)th day, then repeat it for five weeks.
			rot := (s.dow>>uint(dow) | s.dow<<uint(7-dow)) & allDow
			byDow := rot * everyDow << 1
			days := s.dom | byDow
			if and {
				days = s.dom & byDow
			}
			if days &= uint64(1)<<uint(n+1) - 2; days != 0 {
				first, last := off+bits.TrailingZeros64(days)-1, off+bits.Len64(days)-2
				if !y.any {
					y.any, y.first = true, first
				} else {
					y.inner = max(y.inner, first-y.last)
				}
				y.inner, y.last = max(y.inner, maxGap(days)), last
			}
		}
		off, dow = off+n, (dow+n)%7
	}
	return y
}
