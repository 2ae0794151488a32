package v1alpha1

import (
	"slices"
	"time"

	"github.com/kubestash/backupview/pkg/cron"
)

// The health verdicts (docs/design.md, "Health").
const (
	VerdictInvalid        = "Invalid"
	VerdictPaused         = "Paused"
	VerdictFailing        = "Failing"
	VerdictStuck          = "Stuck"
	VerdictNeverSucceeded = "NeverSucceeded"
	VerdictOverdue        = "Overdue"
	// VerdictVerificationFailing: the backups are taken, but their verification failed or is
	// overdue (docs/design.md, "Verification").
	VerdictVerificationFailing = "VerificationFailing"
	VerdictPending             = "Pending"
	VerdictHealthy             = "Healthy"
	// ReasonSkipped is a reason type only: a skipped newest run is reported, never a verdict.
	ReasonSkipped = "Skipped"
)

// Verdicts are every verdict in precedence order, the first that applies wins. The reasons'
// types are the first seven; Pending and Healthy follow them (Pending from a NeverSucceeded
// reason whose instant has not come).
var Verdicts = []string{VerdictInvalid, VerdictPaused, VerdictFailing, VerdictStuck, VerdictNeverSucceeded, VerdictOverdue,
	VerdictVerificationFailing, VerdictPending, VerdictHealthy}

// ReasonVerdicts is how many of Verdicts, the first, a reason can support.
const ReasonVerdicts = 7

// VerdictRank orders reason types by precedence; Skipped and unknown types sort last.
func VerdictRank(t string) int {
	if i := slices.Index(Verdicts[:ReasonVerdicts], t); i >= 0 {
		return i
	}
	return ReasonVerdicts
}

// VerdictAt is the verdict at now: the first in precedence among the clock-free verdict and
// the reasons that hold at now (a reason with after holds from that instant on), else Pending
// when a NeverSucceeded reason is still to come, else Healthy. The Table's HEALTH column, the
// metrics and the kubectl plugin all read it here.
func (h *Health) VerdictAt(now time.Time) string {
	best, pending := VerdictRank(h.Verdict), false
	for i := range h.Reasons {
		r := &h.Reasons[i]
		if r.After != nil && now.Before(r.After.Time) {
			pending = pending || r.Type == VerdictNeverSucceeded
			continue
		}
		best = min(best, VerdictRank(r.Type))
	}
	switch {
	case best < ReasonVerdicts:
		return Verdicts[best]
	case pending:
		return VerdictPending
	}
	return VerdictHealthy
}

// NextRun is when the BackupConfiguration next runs, seen at now: for each session, the
// nextSchedule KubeStash reports when it lies ahead, or, when it has passed (KubeStash did
// not update it), the schedule's next firing after now, in UTC; the earliest of these. A
// session without a reported nextSchedule is not scheduled (an Invalid BackupConfiguration
// gets no CronJob), and a paused BackupConfiguration runs nothing: both give none. ok is
// false when there is none.
func (v *BackupConfigurationView) NextRun(now time.Time) (next time.Time, ok bool) {
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
