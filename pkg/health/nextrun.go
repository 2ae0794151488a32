package health

import (
	"time"

	ui "github.com/kubestash/backupview/pkg/apis/ui/v1alpha1"
	"github.com/kubestash/backupview/pkg/cron"
)

// NextRun is when the BackupConfiguration next runs, seen at now: for each session, the
// nextSchedule KubeStash reports when it lies ahead, or, when it has passed (KubeStash did
// not update it), the schedule's next firing after now, in UTC as MaxInterval; the earliest
// of these. A session without a reported nextSchedule is not scheduled (an Invalid
// BackupConfiguration gets no CronJob), and a paused BackupConfiguration runs nothing: both
// give none. ok is false when there is none.
func NextRun(v *ui.BackupConfigurationView, now time.Time) (next time.Time, ok bool) {
	if v.Basic.Paused {
		return time.Time{}, false
	}
	for _, s := range v.Sessions {
		if s.NextSchedule == nil {
			continue
		}
		t := s.NextSchedule.Time
		if !t.After(now) {
			sched, err := cron.Parse(s.Schedule)
			if err != nil {
				continue
			}
			if t = sched.Next(now.UTC()); t.IsZero() {
				continue
			}
		}
		if !ok || t.Before(next) {
			next, ok = t, true
		}
	}
	return next, ok
}
