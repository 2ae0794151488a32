package join

import (
	"math/rand"
	"testing"
	"time"

	"github.com/kubestash/backupview/pkg/cron"
)

// The memo must give exactly what cron.Parse + MaxInterval give, for any from.
func TestMaxIntervalMemoIsExact(t *testing.T) {
	specs := []string{
		"0 */4 * * *", "30 1 * * *", "*/5 * * * *", "* * * * *", "0 0 * * *", "15,45 9-17 * * *", "0 */6 * * *",
		"0 2 * * 0", "0 3 * * 1-5", "*/10 * * * 6", "0 0 * * sun", "* * * * 1", "* 0-11 * * 1-5", "0 12 ? * *",
		"0 0 1 * *", "0 0 29 2 *", "0 0 30 2 *", "0 0 1 1 *", "0 9 1,15 * *", "0 0 13 * 5",
		"@hourly", "@daily", "@midnight", "@weekly", "@monthly", "@yearly", "@annually", "@every 90m", "@every 1h30m10s",
		", * * * *", "not a cron", "",
	}
	rng := rand.New(rand.NewSource(7))
	base := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, spec := range specs {
		for i := 0; i < 4; i++ {
			from := base.Add(time.Duration(rng.Int63n(int64(10 * 365 * 24 * time.Hour))))
			if i == 0 {
				from = time.Date(2028, 2, 28, 23, 59, 30, 0, time.UTC) // a leap day ahead
			}
			d, ok, err := maxInterval(spec, from)
			s, perr := cron.Parse(spec)
			if (err != nil) != (perr != nil) {
				t.Fatalf("%q: error %v, want %v", spec, err, perr)
			}
			if perr != nil {
				continue
			}
			wd, wok := s.MaxInterval(from)
			if d != wd || ok != wok {
				t.Errorf("%q from %s: memo (%s, %v), direct (%s, %v)", spec, from, d, ok, wd, wok)
			}
		}
	}
}

func TestMaxIntervalOtherLocation(t *testing.T) {
	loc := time.FixedZone("UTC+05:30", 5*3600+1800)
	from := time.Date(2026, 3, 29, 1, 0, 0, 0, loc)
	s, _ := cron.Parse("0 */4 * * *")
	wd, wok := s.MaxInterval(from)
	if d, ok, _ := maxInterval("0 */4 * * *", from); d != wd || ok != wok {
		t.Errorf("memo (%s, %v), direct (%s, %v)", d, ok, wd, wok)
	}
}
