package join

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ui "github.com/kubestash/backupview/pkg/apis/ui/v1alpha1"
	"github.com/kubestash/backupview/pkg/kubestash"
)

// fake is an in-memory Lookup.
type fake struct {
	sessions map[string][]*kubestash.BackupSession
	crons    map[string][]*kubestash.CronJob // by "<namespace>/<bc uid>"
	repos    map[string]*kubestash.Repository
	storages map[string]*kubestash.BackupStorage
	policies map[string]*kubestash.RetentionPolicy
	targets  map[string]*kubestash.Object
	snaps    map[string][]*kubestash.Snapshot // by "<namespace>/<repository>"
	verifier map[string]*kubestash.BackupVerifier
	verifies map[string][]*kubestash.BackupVerificationSession // by BackupConfiguration key
}

func (f *fake) BackupVerifier(ns, n string) *kubestash.BackupVerifier { return f.verifier[ns+"/"+n] }
func (f *fake) VerificationSessions(k string) ([]*kubestash.BackupVerificationSession, bool) {
	return f.verifies[k], true
}

func (f *fake) Snapshots(ns, repo string) ([]*kubestash.Snapshot, bool) {
	return f.snaps[ns+"/"+repo], true
}

func (f *fake) BackupSessions(k string) []*kubestash.BackupSession { return f.sessions[k] }
func (f *fake) CronJobs(ns, uid string) []*kubestash.CronJob       { return f.crons[ns+"/"+uid] }
func (f *fake) Repository(ns, n string) *kubestash.Repository      { return f.repos[ns+"/"+n] }
func (f *fake) BackupStorage(ns, n string) *kubestash.BackupStorage {
	return f.storages[ns+"/"+n]
}
func (f *fake) RetentionPolicy(ns, n string) *kubestash.RetentionPolicy { return f.policies[ns+"/"+n] }
func (f *fake) Target(t kubestash.TypedRef) (*kubestash.Object, bool) {
	o := f.targets[t.Kind+"/"+t.Namespace+"/"+t.Name]
	return o, true
}

var t0 = time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)

func meta(ns, name, rv string, created time.Time) kubestash.Meta {
	return kubestash.Meta{Namespace: ns, Name: name, ResourceVersion: rv, CreationTimestamp: metav1.NewTime(created)}
}

func bc() *kubestash.BackupConfiguration {
	m := meta("prod", "pg", "10", t0.Add(-72*time.Hour))
	return &kubestash.BackupConfiguration{
		Meta: m, UID: "bc-uid",
		Target: &kubestash.TypedRef{APIGroup: "kubedb.com", Kind: "Postgres", Namespace: "prod", Name: "pg"},
		Backends: []kubestash.Backend{
			{Name: "s3", StorageRef: &kubestash.Ref{Namespace: "kubestash", Name: "s3"}, RetentionPolicy: &kubestash.Ref{Name: "keep"}},
			{Name: "gcs", StorageRef: &kubestash.Ref{Name: "gcs"}, RetentionPolicy: &kubestash.Ref{Name: "missing"}},
			{Name: "dup", StorageRef: &kubestash.Ref{Namespace: "kubestash", Name: "s3"}, RetentionPolicy: &kubestash.Ref{Namespace: "prod", Name: "keep"}},
		},
		Sessions: []kubestash.Session{
			{Name: "full-backup", Schedule: "0 */6 * * *", Addon: "postgres-addon", Tasks: []string{"logical-backup"}, Repositories: []string{"s3-repo", "gcs-repo"}, NextSchedule: "2026-11-27T12:00:00Z"},
			{Name: "manifest-backup", Schedule: "@daily", Addon: "postgres-addon", Tasks: []string{"manifest-backup"}, Repositories: []string{"s3-repo"}, NextSchedule: "2026-11-28T00:00:00Z"},
		},
	}
}

func lookup() *fake {
	i32 := func(i int32) *int32 { return &i }
	return &fake{
		sessions: map[string][]*kubestash.BackupSession{"prod/pg": {
			{Meta: meta("prod", "pg-full-1", "20", t0.Add(-2*time.Hour)), Invoker: kubestash.InvokerOf("", "BackupConfiguration"), InvokerName: "pg", Session: "full-backup", Phase: "Succeeded", Duration: "1m30s", TotalSnapshots: i32(2)},
			{Meta: meta("prod", "pg-full-2", "25", t0.Add(-10*time.Minute)), Invoker: kubestash.InvokerOf("", "BackupConfiguration"), InvokerName: "pg", Session: "full-backup", Phase: "Running"},
			{Meta: meta("prod", "pg-manifest-1", "15", t0.Add(-5*time.Hour)), Invoker: kubestash.InvokerOf("", "BackupConfiguration"), InvokerName: "pg", Session: "manifest-backup", Phase: "Failed", Duration: "3s"},
		}},
		crons: map[string][]*kubestash.CronJob{"prod/bc-uid": {
			{Meta: meta("prod", "trigger-pg-manifest-backup", "30", t0), Schedule: "@daily"},
			{Meta: meta("prod", "trigger-pg-full-backup", "31", t0), Schedule: "0 */6 * * *", Suspend: true, Active: 1},
		}},
		repos: map[string]*kubestash.Repository{
			"prod/s3-repo": {Meta: meta("prod", "s3-repo", "40", t0), AppRef: &kubestash.TypedRef{Kind: "Postgres", Namespace: "prod", Name: "pg"}, Size: "1 GiB",
				LastBackupTime: &metav1.Time{Time: t0.Add(-3 * time.Hour)}},
		},
		storages: map[string]*kubestash.BackupStorage{
			"kubestash/s3": {Meta: meta("kubestash", "s3", "50", t0), Provider: "s3", Repositories: 3, Phase: "Ready"},
			"prod/gcs":     {Meta: meta("prod", "gcs", "5", t0), Provider: "gcs"},
		},
		policies: map[string]*kubestash.RetentionPolicy{"prod/keep": {Meta: meta("prod", "keep", "7", t0), MaxRetentionPeriod: "30d"}},
		targets:  map[string]*kubestash.Object{"Postgres/prod/pg": {Meta: meta("prod", "pg", "8", t0)}},
	}
}

func TestBuild(t *testing.T) {
	v, rv := Build(bc(), lookup(), Options{})
	if rv != 50 {
		t.Errorf("rv = %d, want the highest source version 50", rv)
	}
	if v.UID == "bc-uid" || v.UID != ViewUID("bc-uid") || v.Basic.UID != "bc-uid" {
		t.Errorf("uids: view %q basic %q", v.UID, v.Basic.UID)
	}
	s := v.Summary
	if s.Schedule != "0 */6 * * *, @daily" || s.Repository != "s3-repo, gcs-repo, s3-repo" || s.Task != "logical-backup, manifest-backup" {
		t.Errorf("summary = %+v", s)
	}
	if s.BackupStorage != "kubestash/s3, prod/gcs, kubestash/s3" || s.RetentionPolicy != "prod/keep, prod/missing, prod/keep" || s.Target != "Postgres prod/pg" {
		t.Errorf("summary refs = %+v", s)
	}
	// Sessions newest first.
	var names []string
	for _, x := range v.BackupSessions {
		names = append(names, x.Name)
	}
	if got := join(names); got != "pg-full-2,pg-full-1,pg-manifest-1" {
		t.Errorf("session order = %s", got)
	}
	// Each referenced policy and storage once, missing ones with found=false, sorted.
	if len(v.RetentionPolicies) != 2 || v.RetentionPolicies[0].Name != "keep" || !v.RetentionPolicies[0].Found ||
		v.RetentionPolicies[1].Name != "missing" || v.RetentionPolicies[1].Found || v.RetentionPolicies[1].Namespace != "prod" {
		t.Errorf("policies = %+v", v.RetentionPolicies)
	}
	if len(v.BackupStorages) != 2 || v.BackupStorages[0].Namespace != "kubestash" || v.BackupStorages[0].ConnectedRepositories != 3 ||
		v.BackupStorages[1].Name != "gcs" || v.BackupStorages[1].ConnectedRepositories != 0 || !v.BackupStorages[1].Found {
		t.Errorf("storages = %+v", v.BackupStorages)
	}
	if len(v.Repositories) != 2 || v.Repositories[0].Name != "gcs-repo" || v.Repositories[0].Found || v.Repositories[1].Target != "Postgres prod/pg" {
		t.Errorf("repositories = %+v", v.Repositories)
	}
	if !v.Target.Found || v.Target.CreationTimestamp == nil {
		t.Errorf("target = %+v", v.Target)
	}
	if len(v.CronJobs) != 2 || v.CronJobs[0].Session != "full-backup" || !v.CronJobs[0].Suspend || v.CronJobs[1].Session != "manifest-backup" {
		t.Errorf("cronJobs = %+v", v.CronJobs)
	}
	h := v.Health
	// Newest success: pg-full-1 ended at -2h+1m30s, newer than the repository's -3h.
	if h.LastSuccessfulBackupTime == nil || !h.LastSuccessfulBackupTime.Time.Equal(t0.Add(-2*time.Hour+90*time.Second)) {
		t.Errorf("lastSuccess = %v", h.LastSuccessfulBackupTime)
	}
	if h.LastSessionPhase != "Running" || h.NextScheduleTime == nil || !h.NextScheduleTime.Time.Equal(t0.Add(2*time.Hour)) {
		t.Errorf("health = %+v", h)
	}
	// Shortest interval is 6h, so overdue 12h after the last success.
	if h.OverdueAfter == nil || !h.OverdueAfter.Time.Equal(h.LastSuccessfulBackupTime.Add(12*time.Hour)) {
		t.Errorf("overdueAfter = %v", h.OverdueAfter)
	}
	// The verdict comes from package health, fed the sessions newest first: the missing
	// policy and repository make it Invalid; manifest-backup's newest finished run failed.
	var reasons []string
	for _, r := range h.Reasons {
		reasons = append(reasons, r.Type+" "+r.Object.Kind+" "+r.Object.Name+" "+r.Field)
	}
	want := "Invalid BackupConfiguration pg spec.backends[1].retentionPolicy,Invalid BackupConfiguration pg spec.sessions[0].repositories[1].name," +
		"Failing BackupSession pg-manifest-1 status.phase,Overdue BackupConfiguration pg spec.sessions[0].scheduler.schedule"
	if h.Verdict != "Invalid" || join(reasons) != want {
		t.Errorf("verdict %s, reasons:\n%s\nwant\n%s", h.Verdict, join(reasons), want)
	}
	// The sessions, in spec order, with KubeStash's next schedule.
	if len(v.Sessions) != 2 || v.Sessions[0].Name != "full-backup" || v.Sessions[0].Schedule != "0 */6 * * *" ||
		v.Sessions[0].NextSchedule == nil || !v.Sessions[0].NextSchedule.Time.Equal(t0.Add(2*time.Hour)) || v.Sessions[1].Name != "manifest-backup" {
		t.Errorf("sessions = %+v", v.Sessions)
	}
}

func join(s []string) string {
	out := ""
	for i, x := range s {
		if i > 0 {
			out += ","
		}
		out += x
	}
	return out
}

func TestSessionsWithEqualCreationTimeOrderByTriggerTime(t *testing.T) {
	l := &fake{sessions: map[string][]*kubestash.BackupSession{"prod/pg": {
		{Meta: meta("prod", "pg-manifest-backup-1795743000", "1", t0)},
		{Meta: meta("prod", "pg-full-backup-1795759200", "2", t0)},
		{Meta: meta("prod", "pg-full-backup-1795752729", "3", t0)},
	}}}
	v, _ := Build(bc(), l, Options{})
	var names []string
	for _, s := range v.BackupSessions {
		names = append(names, s.Name)
	}
	if got := join(names); got != "pg-full-backup-1795759200,pg-full-backup-1795752729,pg-manifest-backup-1795743000" {
		t.Errorf("order = %s", got)
	}
}

func TestBuildIsDeterministic(t *testing.T) {
	a, _ := Build(bc(), lookup(), Options{})
	b, _ := Build(bc(), lookup(), Options{})
	if a.Summary != b.Summary || len(a.BackupSessions) != len(b.BackupSessions) || a.Health.OverdueAfter.String() != b.Health.OverdueAfter.String() {
		t.Error("two builds of the same sources differ")
	}
}

func TestHealthEdgeCases(t *testing.T) {
	// Paused: no overdue threshold.
	p := bc()
	p.Paused = true
	if v, _ := Build(p, lookup(), Options{}); v.Health.OverdueAfter != nil {
		t.Errorf("paused BC has overdueAfter %v", v.Health.OverdueAfter)
	}
	// No success at all: the threshold counts from creation.
	empty := &fake{}
	v, _ := Build(bc(), empty, Options{})
	if v.Health.LastSuccessfulBackupTime != nil || v.Health.OverdueAfter == nil || !v.Health.OverdueAfter.Time.Equal(t0.Add(-72*time.Hour+12*time.Hour)) {
		t.Errorf("no-success health = %+v", v.Health)
	}
	// No parsable schedule: no threshold.
	b := bc()
	for i := range b.Sessions {
		b.Sessions[i].Schedule = "not a cron"
	}
	if v, _ := Build(b, empty, Options{}); v.Health.OverdueAfter != nil {
		t.Errorf("unparsable schedule gives overdueAfter %v", v.Health.OverdueAfter)
	}
	// Missing target, empty target, and a BC with nothing at all never panic.
	b = bc()
	b.Target.Name = "gone"
	if v, _ := Build(b, lookup(), Options{}); v.Target.Found {
		t.Error("deleted target found")
	}
	if v, _ := Build(&kubestash.BackupConfiguration{Meta: meta("x", "y", "", time.Time{})}, empty, Options{}); v.Target.Found || v.Health.OverdueAfter != nil {
		t.Errorf("empty BC view = %+v", v)
	}
}

func TestCronJobSession(t *testing.T) {
	b := &kubestash.BackupConfiguration{Meta: kubestash.Meta{Name: "inventory-service-mongodb-replicaset-nightly-backup"},
		Sessions: []kubestash.Session{{Name: "full"}, {Name: "nightly-full"}}}
	cases := map[string]string{
		"trigger-inventory-service-mongodb-replicaset-nightly-backup-full": "full",
		"trigger-inventory-service-ghtly-backup-nightly-full":              "nightly-full", // shortened: longest suffix wins
		"something-else": "",
	}
	for name, want := range cases {
		if got := CronJobSession(b, name); got != want {
			t.Errorf("CronJobSession(%q) = %q, want %q", name, got, want)
		}
	}
}

// A view's repository shows its newest Snapshots, newest first and at most
// SnapshotsPerRepository of them, with the total and the failed components; the newest one
// failed, or failed its integrity check, makes the view Failing and names it.
func TestSnapshots(t *testing.T) {
	l := lookup()
	no := false
	snap := func(name, phase string, at time.Duration) *kubestash.Snapshot {
		return &kubestash.Snapshot{Meta: meta("prod", name, "90", t0), Repository: "s3-repo", Phase: phase, Type: "FullBackup",
			SnapshotTime: &metav1.Time{Time: t0.Add(at)}, VerificationStatus: "Verified", BackupSession: "pg-" + name}
	}
	newest := snap("s3", "Failed", -time.Hour)
	newest.Components = []kubestash.SnapshotComponent{{Name: "dump", Phase: "Failed", Error: "exit status 1"}, {Name: "manifest", Phase: "Succeeded"}}
	l.snaps = map[string][]*kubestash.Snapshot{"prod/s3-repo": {snap("s1", "Succeeded", -3*time.Hour), newest, snap("s2", "Succeeded", -2*time.Hour)}}
	v, rv := Build(bc(), l, Options{SnapshotsPerRepository: 2})
	repo := func(v *ui.BackupConfigurationView) ui.RepositoryRef {
		for _, r := range v.Repositories {
			if r.Name == "s3-repo" {
				return r
			}
		}
		t.Fatalf("no s3-repo in %+v", v.Repositories)
		return ui.RepositoryRef{}
	}
	r := repo(v)
	var names []string
	for _, s := range r.Snapshots {
		names = append(names, s.Name)
	}
	if strings.Join(names, ",") != "s3,s2" || r.SnapshotsTotal != 3 || rv < 90 {
		t.Fatalf("snapshots %v of %d (rv %d), want s3,s2 of 3 (rv >= 90)", names, r.SnapshotsTotal, rv)
	}
	if f := r.Snapshots[0].FailedComponents; len(f) != 1 || f[0] != (ui.SnapshotComponentError{Name: "dump", Error: "exit status 1"}) || r.Snapshots[0].BackupSession != "pg-s3" {
		t.Errorf("newest: %+v", r.Snapshots[0])
	}
	reason := func(v *ui.BackupConfigurationView) *ui.HealthReason {
		for i := range v.Health.Reasons {
			if v.Health.Reasons[i].Object.Kind == "Snapshot" {
				return &v.Health.Reasons[i]
			}
		}
		return nil
	}
	if got := reason(v); got == nil || got.Type != ui.VerdictFailing || got.Object.Name != "s3" || got.Field != "status.phase" ||
		!strings.Contains(got.Message, "component dump: exit status 1") {
		t.Errorf("verdict %s, reason %+v", v.Health.Verdict, got)
	}
	// The newest Succeeded but with integrity false.
	newest.Phase, newest.Components, newest.Integrity = "Succeeded", nil, &no
	if got := reason(must(Build(bc(), l, Options{}))); got == nil || got.Field != "status.integrity" {
		t.Errorf("integrity: %+v", got)
	}
	// An older Snapshot failing says nothing of the data a restore would start from.
	newest.Integrity = nil
	l.snaps["prod/s3-repo"][0].Phase = "Failed"
	if got := reason(must(Build(bc(), l, Options{}))); got != nil {
		t.Errorf("an older failed Snapshot gave %+v", got)
	}
	if v, _ := Build(bc(), l, Options{}); len(repo(v).Snapshots) != 3 {
		t.Errorf("default limit: %d snapshots", len(repo(v).Snapshots))
	}
}

func must(v *ui.BackupConfigurationView, _ uint64) *ui.BackupConfigurationView { return v }

// A Repository with a BackupVerifier shows the verifier, its newest verification, the end of
// the newest successful one and the newest Verified Snapshot; the newest verification Failed
// makes the view VerificationFailing, and so does, from its instant, no success within twice
// the verifier's schedule.
func TestVerification(t *testing.T) {
	b := bc()
	b.Sessions[0].Verifiers = []kubestash.RepositoryVerifier{{Repository: "s3-repo", Verifier: kubestash.Ref{Name: "pg-verifier"}}}
	l := lookup()
	l.snaps = map[string][]*kubestash.Snapshot{"prod/s3-repo": {
		{Meta: meta("prod", "s-new", "91", t0), Repository: "s3-repo", Phase: "Succeeded", SnapshotTime: &metav1.Time{Time: t0.Add(-time.Hour)}, VerificationStatus: "NotVerified"},
		{Meta: meta("prod", "s-old", "92", t0), Repository: "s3-repo", Phase: "Succeeded", SnapshotTime: &metav1.Time{Time: t0.Add(-7 * time.Hour)}, VerificationStatus: "Verified"},
	}}
	l.verifier = map[string]*kubestash.BackupVerifier{"prod/pg-verifier": {Meta: meta("prod", "pg-verifier", "93", t0), Type: "RestoreOnly", Schedule: "0 */6 * * *"}}
	vs := func(name, phase string, at time.Duration, repo string) *kubestash.BackupVerificationSession {
		return &kubestash.BackupVerificationSession{Meta: meta("prod", name, "94", t0.Add(at)), Invoker: "pg", Repository: repo, Snapshot: "s-old", Phase: phase, Duration: "2m"}
	}
	failed := vs("v3", "Failed", -time.Hour, "s3-repo")
	failed.Message = "restore failed: exit status 1"
	l.verifies = map[string][]*kubestash.BackupVerificationSession{"prod/pg": {
		vs("v1", "Succeeded", -7*time.Hour, "s3-repo"), failed, vs("v2", "Succeeded", -3*time.Hour, "s3-repo"), vs("g1", "Failed", 0, "gcs-repo"),
	}}
	v, rv := Build(b, l, Options{})
	var got *ui.RepositoryVerification
	for _, r := range v.Repositories {
		switch r.Name {
		case "s3-repo":
			got = r.Verification
		default:
			if r.Verification != nil {
				t.Errorf("%s has a verification without a verifier: %+v", r.Name, r.Verification)
			}
		}
	}
	if got == nil || !got.Found || got.Type != "RestoreOnly" || got.Schedule != "0 */6 * * *" || got.Verifier != (ui.ObjectReference{Namespace: "prod", Name: "pg-verifier"}) {
		t.Fatalf("verification %+v", got)
	}
	if s := got.LastSession; s == nil || s.Name != "v3" || s.Phase != "Failed" || s.Snapshot != "s-old" || s.Message != failed.Message {
		t.Errorf("last session %+v", s)
	}
	if tm := got.LastSuccessfulVerificationTime; tm == nil || !tm.Equal(&metav1.Time{Time: t0.Add(-3*time.Hour + 2*time.Minute)}) {
		t.Errorf("last success %v, want v2's end", tm)
	}
	if s := got.LastVerifiedSnapshot; s == nil || s.Name != "s-old" {
		t.Errorf("last verified snapshot %+v", s)
	}
	if rv < 94 {
		t.Errorf("rv %d does not cover the verifier and sessions", rv)
	}
	reasons := func(v *ui.BackupConfigurationView) (out []ui.HealthReason) {
		for _, r := range v.Health.Reasons {
			if r.Type == ui.VerdictVerificationFailing {
				out = append(out, r)
			}
		}
		return out
	}
	rs := reasons(v)
	if len(rs) != 2 || rs[0].Object.Kind != "BackupVerificationSession" || rs[0].Object.Name != "v3" || rs[0].After != nil ||
		!strings.Contains(rs[0].Message, "Snapshot s-old") || !strings.Contains(rs[0].Message, failed.Message) {
		t.Fatalf("reasons %+v", rs)
	}
	// Overdue from v2's end plus twice six hours.
	if r := rs[1]; r.Object.Kind != "BackupVerifier" || r.Field != "spec.scheduler.schedule" || r.After == nil ||
		!r.After.Equal(&metav1.Time{Time: t0.Add(-3*time.Hour + 2*time.Minute + 12*time.Hour)}) {
		t.Errorf("overdue reason %+v", r)
	}
	// Only a Failed newest verification counts: a success after it clears the reason.
	l.verifies["prod/pg"] = append(l.verifies["prod/pg"], vs("v4", "Succeeded", -time.Minute, "s3-repo"))
	if rs := reasons(must(Build(b, l, Options{}))); len(rs) != 1 || rs[0].After == nil {
		t.Errorf("after a newer success: %+v", rs)
	}
	// Without a verifier object there is nothing to be overdue against, and Found says so.
	delete(l.verifier, "prod/pg-verifier")
	v = must(Build(b, l, Options{}))
	if rs := reasons(v); len(rs) != 0 || v.Repositories[1].Verification.Found {
		t.Errorf("without the verifier: %+v, %+v", rs, v.Repositories[1].Verification)
	}
}
