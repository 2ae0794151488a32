package health

import (
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ui "github.com/kubestash/backupview/pkg/apis/ui/v1alpha1"
	"github.com/kubestash/backupview/pkg/kubestash"
)

// t0 is the BackupConfiguration's creation in every case: 10:00, so "0 */4 * * *" first
// fires at 12:00.
var t0 = time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)

// sources is one BackupConfiguration with everything it references found; cases change it.
type sources struct {
	bc   *kubestash.BackupConfiguration
	runs []*kubestash.BackupSession
	v    *ui.BackupConfigurationView
}

func healthy() *sources {
	return &sources{
		bc: &kubestash.BackupConfiguration{
			Meta:     kubestash.Meta{Name: "bc", Namespace: "demo", CreationTimestamp: metav1.NewTime(t0)},
			Phase:    "Ready",
			Backends: []kubestash.Backend{{Name: "b", StorageRef: &kubestash.Ref{Namespace: "kubestash", Name: "s3"}, RetentionPolicy: &kubestash.Ref{Name: "keep"}}},
			Sessions: []kubestash.Session{{Name: "full", Schedule: "0 */4 * * *", Repositories: []string{"repo"}}},
		},
		v: &ui.BackupConfigurationView{
			BackupStorages:    []ui.BackupStorageRef{{Namespace: "kubestash", Name: "s3", Found: true}},
			RetentionPolicies: []ui.RetentionPolicyRef{{Namespace: "demo", Name: "keep", Found: true}},
			Repositories:      []ui.RepositoryRef{{Namespace: "demo", Name: "repo", Found: true}},
		},
	}
}

// run is a BackupSession of session created at t0+at; opts set phase-specific fields.
func run(name, session, phase string, at time.Duration, opts ...func(*kubestash.BackupSession)) *kubestash.BackupSession {
	s := &kubestash.BackupSession{Meta: kubestash.Meta{Name: name, Namespace: "demo", CreationTimestamp: metav1.NewTime(t0.Add(at))},
		Session: session, Phase: phase}
	for _, o := range opts {
		o(s)
	}
	return s
}

func took(d string) func(*kubestash.BackupSession) {
	return func(s *kubestash.BackupSession) { s.Duration = d }
}

func deadline(at time.Duration) func(*kubestash.BackupSession) {
	return func(s *kubestash.BackupSession) { s.BackupDeadline = &metav1.Time{Time: t0.Add(at)} }
}

func timeout(d time.Duration) func(*kubestash.BackupSession) {
	return func(s *kubestash.BackupSession) { s.BackupTimeout = d }
}

// succeeded is a success at 12:00 (done 12:01): overdue after 20:01.
func succeeded() *kubestash.BackupSession {
	return run("ok", "full", "Succeeded", 2*time.Hour, took("1m"))
}

// want is one reason to find: its type, object "Kind namespace/name", field, and the
// instant from which it holds (zero: none).
type want struct {
	typ, object, field string
	after              time.Duration
}

func TestVerdicts(t *testing.T) {
	h := time.Hour
	cases := []struct {
		name   string
		change func(*sources)
		now    time.Duration // after t0
		stored string        // health.verdict
		at     string        // At(now)
		want   []want        // reasons that must be there
	}{
		{"healthy", func(s *sources) { s.runs = []*kubestash.BackupSession{succeeded()} }, 3 * h, ui.VerdictHealthy, ui.VerdictHealthy,
			[]want{{ui.VerdictOverdue, "BackupConfiguration demo/bc", "spec.sessions[0].scheduler.schedule", 10*h + time.Minute}}},
		{"invalid phase", func(s *sources) {
			s.bc.Phase = "Invalid"
			s.bc.Conditions = []kubestash.Condition{{Type: "ValidationPassed", Status: "False", Message: `task "X" is not a backup task`}}
			s.runs = []*kubestash.BackupSession{succeeded()}
		}, 3 * h, ui.VerdictInvalid, ui.VerdictInvalid, []want{{ui.VerdictInvalid, "BackupConfiguration demo/bc", "status.phase", 0}}},
		{"storage not found", func(s *sources) {
			s.v.BackupStorages[0].Found = false
			s.runs = []*kubestash.BackupSession{succeeded()}
		},
			3 * h, ui.VerdictInvalid, ui.VerdictInvalid, []want{{ui.VerdictInvalid, "BackupConfiguration demo/bc", "spec.backends[0].storageRef", 0}}},
		{"retention policy not found (namespace defaulted)", func(s *sources) {
			s.v.RetentionPolicies[0].Found = false
			s.runs = []*kubestash.BackupSession{succeeded()}
		}, 3 * h, ui.VerdictInvalid, ui.VerdictInvalid, []want{{ui.VerdictInvalid, "BackupConfiguration demo/bc", "spec.backends[0].retentionPolicy", 0}}},
		{"repository not found", func(s *sources) { s.v.Repositories[0].Found = false; s.runs = []*kubestash.BackupSession{succeeded()} },
			3 * h, ui.VerdictInvalid, ui.VerdictInvalid, []want{{ui.VerdictInvalid, "BackupConfiguration demo/bc", "spec.sessions[0].repositories[0].name", 0}}},
		{"a storage the view may not show is not judged", func(s *sources) {
			s.v.BackupStorages[0].Found, s.v.BackupStorages[0].Restricted = false, "you cannot get backupstorages in namespace kubestash"
			s.runs = []*kubestash.BackupSession{succeeded()}
		}, 3 * h, ui.VerdictHealthy, ui.VerdictHealthy, nil},
		{"paused: no schedule-based reasons", func(s *sources) { s.bc.Paused = true }, 30 * 24 * h, ui.VerdictPaused, ui.VerdictPaused,
			[]want{{ui.VerdictPaused, "BackupConfiguration demo/bc", "spec.paused", 0}}},
		{"failing: the newest finished run failed", func(s *sources) {
			s.runs = []*kubestash.BackupSession{run("r3", "full", "Running", 10*h), run("r2", "full", "Failed", 6*h), succeeded()}
		}, 11 * h, ui.VerdictFailing, ui.VerdictFailing, []want{{ui.VerdictFailing, "BackupSession demo/r2", "status.phase", 0}}},
		{"a failure followed by a success is not failing", func(s *sources) {
			s.runs = []*kubestash.BackupSession{run("r2", "full", "Succeeded", 6*h), run("r1", "full", "Failed", 2*h)}
		}, 7 * h, ui.VerdictHealthy, ui.VerdictHealthy, nil},
		{"failing per session: another session's success does not hide it", func(s *sources) {
			s.bc.Sessions = append(s.bc.Sessions, kubestash.Session{Name: "manifest", Schedule: "30 1 * * *"})
			s.runs = []*kubestash.BackupSession{run("f2", "full", "Succeeded", 6*h), run("m1", "manifest", "Failed", 5*h), succeeded()}
		}, 7 * h, ui.VerdictFailing, ui.VerdictFailing, []want{{ui.VerdictFailing, "BackupSession demo/m1", "status.phase", 0}}},
		{"a session the BackupConfiguration no longer has is not judged", func(s *sources) {
			s.runs = []*kubestash.BackupSession{run("g2", "gone", "Skipped", 6*h), run("g1", "gone", "Failed", 5*h), succeeded()}
		}, 7 * h, ui.VerdictHealthy, ui.VerdictHealthy, nil},
		{"skipped newest run: a reason, not a verdict", func(s *sources) {
			s.runs = []*kubestash.BackupSession{run("s2", "full", "Skipped", 6*h), succeeded()}
		}, 7 * h, ui.VerdictHealthy, ui.VerdictHealthy, []want{{ui.ReasonSkipped, "BackupSession demo/s2", "status.phase", 0}}},
		{"an older skipped run is history", func(s *sources) {
			s.runs = []*kubestash.BackupSession{run("r2", "full", "Running", 6*h), run("s1", "full", "Skipped", 5*h), succeeded()}
		}, 7 * h, ui.VerdictHealthy, ui.VerdictHealthy, nil},
		{"skipped does not hide a failure", func(s *sources) {
			s.runs = []*kubestash.BackupSession{run("s2", "full", "Skipped", 6*h), run("f1", "full", "Failed", 5*h), succeeded()}
		}, 7 * h, ui.VerdictFailing, ui.VerdictFailing, []want{{ui.VerdictFailing, "BackupSession demo/f1", "status.phase", 0}, {ui.ReasonSkipped, "BackupSession demo/s2", "status.phase", 0}}},
		{"running before its deadline", func(s *sources) {
			s.runs = []*kubestash.BackupSession{run("r", "full", "Running", 6*h, deadline(8*h)), succeeded()}
		}, 7 * h, ui.VerdictHealthy, ui.VerdictHealthy, []want{{ui.VerdictStuck, "BackupSession demo/r", "status.backupDeadline", 8 * h}}},
		{"stuck: running past status.backupDeadline", func(s *sources) {
			s.runs = []*kubestash.BackupSession{run("r", "full", "Running", 6*h, deadline(8*h)), succeeded()}
		}, 8 * h, ui.VerdictHealthy, ui.VerdictStuck, []want{{ui.VerdictStuck, "BackupSession demo/r", "status.backupDeadline", 8 * h}}},
		{"stuck: running past creation plus spec.backupTimeout", func(s *sources) {
			s.runs = []*kubestash.BackupSession{run("r", "full", "Running", 6*h, timeout(90*time.Minute)), succeeded()}
		}, 8 * h, ui.VerdictHealthy, ui.VerdictStuck, []want{{ui.VerdictStuck, "BackupSession demo/r", "spec.backupTimeout", 7*h + 30*time.Minute}}},
		{"the deadline wins over the timeout", func(s *sources) {
			s.runs = []*kubestash.BackupSession{run("r", "full", "Running", 6*h, timeout(time.Minute), deadline(9*h)), succeeded()}
		}, 8 * h, ui.VerdictHealthy, ui.VerdictHealthy, []want{{ui.VerdictStuck, "BackupSession demo/r", "status.backupDeadline", 9 * h}}},
		{"a run without deadline or timeout is never stuck", func(s *sources) {
			s.runs = []*kubestash.BackupSession{run("r", "full", "Running", 6*h), succeeded()}
		}, 9 * h, ui.VerdictHealthy, ui.VerdictHealthy, nil},
		{"pending: created, first firing not yet come", func(*sources) {}, time.Hour, ui.VerdictHealthy, ui.VerdictPending,
			[]want{{ui.VerdictNeverSucceeded, "BackupConfiguration demo/bc", "spec.sessions[0].scheduler.schedule", 2 * h}}},
		{"never succeeded: the first firing has come", func(*sources) {}, 2 * h, ui.VerdictHealthy, ui.VerdictNeverSucceeded,
			[]want{{ui.VerdictNeverSucceeded, "BackupConfiguration demo/bc", "spec.sessions[0].scheduler.schedule", 2 * h}, {ui.VerdictOverdue, "BackupConfiguration demo/bc", "spec.sessions[0].scheduler.schedule", 8 * h}}},
		{"never succeeded: a run was started before the first firing", func(s *sources) {
			s.runs = []*kubestash.BackupSession{run("initial", "full", "Running", time.Minute)}
		}, 30 * time.Minute, ui.VerdictHealthy, ui.VerdictNeverSucceeded, []want{{ui.VerdictNeverSucceeded, "BackupSession demo/initial", "metadata.creationTimestamp", time.Minute}}},
		{"never succeeded outranks overdue", func(s *sources) { s.runs = []*kubestash.BackupSession{run("s", "full", "Skipped", 2*h)} },
			30 * 24 * h, ui.VerdictHealthy, ui.VerdictNeverSucceeded, []want{{ui.ReasonSkipped, "BackupSession demo/s", "status.phase", 0}}},
		{"a Repository's lastBackupTime is a success", func(s *sources) {
			s.v.Repositories[0].LastSuccessfulBackupTime = &metav1.Time{Time: t0.Add(-time.Hour)}
		}, time.Hour, ui.VerdictHealthy, ui.VerdictHealthy, []want{{ui.VerdictOverdue, "BackupConfiguration demo/bc", "spec.sessions[0].scheduler.schedule", 7 * h}}},
		{"overdue", func(s *sources) { s.runs = []*kubestash.BackupSession{succeeded()} }, 10*h + time.Minute, ui.VerdictHealthy, ui.VerdictOverdue,
			[]want{{ui.VerdictOverdue, "BackupConfiguration demo/bc", "spec.sessions[0].scheduler.schedule", 10*h + time.Minute}}},
		{"no schedule parses: nothing is due", func(s *sources) { s.bc.Sessions[0].Schedule = "sometimes" }, 300 * 24 * h, ui.VerdictHealthy, ui.VerdictHealthy, nil},
	}
	// Reason types that must not be there.
	absent := map[string][]string{
		"a storage the view may not show is not judged":                 []string{ui.VerdictInvalid},
		"paused: no schedule-based reasons":                             []string{ui.VerdictNeverSucceeded, ui.VerdictOverdue},
		"a failure followed by a success is not failing":                []string{ui.VerdictFailing},
		"a session the BackupConfiguration no longer has is not judged": []string{ui.VerdictFailing, ui.ReasonSkipped},
		"an older skipped run is history":                               []string{ui.ReasonSkipped},
		"a run without deadline or timeout is never stuck":              []string{ui.VerdictStuck},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := healthy()
			tc.change(s)
			got := Build(s.bc, s.runs, s.v)
			if got.Verdict != tc.stored {
				t.Errorf("stored verdict %s, want %s; reasons %+v", got.Verdict, tc.stored, got.Reasons)
			}
			if v := got.VerdictAt(t0.Add(tc.now)); v != tc.at {
				t.Errorf("At(t0+%s) = %s, want %s; reasons %+v", tc.now, v, tc.at, got.Reasons)
			}
			for _, w := range tc.want {
				if !hasReason(got.Reasons, w) {
					t.Errorf("no reason %+v in %+v", w, got.Reasons)
				}
			}
			for _, r := range got.Reasons {
				if slices.Contains(absent[tc.name], r.Type) {
					t.Errorf("unexpected reason %+v", r)
				}
			}
			checkReasons(t, &got, t0.Add(tc.now))
		})
	}
}

func hasReason(rs []ui.HealthReason, w want) bool {
	for _, r := range rs {
		o := r.Object.Kind + " " + r.Object.Namespace + "/" + r.Object.Name
		if r.Type == w.typ && o == w.object && r.Field == w.field && (r.After == nil) == (w.after == 0) && (r.After == nil || r.After.Time.Equal(t0.Add(w.after))) {
			return true
		}
	}
	return false
}

// checkReasons holds for any health: reasons are sorted by precedence, each names an object
// and a field and says something; clock-free types have no instant and clock-dependent ones
// have one; and a verdict other than Healthy at now has a reason of its type (Pending: a
// NeverSucceeded one still to come).
func checkReasons(t *testing.T, h *ui.Health, now time.Time) {
	t.Helper()
	for i, r := range h.Reasons {
		if r.Object.Kind == "" || r.Object.Name == "" || r.Object.Namespace == "" || r.Object.APIGroup == "" || r.Field == "" || r.Message == "" {
			t.Errorf("reason %+v does not name its object, field and finding", r)
		}
		clock := r.Type == ui.VerdictStuck || r.Type == ui.VerdictNeverSucceeded || r.Type == ui.VerdictOverdue
		if clock != (r.After != nil) {
			t.Errorf("reason %s: after %v", r.Type, r.After)
		}
		if i > 0 && ui.VerdictRank(h.Reasons[i-1].Type) > ui.VerdictRank(r.Type) {
			t.Errorf("reasons not in precedence order: %+v", h.Reasons)
		}
	}
	v := h.VerdictAt(now)
	if v == ui.VerdictHealthy {
		return
	}
	need := v
	if v == ui.VerdictPending {
		need = ui.VerdictNeverSucceeded
	}
	for _, r := range h.Reasons {
		if r.Type == need && (v != ui.VerdictPending) == (r.After == nil || !now.Before(r.After.Time)) {
			return
		}
	}
	t.Errorf("verdict %s at %s has no reason: %+v", v, now, h.Reasons)
}

// Precedence, one layer at a time: with everything wrong at once, removing the first cause
// reveals the next, down to Healthy.
func TestPrecedence(t *testing.T) {
	s := healthy()
	// No success ever; a failed run of session full and a stuck run of session other; an
	// Invalid, paused BackupConfiguration. Seen far after every instant.
	s.bc.Sessions = append(s.bc.Sessions, kubestash.Session{Name: "other", Schedule: "@daily"})
	s.bc.Phase, s.bc.Paused = "Invalid", true
	s.runs = []*kubestash.BackupSession{run("stuck", "other", "Running", 3*time.Hour, deadline(4*time.Hour)), run("failed", "full", "Failed", 2*time.Hour)}
	now := t0.Add(100 * 24 * time.Hour)
	steps := []struct {
		want string
		fix  func()
	}{
		{ui.VerdictInvalid, func() { s.bc.Phase = "Ready" }},
		{ui.VerdictPaused, func() { s.bc.Paused = false }},
		{ui.VerdictFailing, func() { s.runs = s.runs[:1] }},
		{ui.VerdictStuck, func() { s.runs = nil }},
		{ui.VerdictNeverSucceeded, func() { s.v.Repositories[0].LastSuccessfulBackupTime = &metav1.Time{Time: t0} }},
		{ui.VerdictOverdue, func() { now = t0.Add(time.Hour) }},
		{ui.VerdictHealthy, nil},
	}
	for _, st := range steps {
		h := Build(s.bc, s.runs, s.v)
		if got := h.VerdictAt(now); got != st.want {
			t.Fatalf("got %s, want %s; reasons %+v", got, st.want, h.Reasons)
		}
		checkReasons(t, &h, now)
		if st.fix != nil {
			st.fix()
		}
	}
	// Pending comes after Overdue and before Healthy: no success, before the first firing.
	s = healthy()
	h := Build(s.bc, nil, s.v)
	if got := h.VerdictAt(t0.Add(time.Minute)); got != ui.VerdictPending {
		t.Errorf("before the first firing: %s", got)
	}
}

func TestAtReadsTheStoredVerdict(t *testing.T) {
	now := t0
	for _, tc := range []struct {
		h    ui.Health
		want string
	}{
		{ui.Health{Verdict: ui.VerdictFailing}, ui.VerdictFailing},
		{ui.Health{}, ui.VerdictHealthy},
		{ui.Health{Verdict: ui.VerdictHealthy, Reasons: []ui.HealthReason{{Type: "SomethingNew"}, {Type: ui.ReasonSkipped}}}, ui.VerdictHealthy},
		{ui.Health{Verdict: ui.VerdictPaused, Reasons: []ui.HealthReason{{Type: ui.VerdictStuck, After: &metav1.Time{Time: now}}}}, ui.VerdictPaused},
		{ui.Health{Verdict: ui.VerdictHealthy, Reasons: []ui.HealthReason{{Type: ui.VerdictOverdue, After: &metav1.Time{Time: now}}, {Type: ui.VerdictNeverSucceeded, After: &metav1.Time{Time: now.Add(time.Second)}}}}, ui.VerdictOverdue},
	} {
		if got := tc.h.VerdictAt(now); got != tc.want {
			t.Errorf("At(%+v) = %s, want %s", tc.h, got, tc.want)
		}
	}
}

// The messages say what a person needs without the object: the missing object, the
// condition's message, the deadline.
func TestMessages(t *testing.T) {
	s := healthy()
	s.bc.Phase = "Invalid"
	s.bc.Conditions = []kubestash.Condition{{Type: "ValidationPassed", Status: "False", Message: `task "LogicalBackup" is not a backup task`}}
	s.v.BackupStorages[0].Found = false
	s.runs = []*kubestash.BackupSession{run("r", "full", "Running", time.Hour, deadline(2*time.Hour))}
	h := Build(s.bc, s.runs, s.v)
	var all []string
	for _, r := range h.Reasons {
		all = append(all, r.Message)
	}
	text := strings.Join(all, "\n")
	for _, w := range []string{`task "LogicalBackup" is not a backup task`, "BackupStorage kubestash/s3 not found", "2026-11-27T12:00:00Z", "no successful backup yet"} {
		if !strings.Contains(text, w) {
			t.Errorf("messages lack %q:\n%s", w, text)
		}
	}
}
