package healthmetrics

import (
	"fmt"
	"math"
	"testing"
)

func TestParseSize(t *testing.T) {
	for in, want := range map[string]float64{
		"71.001 KiB":  72705, // 71.001 × 1024 = 72705.024
		"9.046 KiB":   9263,
		"1.372 GiB":   1473173783, // 1.372 × 2^30 = 1473173782.53
		"312.514 MiB": 327694680,
		"0 B":         0,
		"512 B":       512,
		"2 TiB":       2 << 40,
		"1 PiB":       1 << 50,
		"3.5 kB":      3500,
		"1 GB":        1e9,
		"42":          42,
		" 7 MiB ":     7 << 20,
		"7MiB":        7 << 20,
		"1.5 gib":     1.5 * (1 << 30),
		".5 KiB":      512,
		"5. KiB":      5120,
	} {
		got, ok := ParseSize(in)
		if !ok || got != want {
			t.Errorf("ParseSize(%q) = %v, %v; want %v", in, got, ok, want)
		}
	}
	for _, in := range []string{"", " ", ".", "KiB", "-1 KiB", "+1 KiB", "1e3 B", "0x10 B", "NaN", "Inf B", "1.2.3 KiB", "1 KiB extra", "12 apples", "1,5 KiB", "1 Ki", "1 ZiB"} {
		if got, ok := ParseSize(in); ok {
			t.Errorf("ParseSize(%q) = %v, want not ok", in, got)
		}
	}
}

// formatBytes is how KubeStash writes sizes (restic's binary units, three decimals).
func formatBytes(c uint64) string {
	b := float64(c)
	switch {
	case c >= 1<<40:
		return fmt.Sprintf("%.3f TiB", b/(1<<40))
	case c >= 1<<30:
		return fmt.Sprintf("%.3f GiB", b/(1<<30))
	case c >= 1<<20:
		return fmt.Sprintf("%.3f MiB", b/(1<<20))
	case c >= 1<<10:
		return fmt.Sprintf("%.3f KiB", b/(1<<10))
	}
	return fmt.Sprintf("%d B", c)
}

// FuzzParseSize: what KubeStash writes reads back within its rounding (half a thousandth of
// the unit), and nothing panics.
func FuzzParseSize(f *testing.F) {
	for _, s := range []uint64{0, 1, 1023, 1024, 72705, 1 << 30, 5 << 40} {
		f.Add(s, "")
	}
	f.Add(uint64(0), "71.001 KiB")
	f.Fuzz(func(t *testing.T, n uint64, s string) {
		ParseSize(s) // must not panic
		n %= 1 << 52
		got, ok := ParseSize(formatBytes(n))
		if !ok {
			t.Fatalf("ParseSize(%q): not ok", formatBytes(n))
		}
		unit := 1.0
		for _, u := range []float64{1 << 40, 1 << 30, 1 << 20, 1 << 10} {
			if float64(n) >= u {
				unit = u
				break
			}
		}
		if math.Abs(got-float64(n)) > unit*0.0005+1 {
			t.Fatalf("ParseSize(%q) = %v, want %d within rounding", formatBytes(n), got, n)
		}
	})
}
