// Package stats summarises measured series: medians, percentiles and the ratio of two series
// measured side by side (docs/benchmarks.md, "How it measures").
package stats

import (
	"slices"
	"time"
)

// Sample is one measured series.
type Sample []time.Duration

func (s Sample) sorted() Sample {
	c := slices.Clone(s)
	slices.Sort(c)
	return c
}

// Median of the series (the mean of the middle two for an even count); 0 when empty.
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

// Percentile p (0..1) of the series: the sorted series' element at index ⌊(n-1)·p⌋ (no
// interpolation, so it is always a measured value: p=1 is the maximum); 0 when empty.
func (s Sample) Percentile(p float64) time.Duration {
	if len(s) == 0 {
		return 0
	}
	return s.sorted()[int(float64(len(s)-1)*p)]
}

// Min and Max of the series; 0 when empty.
func (s Sample) Min() time.Duration {
	if len(s) == 0 {
		return 0
	}
	return slices.Min(s)
}

func (s Sample) Max() time.Duration {
	if len(s) == 0 {
		return 0
	}
	return slices.Max(s)
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

// Ratio of the medians; 0 when the direct median is 0.
func (p Pair) Ratio() float64 {
	if p.Direct.Median() == 0 {
		return 0
	}
	return float64(p.View.Median()) / float64(p.Direct.Median())
}

// RatioRange is the min and max of the per-round ratios View[i]/Direct[i] (rounds are
// interleaved, so each round's ratio is drift-free); rounds without a direct value are
// skipped, and both are 0 when no round has one.
func (p Pair) RatioRange() (lo, hi float64) {
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

// Missed says by how much a value exceeds its limit (0.25: by 25%), and whether it does.
func Missed(value, limit float64) (by float64, missed bool) {
	if value <= limit {
		return 0, false
	}
	return value/limit - 1, true
}
