package stats

import (
	"math"
	"testing"
	"time"
)

func ms(v ...int) Sample {
	var s Sample
	for _, x := range v {
		s = append(s, time.Duration(x)*time.Millisecond)
	}
	return s
}

func TestSample(t *testing.T) {
	for _, c := range []struct {
		s                Sample
		median, min, max time.Duration
	}{
		{nil, 0, 0, 0},
		{ms(5), 5 * time.Millisecond, 5 * time.Millisecond, 5 * time.Millisecond},
		{ms(9, 1, 5), 5 * time.Millisecond, time.Millisecond, 9 * time.Millisecond},
		{ms(8, 2, 4, 6), 5 * time.Millisecond, 2 * time.Millisecond, 8 * time.Millisecond}, // mean of the middle two
	} {
		if m := c.s.Median(); m != c.median {
			t.Errorf("%v: median %v, want %v", c.s, m, c.median)
		}
		if m := c.s.Min(); m != c.min {
			t.Errorf("%v: min %v, want %v", c.s, m, c.min)
		}
		if m := c.s.Max(); m != c.max {
			t.Errorf("%v: max %v, want %v", c.s, m, c.max)
		}
	}
	s := ms(9, 1, 5)
	s.Median()
	if s[0] != 9*time.Millisecond {
		t.Errorf("Median sorted its receiver: %v", s)
	}
}

func TestPercentile(t *testing.T) {
	s := ms(10, 1, 9, 2, 8, 3, 7, 4, 6, 5) // 1..10 ms
	for _, c := range []struct {
		p    float64
		want int
	}{{0, 1}, {0.5, 5}, {0.9, 9}, {0.99, 9}, {1, 10}} {
		if got := s.Percentile(c.p); got != time.Duration(c.want)*time.Millisecond {
			t.Errorf("p%v = %v, want %d ms", c.p*100, got, c.want)
		}
	}
	if s[0] != 10*time.Millisecond {
		t.Errorf("Percentile sorted its receiver: %v", s)
	}
	if Sample(nil).Percentile(0.99) != 0 {
		t.Error("percentile of nothing is not 0")
	}
}

func TestPairRatio(t *testing.T) {
	p := Pair{View: ms(10, 30, 20), Direct: ms(20, 10, 40)}
	if r := p.Ratio(); r != 1 { // 20 ms / 20 ms
		t.Errorf("ratio %v, want 1", r)
	}
	lo, hi := p.RatioRange() // rounds: 0.5, 3, 0.5
	if lo != 0.5 || hi != 3 {
		t.Errorf("range %v–%v, want 0.5–3", lo, hi)
	}
	// A round without a direct value (a failed request) counts for neither.
	p = Pair{View: ms(10, 30, 20), Direct: ms(20, 0)}
	if lo, hi := p.RatioRange(); lo != 0.5 || hi != 0.5 {
		t.Errorf("range with missing rounds %v–%v, want 0.5–0.5", lo, hi)
	}
	if r := (Pair{View: ms(1)}).Ratio(); r != 0 {
		t.Errorf("ratio without direct values %v, want 0", r)
	}
	if lo, hi := (Pair{}).RatioRange(); lo != 0 || hi != 0 {
		t.Errorf("range of nothing %v–%v", lo, hi)
	}
}

func TestMissed(t *testing.T) {
	if by, m := Missed(1.5, 1.2); !m || math.Abs(by-0.25) > 1e-9 {
		t.Errorf("Missed(1.5, 1.2) = %v, %v; want 0.25, true", by, m)
	}
	if by, m := Missed(1.2, 1.2); m || by != 0 {
		t.Errorf("Missed(1.2, 1.2) = %v, %v; want a goal met exactly to hold", by, m)
	}
}
