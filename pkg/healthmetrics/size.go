package healthmetrics

import (
	"math"
	"strconv"
	"strings"
)

// sizeUnits are the units KubeStash writes sizes in (restic's binary units: "71.001 KiB",
// "0 B"), with the decimal ones and bare numbers of bytes accepted too.
var sizeUnits = map[string]float64{
	"": 1, "b": 1,
	"kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40, "pib": 1 << 50, "eib": 1 << 60,
	"kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12, "pb": 1e15, "eb": 1e18,
}

// ParseSize reads a size as KubeStash reports it (Repository status.size, e.g. "71.001 KiB")
// in bytes, rounded to a whole byte. ok is false for anything else: an empty string, a
// negative or non-decimal number, an unknown unit.
func ParseSize(s string) (bytes float64, ok bool) {
	s = strings.TrimSpace(s)
	i := 0
	dot := false
	for ; i < len(s); i++ {
		c := s[i]
		if c == '.' && !dot {
			dot = true
			continue
		}
		if c < '0' || c > '9' {
			break
		}
	}
	num, unit := s[:i], strings.ToLower(strings.TrimSpace(s[i:]))
	if num == "" || num == "." {
		return 0, false
	}
	mult, known := sizeUnits[unit]
	if !known {
		return 0, false
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, false
	}
	b := math.Round(f * mult)
	if math.IsInf(b, 0) {
		return 0, false
	}
	return b, true
}
