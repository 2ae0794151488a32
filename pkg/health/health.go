// Package health computes the Health section of a BackupConfigurationView from the joined
// sources (no clock). Reading it at an instant is the API's (Health.VerdictAt and
// BackupConfigurationView.NextRun in pkg/apis/ui/v1alpha1; docs/design.md, "Health").
package health

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ui "github.com/kubestash/backupview/pkg/apis/ui/v1alpha1"
	"github.com/kubestash/backupview/pkg/cron"
	"github.com/kubestash/backupview/pkg/kubestash"
)

// Build computes the Health section of v from its BackupConfiguration, the BackupSessions
// that belong to it, newest first (the view's order), and v's joined references (storages,
// policies, repositories, sessions), which must be filled in already. It reads no clock.
func Build(bc *kubestash.BackupConfiguration, sessions []*kubestash.BackupSession, v *ui.BackupConfigurationView) ui.Health {
	b := builder{bc: bc, runs: sessions, v: v}
	var h ui.Health
	if len(sessions) > 0 {
		h.LastSessionPhase = sessions[0].Phase
	}
	last, lastFrom := b.lastSuccess()
	if !last.IsZero() {
		h.LastSuccessfulBackupTime = &metav1.Time{Time: last}
	}
	for _, s := range v.Sessions {
		if n := s.NextSchedule; n != nil && (h.NextScheduleTime == nil || n.Before(h.NextScheduleTime)) {
			h.NextScheduleTime = &metav1.Time{Time: n.Time}
		}
	}
	b.invalid()
	if bc.Paused {
		b.add(ui.VerdictPaused, b.bcRef(), "spec.paused", "the BackupConfiguration is paused: no session runs until it is resumed", nil)
	}
	b.runsOfSessions()
	b.snapshots()
	b.verifications()
	b.stuck()
	if !bc.Paused {
		if last.IsZero() {
			b.neverSucceeded()
		}
		h.OverdueAfter = b.overdue(last, lastFrom)
	}
	// Stable: within a type, the order of the sources (backends, sessions, runs newest first).
	slices.SortStableFunc(b.reasons, func(x, y ui.HealthReason) int { return cmp.Compare(ui.VerdictRank(x.Type), ui.VerdictRank(y.Type)) })
	h.Reasons = b.reasons
	h.Verdict = clockFree(b.reasons)
	return h
}

// clockFree is the verdict of the reasons that do not depend on the clock: the first in
// precedence, else Healthy.
func clockFree(reasons []ui.HealthReason) string {
	best := ui.ReasonVerdicts
	for _, r := range reasons {
		if r.After == nil {
			best = min(best, ui.VerdictRank(r.Type))
		}
	}
	if best < ui.ReasonVerdicts {
		return ui.Verdicts[best]
	}
	return ui.VerdictHealthy
}

// MissingMessage is the Invalid reason's message for a referenced object that does not exist.
func MissingMessage(kind, ns, name string) string {
	return fmt.Sprintf("%s %s/%s not found", kind, ns, name)
}

// WithoutMissing returns h for a caller who may not get some referenced objects: without the
// Invalid reasons saying that one of them does not exist (restricted(kind, ns, name) true),
// and with the clock-free verdict of what remains. Whether such an object exists is not the
// caller's to learn (docs/design.md, "Authorization follows the caller"); KubeStash's own
// phase, which the BackupConfiguration's readers see anyway, still counts. h is not modified.
func WithoutMissing(h ui.Health, restricted func(kind, ns, name string) bool) ui.Health {
	return WithoutReasons(h, func(r ui.HealthReason) bool {
		return r.Type == ui.VerdictInvalid && r.Object.Kind == "BackupConfiguration" && isMissing(r.Message, restricted)
	})
}

// WithoutReasons returns h without the reasons drop selects, and with the clock-free verdict
// of what remains. h is not modified.
func WithoutReasons(h ui.Health, drop func(ui.HealthReason) bool) ui.Health {
	var kept []ui.HealthReason
	dropped := false
	for _, r := range h.Reasons {
		if drop(r) {
			dropped = true
			continue
		}
		kept = append(kept, r)
	}
	if !dropped {
		return h
	}
	h.Reasons, h.Verdict = kept, clockFree(kept)
	return h
}

func isMissing(msg string, restricted func(kind, ns, name string) bool) bool {
	kind, rest, ok := strings.Cut(msg, " ")
	if !ok || (kind != "BackupStorage" && kind != "RetentionPolicy") {
		return false
	}
	ref, ok := strings.CutSuffix(rest, " not found")
	ns, name, ok2 := strings.Cut(ref, "/")
	return ok && ok2 && MissingMessage(kind, ns, name) == msg && restricted(kind, ns, name)
}

type builder struct {
	bc      *kubestash.BackupConfiguration
	runs    []*kubestash.BackupSession
	v       *ui.BackupConfigurationView
	reasons []ui.HealthReason
}

func (b *builder) add(typ string, obj ui.TypedObjectReference, field, msg string, after *time.Time) {
	r := ui.HealthReason{Type: typ, Object: obj, Field: field, Message: msg}
	if after != nil {
		r.After = &metav1.Time{Time: *after}
	}
	b.reasons = append(b.reasons, r)
}

func (b *builder) bcRef() ui.TypedObjectReference {
	return ui.TypedObjectReference{APIGroup: kubestash.CoreGroup, Kind: "BackupConfiguration", Namespace: b.bc.Namespace, Name: b.bc.Name}
}

func runRef(s *kubestash.BackupSession) ui.TypedObjectReference {
	return ui.TypedObjectReference{APIGroup: kubestash.CoreGroup, Kind: "BackupSession", Namespace: s.Namespace, Name: s.Name}
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// lastSuccess is the newest success, a Succeeded run's creation plus its duration or a
// Repository's lastBackupTime, and where it was read, for messages.
func (b *builder) lastSuccess() (time.Time, string) {
	var last time.Time
	var from string
	for _, s := range b.runs {
		if s.Phase != kubestash.SessionSucceeded || s.CreationTimestamp.IsZero() {
			continue
		}
		end := s.CreationTimestamp.Time
		if d, err := time.ParseDuration(s.Duration); err == nil && d > 0 {
			end = end.Add(d)
		}
		if end.After(last) {
			last, from = end, fmt.Sprintf("BackupSession %s/%s, created plus status.duration", s.Namespace, s.Name)
		}
	}
	for _, r := range b.v.Repositories {
		if t := r.LastSuccessfulBackupTime; t != nil && t.After(last) {
			last, from = t.Time, fmt.Sprintf("Repository %s/%s status.lastBackupTime", r.Namespace, r.Name)
		}
	}
	return last, from
}

// invalid: phase Invalid, and every referenced object that does not exist, named by the
// field of the BackupConfiguration that references it.
func (b *builder) invalid() {
	bc := b.bc
	if bc.Phase == kubestash.PhaseInvalid {
		msg := "KubeStash reports the BackupConfiguration Invalid"
		for _, c := range bc.Conditions {
			if c.Type == kubestash.ConditionValidationPassed && c.Status == string(metav1.ConditionFalse) && c.Message != "" {
				msg += ": " + c.Message
			}
		}
		b.add(ui.VerdictInvalid, b.bcRef(), "status.phase", msg, nil)
	}
	backendField := func(kind string, pick func(kubestash.Backend) *kubestash.Ref, ns, name string) string {
		for i, be := range bc.Backends {
			if r := pick(be); r != nil && r.Name == name && cmp.Or(r.Namespace, bc.Namespace) == ns {
				return fmt.Sprintf("spec.backends[%d].%s", i, kind)
			}
		}
		return "spec.backends"
	}
	for _, s := range b.v.BackupStorages {
		if !s.Found && s.Restricted == "" {
			f := backendField("storageRef", func(be kubestash.Backend) *kubestash.Ref { return be.StorageRef }, s.Namespace, s.Name)
			b.add(ui.VerdictInvalid, b.bcRef(), f, MissingMessage("BackupStorage", s.Namespace, s.Name), nil)
		}
	}
	for _, p := range b.v.RetentionPolicies {
		if !p.Found && p.Restricted == "" {
			f := backendField("retentionPolicy", func(be kubestash.Backend) *kubestash.Ref { return be.RetentionPolicy }, p.Namespace, p.Name)
			b.add(ui.VerdictInvalid, b.bcRef(), f, MissingMessage("RetentionPolicy", p.Namespace, p.Name), nil)
		}
	}
	for _, r := range b.v.Repositories {
		if r.Found {
			continue
		}
		f := "spec.sessions"
	find:
		for i, s := range bc.Sessions {
			for j, n := range s.Repositories {
				if n == r.Name {
					f = fmt.Sprintf("spec.sessions[%d].repositories[%d].name", i, j)
					break find
				}
			}
		}
		b.add(ui.VerdictInvalid, b.bcRef(), f, fmt.Sprintf("Repository %s/%s not found", r.Namespace, r.Name), nil)
	}
}

// snapshots: per Repository, its newest Snapshot when it failed or failed its integrity check:
// the data a restore would start from is not good, whatever the sessions say.
func (b *builder) snapshots() {
	for _, r := range b.v.Repositories {
		if len(r.Snapshots) == 0 {
			continue
		}
		s := &r.Snapshots[0]
		obj := ui.TypedObjectReference{APIGroup: kubestash.StorageGroup, Kind: "Snapshot", Namespace: r.Namespace, Name: s.Name}
		switch {
		case s.Phase == kubestash.SnapshotFailed:
			msg := fmt.Sprintf("the newest Snapshot of Repository %s/%s failed", r.Namespace, r.Name)
			for _, c := range s.FailedComponents {
				msg += fmt.Sprintf("; component %s: %s", c.Name, cmp.Or(c.Error, "failed"))
			}
			b.add(ui.VerdictFailing, obj, "status.phase", msg, nil)
		case s.Integrity != nil && !*s.Integrity:
			b.add(ui.VerdictFailing, obj, "status.integrity", fmt.Sprintf("the newest Snapshot of Repository %s/%s failed its integrity check", r.Namespace, r.Name), nil)
		}
	}
}

// verifications: per Repository with a BackupVerifier, its newest verification when it Failed,
// and, where the verifier has a schedule, from the instant no verification has succeeded for
// twice its interval: the last success (or, without one, the BackupConfiguration's creation)
// plus twice the schedule's longest gap between firings, as for Overdue.
func (b *builder) verifications() {
	for _, r := range b.v.Repositories {
		vr := r.Verification
		if vr == nil {
			continue
		}
		if s := vr.LastSession; s != nil && s.Phase == kubestash.VerificationFailed {
			obj := ui.TypedObjectReference{APIGroup: kubestash.CoreGroup, Kind: "BackupVerificationSession", Namespace: r.Namespace, Name: s.Name}
			msg := fmt.Sprintf("the newest verification of Repository %s/%s Failed", r.Namespace, r.Name)
			if s.Snapshot != "" {
				msg += fmt.Sprintf(" (Snapshot %s)", s.Snapshot)
			}
			if s.Message != "" {
				msg += ": " + s.Message
			}
			b.add(ui.VerdictVerificationFailing, obj, "status.phase", msg, nil)
		}
		if !vr.Found || vr.Schedule == "" {
			continue
		}
		sched, err := cron.Parse(vr.Schedule)
		if err != nil {
			continue
		}
		interval, ok := sched.MaxInterval()
		base, since := b.bc.CreationTimestamp.Time, "no verification has succeeded since the BackupConfiguration's creation at "
		if t := vr.LastSuccessfulVerificationTime; t != nil {
			base, since = t.Time, "the last verification succeeded at "
		}
		if !ok || base.IsZero() {
			continue
		}
		after := base.Add(2 * interval)
		obj := ui.TypedObjectReference{APIGroup: kubestash.CoreGroup, Kind: "BackupVerifier", Namespace: vr.Verifier.Namespace, Name: vr.Verifier.Name}
		b.add(ui.VerdictVerificationFailing, obj, "spec.scheduler.schedule",
			fmt.Sprintf("%s%s for Repository %s/%s; its BackupVerifier (schedule %q) fires at least every %s, and a verification is overdue after twice that",
				since, stamp(base), r.Namespace, r.Name, vr.Schedule, interval), &after)
	}
}

// runsOfSessions: per session of the BackupConfiguration, its newest run when Skipped, and its
// newest finished run when Failed. Each session is a backup of its own (schedule, tasks,
// repositories), so one failing is not hidden by another succeeding. Runs of a session the
// BackupConfiguration no longer has are left out: nothing will run them again.
func (b *builder) runsOfSessions() {
	const (
		seen     = 1 // a newer run of the session came first
		finished = 2 // its newest finished run came
	)
	state := make(map[string]int, len(b.bc.Sessions))
	for _, s := range b.bc.Sessions {
		state[s.Name] = 0
	}
	for _, s := range b.runs { // newest first
		st, ok := state[s.Session]
		if !ok || st == finished {
			continue
		}
		if st == 0 && s.Phase == kubestash.SessionSkipped {
			b.add(ui.ReasonSkipped, runRef(s), "status.phase", fmt.Sprintf("the newest run of session %s was Skipped", s.Session), nil)
		}
		state[s.Session] = seen
		switch s.Phase {
		case kubestash.SessionFailed:
			b.add(ui.VerdictFailing, runRef(s), "status.phase", fmt.Sprintf("the newest finished run of session %s Failed", s.Session), nil)
			state[s.Session] = finished
		case kubestash.SessionSucceeded:
			state[s.Session] = finished
		}
	}
}

// stuck: every run still Running, from its deadline on: status.backupDeadline, or its
// creation plus spec.backupTimeout. A run with neither has no deadline.
func (b *builder) stuck() {
	for _, s := range b.runs {
		if s.Phase != kubestash.SessionRunning {
			continue
		}
		switch {
		case s.BackupDeadline != nil:
			d := s.BackupDeadline.Time
			b.add(ui.VerdictStuck, runRef(s), "status.backupDeadline", fmt.Sprintf("the run is Running; its deadline is %s", stamp(d)), &d)
		case s.BackupTimeout > 0 && !s.CreationTimestamp.IsZero():
			d := s.CreationTimestamp.Add(s.BackupTimeout)
			b.add(ui.VerdictStuck, runRef(s), "spec.backupTimeout", fmt.Sprintf("the run is Running; created %s with a backupTimeout of %s, its deadline is %s", stamp(s.CreationTimestamp.Time), s.BackupTimeout, stamp(d)), &d)
		}
	}
}

// neverSucceeded: with no success at all, from the instant a first run is due: the earliest
// of the first firing of a session's schedule after the BackupConfiguration's creation and the
// creation of its oldest BackupSession (KubeStash's initial backup or a manual trigger: a run
// that was started was due). Before that instant the verdict is Pending.
func (b *builder) neverSucceeded() {
	var due time.Time
	var obj ui.TypedObjectReference
	var field, msg string
	if created := b.bc.CreationTimestamp.Time; !created.IsZero() {
		for i, s := range b.bc.Sessions {
			sched, err := cron.Parse(s.Schedule)
			if err != nil {
				continue
			}
			// UTC, as MaxInterval: the zone the control plane's CronJobs use by default.
			if n := sched.Next(created.UTC()); !n.IsZero() && (due.IsZero() || n.Before(due)) {
				due, obj, field = n, b.bcRef(), fmt.Sprintf("spec.sessions[%d].scheduler.schedule", i)
				msg = fmt.Sprintf("no successful backup yet; the first run is due at %s, the first firing of session %s (schedule %q) after the BackupConfiguration's creation at %s", stamp(n), s.Name, s.Schedule, stamp(created))
			}
		}
	}
	if n := len(b.runs); n > 0 {
		if oldest := b.runs[n-1]; !oldest.CreationTimestamp.IsZero() && (due.IsZero() || oldest.CreationTimestamp.Time.Before(due)) {
			due, obj, field = oldest.CreationTimestamp.Time, runRef(oldest), "metadata.creationTimestamp"
			msg = fmt.Sprintf("no successful backup yet; the oldest run, of session %s, was created at %s and is %s", oldest.Session, stamp(due), cmp.Or(oldest.Phase, "without a phase"))
		}
	}
	if !due.IsZero() {
		b.add(ui.VerdictNeverSucceeded, obj, field, msg, &due)
	}
}

// overdue returns overdueAfter: the last success (or, without one, the BackupConfiguration's
// creation) plus twice the shortest session interval, the interval being a schedule's longest
// gap between firings over its whole period, in UTC (Schedule.MaxInterval). A schedule that
// does not parse or never fires has none; without any, nothing is overdue.
func (b *builder) overdue(last time.Time, lastFrom string) *metav1.Time {
	base := last
	if base.IsZero() {
		base = b.bc.CreationTimestamp.Time
	}
	var shortest time.Duration
	at := -1
	for i, s := range b.bc.Sessions {
		sched, err := cron.Parse(s.Schedule)
		if err != nil {
			continue
		}
		if d, ok := sched.MaxInterval(); ok && (shortest == 0 || d < shortest) {
			shortest, at = d, i
		}
	}
	if shortest == 0 || base.IsZero() {
		return nil
	}
	after := base.Add(2 * shortest)
	s := b.bc.Sessions[at]
	since := fmt.Sprintf("no success since the BackupConfiguration's creation at %s", stamp(base))
	if !last.IsZero() {
		since = fmt.Sprintf("last success at %s (%s)", stamp(base), lastFrom)
	}
	b.add(ui.VerdictOverdue, b.bcRef(), fmt.Sprintf("spec.sessions[%d].scheduler.schedule", at),
		fmt.Sprintf("%s; session %s (schedule %q) fires at least every %s, and a success is overdue after twice that", since, s.Name, s.Schedule, shortest), &after)
	return &metav1.Time{Time: after}
}
