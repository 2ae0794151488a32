package join

import (
	"fmt"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kubestash/backupview/pkg/kubestash"
)

// BenchView is a realistic BackupConfiguration and its lookups, shaped like the scale
// benchmark's (cmd/backupview-scale): two sessions, ten BackupSessions, one repository,
// storage, policy and target, two trigger CronJobs.
func benchView(sessions int) (*kubestash.BackupConfiguration, Lookup) {
	m := meta("team-0001", "db-00011-backup", "1000", t0.Add(-7*24*time.Hour))
	uid := types.UID("0b8a3c55-6f7e-4f43-9c1e-0d2a7d7f0011")
	labels := map[string]string{"app.kubernetes.io/name": "backupconfigurations.core.kubestash.com", "app.kubernetes.io/instance": "db-00011-backup",
		"app.kubernetes.io/managed-by": "Helm", "team": "team-4", "env": "staging"}
	annotations := map[string]string{"meta.helm.sh/release-name": "db-00011-backup", "meta.helm.sh/release-namespace": "team-0001"}
	bc := &kubestash.BackupConfiguration{
		Meta: m, UID: uid, Labels: labels, Annotations: annotations,
		Target:   &kubestash.TypedRef{APIGroup: "kubedb.com", Kind: "Postgres", Namespace: "team-0001", Name: "db-00011"},
		Backends: []kubestash.Backend{{Name: "default-backend", StorageRef: &kubestash.Ref{Namespace: "kubestash", Name: "s3-11"}, RetentionPolicy: &kubestash.Ref{Namespace: "kubestash", Name: "keep-11"}}},
		Sessions: []kubestash.Session{
			{Name: "full-backup", Schedule: "0 */4 * * *", Addon: "postgres-addon", Tasks: []string{"logical-backup"}, Repositories: []string{"db-00011-repo"}, NextSchedule: "2026-11-27T08:00:00Z"},
			{Name: "manifest-backup", Schedule: "30 1 * * *", Addon: "postgres-addon", Tasks: []string{"manifest-backup"}, Repositories: []string{"db-00011-repo"}, NextSchedule: "2026-11-27T09:00:00Z"},
		},
		Phase:      "Ready",
		Conditions: []kubestash.Condition{{Type: "ValidationPassed", Status: "True", Reason: "ResourceValidationPassed", Message: "Resource validation passed."}},
	}
	i32 := int32(1)
	f := &fake{sessions: map[string][]*kubestash.BackupSession{}, crons: map[string][]*kubestash.CronJob{},
		repos:    map[string]*kubestash.Repository{"team-0001/db-00011-repo": {Meta: meta("team-0001", "db-00011-repo", "1001", t0), AppRef: bc.Target, Size: "12.204 MiB", SnapshotCount: &i32, LastBackupTime: &metav1.Time{Time: t0}}},
		storages: map[string]*kubestash.BackupStorage{"kubestash/s3-11": {Meta: meta("kubestash", "s3-11", "17", t0), Provider: "s3", Repositories: 500, Phase: "Ready"}},
		policies: map[string]*kubestash.RetentionPolicy{"kubestash/keep-11": {Meta: meta("kubestash", "keep-11", "18", t0), MaxRetentionPeriod: "3mo"}},
		targets:  map[string]*kubestash.Object{"Postgres/team-0001/db-00011": {Meta: meta("team-0001", "db-00011", "1002", t0)}},
	}
	for k := 0; k < sessions; k++ {
		trigger := t0.Add(-time.Duration(sessions-1-k) * 4 * time.Hour)
		s := bc.Sessions[k%2].Name
		f.sessions["team-0001/db-00011-backup"] = append(f.sessions["team-0001/db-00011-backup"], &kubestash.BackupSession{
			Meta:    meta("team-0001", fmt.Sprintf("db-00011-backup-%s-%d", s, trigger.Unix()), fmt.Sprint(2000+k), trigger),
			Invoker: kubestash.InvokerOf("", "BackupConfiguration"), InvokerName: "db-00011-backup", Session: s, Phase: "Succeeded", Duration: "2m11s", TotalSnapshots: &i32,
		})
	}
	for _, s := range bc.Sessions {
		f.crons[bc.Namespace+"/"+string(bc.UID)] = append(f.crons[bc.Namespace+"/"+string(bc.UID)], &kubestash.CronJob{Meta: meta("team-0001", "trigger-db-00011-backup-"+s.Name, "1003", t0), Schedule: s.Schedule})
	}
	return bc, f
}

// BenchmarkBuild is the join of one view: what every source change costs per affected view.
func BenchmarkBuild(b *testing.B) {
	bc, l := benchView(10)
	b.ReportAllocs()
	for b.Loop() {
		Build(bc, l, Options{})
	}
}

// BenchmarkBuildDistinctTimes joins views whose newest success differs (so nothing that is
// keyed by time can be reused between them), as at start-up.
func BenchmarkBuildDistinctTimes(b *testing.B) {
	bc, l := benchView(10)
	f := l.(*fake)
	sessions := f.sessions["team-0001/db-00011-backup"]
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		sessions[len(sessions)-1].CreationTimestamp = metav1.NewTime(t0.Add(time.Duration(i) * time.Second))
		Build(bc, l, Options{})
	}
}

// BenchmarkViewUID is the derived UID alone.
func BenchmarkViewUID(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		ViewUID(types.UID("0b8a3c55-6f7e-4f43-9c1e-0d2a7d7f0011"))
	}
}

// BenchmarkBuild5000Sessions joins a BackupConfiguration with 5,000 spec.sessions of distinct
// schedules, a shared BackupStorage, and a repository, BackupSession and CronJob per session:
// every part of the join is at most n log n in the number of sessions.
func BenchmarkBuild5000Sessions(b *testing.B) {
	bc, l := manySessions(5000)
	b.ReportAllocs()
	for b.Loop() {
		Build(bc, l, Options{})
	}
}
