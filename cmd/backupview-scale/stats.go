package main

import (
	"fmt"
	"sort"
	"time"
)

// Sample is one measured series.
type Sample []time.Duration

func (s Sample) sorted() Sample {
	c := append(Sample(nil), s...)
	sort.Slice(c, func(i, j int) bool { return c[i] < c[j] })
	return c
}

// Median of the series (the mean of the middle two for an even count).
func (s Sample) Median() time.Duration {
	if len(s) == 0 {
		return 0
	}
	c := s.sorted()
	n := len(c)
	if n%2 == 1 {
		return c[n/2]
	}
	return (c[n/2-1] + c[n/2]) / 2
}

func (s Sample) Min() time.Duration {
	if len(s) == 0 {
		return 0
	}
	return s.sorted()[0]
}

func (s Sample) Max() time.Duration {
	if len(s) == 0 {
		return 0
	}
	return s.sorted()[len(s)-1]
}

// Pair is one comparison measured interleaved: the view against the direct object.
type Pair struct {
	Name      string
	View      Sample
	Direct    Sample
	ViewBytes int64 // response size of one view request, when meaningful
	DirBytes  int64
	Goal      float64 // the ratio view/direct must not exceed; 0: no goal
	Note      string
}

// Ratio of the medians.
func (p Pair) Ratio() float64 {
	if p.Direct.Median() == 0 {
		return 0
	}
	return float64(p.View.Median()) / float64(p.Direct.Median())
}

// RatioRange is the min and max of the per-round ratios (rounds are interleaved, so each
// round's ratio is drift-free).
func (p Pair) RatioRange() (float64, float64) {
	lo, hi := 0.0, 0.0
	for i := range p.View {
		if i >= len(p.Direct) || p.Direct[i] == 0 {
			continue
		}
		r := float64(p.View[i]) / float64(p.Direct[i])
		if lo == 0 || r < lo {
			lo = r
		}
		if r > hi {
			hi = r
		}
	}
	return lo, hi
}

func fmtDur(d time.Duration) string {
	switch {
	case d >= 10*time.Second:
		return fmt.Sprintf("%.1f s", d.Seconds())
	case d >= time.Second:
		return fmt.Sprintf("%.2f s", d.Seconds())
	case d >= 10*time.Millisecond:
		return fmt.Sprintf("%.0f ms", float64(d)/1e6)
	case d >= time.Millisecond:
		return fmt.Sprintf("%.1f ms", float64(d)/1e6)
	default:
		return fmt.Sprintf("%.2f ms", float64(d)/1e6)
	}
}

func fmtBytes(b float64) string {
	switch {
	case b >= 1<<30:
		return fmt.Sprintf("%.2f GiB", b/(1<<30))
	case b >= 1<<20:
		return fmt.Sprintf("%.1f MiB", b/(1<<20))
	case b >= 1<<10:
		return fmt.Sprintf("%.1f KiB", b/(1<<10))
	default:
		return fmt.Sprintf("%.0f B", b)
	}
}
