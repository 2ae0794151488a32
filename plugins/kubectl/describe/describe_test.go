package describe

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/kubestash/backupview/pkg/apis/ui/v1alpha1"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// now is the instant every case is described at.
var now = time.Date(2026, 12, 2, 4, 0, 0, 0, time.UTC)

func at(d time.Duration) *metav1.Time { return &metav1.Time{Time: now.Add(d)} }

// complete is a view with every panel filled: two sessions, runs of both (newest first), a
// Skipped newest run, a reason from an instant to come and one that holds already.
func complete() *v1alpha1.BackupConfigurationView {
	core := "core.kubestash.com"
	return &v1alpha1.BackupConfigurationView{
		ObjectMeta: metav1.ObjectMeta{Name: "mongodb-backup", Namespace: "demo", CreationTimestamp: *at(-30 * 24 * time.Hour),
			Labels:      map[string]string{"team": "databases", "app": "mongodb"},
			Annotations: map[string]string{"kubestash.com/managed-by": "console"}},
		Basic: v1alpha1.Basic{UID: "9a2382f2-7f1e-4a61-a5c5-3b0c5e2a91d0", Phase: "Ready",
			Conditions: []v1alpha1.Condition{{Type: "ValidationPassed", Status: "True", Reason: "ResourceValidationPassed", Message: "All validation\nhas passed", LastTransitionTime: at(-30 * 24 * time.Hour)}}},
		Sessions: []v1alpha1.Session{
			{Name: "full-backup", Schedule: "0 */4 * * *", NextSchedule: at(4 * time.Hour)},
			{Name: "manifest-backup", Schedule: "30 1 * * *"},
		},
		BackupSessions: []v1alpha1.BackupSessionRef{
			{Name: "mongodb-backup-full-backup-1795752000", Namespace: "demo", InvokerKind: "BackupConfiguration", InvokerName: "mongodb-backup", Session: "full-backup", Phase: "Running", CreationTimestamp: at(-10 * time.Minute)},
			{Name: "mongodb-backup-manifest-backup-1795750000", Namespace: "demo", InvokerKind: "BackupConfiguration", InvokerName: "mongodb-backup", Session: "manifest-backup", Phase: "Skipped", CreationTimestamp: at(-2 * time.Hour)},
			{Name: "mongodb-backup-full-backup-1795737600", Namespace: "demo", InvokerKind: "BackupConfiguration", InvokerName: "mongodb-backup", Session: "full-backup", Phase: "Succeeded", Duration: "49s", TotalSnapshots: ptr.To[int32](1), CreationTimestamp: at(-4 * time.Hour)},
		},
		RetentionPolicies: []v1alpha1.RetentionPolicyRef{
			{Name: "demo-retention", Namespace: "demo", Found: true, MaxRetentionPeriod: "2mo", Default: true, CreationTimestamp: at(-40 * 24 * time.Hour),
				Annotations: map[string]string{"note": "two months"}},
		},
		Target: v1alpha1.TargetRef{APIGroup: "kubedb.com", Kind: "MongoDB", Namespace: "demo", Name: "mongodb", Found: true, CreationTimestamp: at(-50 * 24 * time.Hour)},
		Repositories: []v1alpha1.RepositoryRef{{Name: "mongodb-repo", Namespace: "demo", Found: true, Size: "9.046 KiB", SnapshotCount: ptr.To[int32](4), Target: "MongoDB demo/mongodb", LastSuccessfulBackupTime: at(-4*time.Hour + 49*time.Second), Integrity: ptr.To(true), Phase: "Ready", CreationTimestamp: at(-30 * 24 * time.Hour),
			SnapshotsTotal: 4, Snapshots: []v1alpha1.SnapshotRef{
				{Name: "mongodb-repo-mongodb-backup-full-backup-1795752000", SnapshotTime: at(-4*time.Hour + 41*time.Second), Phase: "Failed", Size: "2.262 KiB", Integrity: ptr.To(false),
					Type: "FullBackup", VerificationStatus: "NotVerified", BackupSession: "mongodb-backup-full-backup-1795752000",
					FailedComponents: []v1alpha1.SnapshotComponentError{{Name: "dump", Error: "mongodump: connection refused"}}},
				{Name: "mongodb-repo-mongodb-backup-full-backup-1795737600", SnapshotTime: at(-8*time.Hour + 40*time.Second), Phase: "Succeeded", Size: "2.201 KiB", Integrity: ptr.To(true),
					Type: "FullBackup", VerificationStatus: "Verified", BackupSession: "mongodb-backup-full-backup-1795737600"},
			},
			Verification: &v1alpha1.RepositoryVerification{Verifier: v1alpha1.ObjectReference{Namespace: "demo", Name: "mongodb-verifier"}, Found: true,
				Type: "RestoreOnly", Schedule: "0 5 * * *", LastSuccessfulVerificationTime: at(-26 * time.Hour),
				LastSession: &v1alpha1.VerificationSessionRef{Name: "mongodb-backup-verify-1795755600", Phase: "Failed", CreationTimestamp: at(-2 * time.Hour),
					Duration: "40s", Snapshot: "mongodb-repo-mongodb-backup-full-backup-1795737600", Message: "query returned 0 documents"},
				LastVerifiedSnapshot: &v1alpha1.VerifiedSnapshotRef{Name: "mongodb-repo-mongodb-backup-full-backup-1795737600", SnapshotTime: at(-8*time.Hour + 40*time.Second)}}}},
		BackupStorages: []v1alpha1.BackupStorageRef{{Name: "s3-shared", Namespace: "kubestash", Found: true, Provider: "s3", Size: "1.376 GiB", ConnectedRepositories: 5, Phase: "Ready", CreationTimestamp: at(-90 * 24 * time.Hour)}},
		CronJobs: []v1alpha1.CronJobRef{
			{Name: "trigger-mongodb-backup-full-backup", Namespace: "demo", Session: "full-backup", Schedule: "0 */4 * * *", Active: 1, LastScheduleTime: at(-10 * time.Minute), CreationTimestamp: at(-30 * 24 * time.Hour),
				Annotations: map[string]string{"kubestash.com/invoker-name": "mongodb-backup", "kubestash.com/invoker-kind": "BackupConfiguration"}},
			{Name: "trigger-mongodb-backup-manifest-backup", Namespace: "demo", Session: "manifest-backup", Schedule: "30 1 * * *", Suspend: true, CreationTimestamp: at(-30 * 24 * time.Hour)},
		},
		Health: v1alpha1.Health{
			Verdict: "Healthy",
			Reasons: []v1alpha1.HealthReason{
				{Type: "Stuck", Object: v1alpha1.TypedObjectReference{APIGroup: core, Kind: "BackupSession", Namespace: "demo", Name: "mongodb-backup-full-backup-1795752000"},
					Field: "status.backupDeadline", Message: "the run is Running; its deadline is 2026-12-02T04:20:00Z", After: at(20 * time.Minute)},
				{Type: "Overdue", Object: v1alpha1.TypedObjectReference{APIGroup: core, Kind: "BackupConfiguration", Namespace: "demo", Name: "mongodb-backup"},
					Field: "spec.sessions[0].scheduler.schedule", Message: "last success at 2026-12-02T00:00:49Z; session full-backup fires at least every 4h0m0s", After: at(4*time.Hour + 49*time.Second)},
				{Type: "Skipped", Object: v1alpha1.TypedObjectReference{APIGroup: core, Kind: "BackupSession", Namespace: "demo", Name: "mongodb-backup-manifest-backup-1795750000"},
					Field: "status.phase", Message: "the newest run of session manifest-backup was Skipped"},
			},
			LastSuccessfulBackupTime: at(-4*time.Hour + 49*time.Second),
			LastSessionPhase:         "Running",
			NextScheduleTime:         at(4 * time.Hour),
			OverdueAfter:             at(4*time.Hour + 49*time.Second),
		},
	}
}

// broken is a view with nothing found: an Invalid verdict, a missing and a restricted
// reference, a target that is not there, and no runs or CronJobs.
func broken() *v1alpha1.BackupConfigurationView {
	return &v1alpha1.BackupConfigurationView{
		ObjectMeta: metav1.ObjectMeta{Name: "orders-db-backup", Namespace: "prod", CreationTimestamp: *at(-3 * time.Hour)},
		Basic:      v1alpha1.Basic{UID: "0f6c0d3e-1111-4c39-9d55-1e0b8d1a2b3c", Phase: "Invalid", Paused: true},
		Sessions:   []v1alpha1.Session{{Name: "daily", Schedule: "0 3 * * *"}},
		RetentionPolicies: []v1alpha1.RetentionPolicyRef{
			{Name: "orders-retention", Namespace: "prod"},
			{Name: "keep-1mo", Namespace: "kubestash", Restricted: "you cannot get retentionpolicies in namespace kubestash"},
		},
		Target:         v1alpha1.TargetRef{APIGroup: "kubedb.com", Kind: "MongoDB", Namespace: "prod", Name: "orders-db"},
		Repositories:   []v1alpha1.RepositoryRef{{Name: "orders-db-repo", Namespace: "prod"}},
		BackupStorages: []v1alpha1.BackupStorageRef{{Name: "s3-shared", Namespace: "kubestash", Restricted: "you cannot get backupstorages in namespace kubestash"}},
		Health: v1alpha1.Health{
			Verdict: "Invalid",
			Reasons: []v1alpha1.HealthReason{
				{Type: "Invalid", Object: v1alpha1.TypedObjectReference{APIGroup: "core.kubestash.com", Kind: "BackupConfiguration", Namespace: "prod", Name: "orders-db-backup"},
					Field: "spec.backends[0].retentionPolicy", Message: "RetentionPolicy prod/orders-retention not found"},
				{Type: "Paused", Object: v1alpha1.TypedObjectReference{APIGroup: "core.kubestash.com", Kind: "BackupConfiguration", Namespace: "prod", Name: "orders-db-backup"},
					Field: "spec.paused", Message: "the BackupConfiguration is paused"},
			},
		},
	}
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	file := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (run go test ./plugins/kubectl/describe -update to write it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (go test ./plugins/kubectl/describe -update rewrites it); got:\n%s", file, got)
	}
}

func describe(t *testing.T, views ...*v1alpha1.BackupConfigurationView) string {
	t.Helper()
	var list []v1alpha1.BackupConfigurationView
	for _, v := range views {
		list = append(list, *v)
	}
	var b bytes.Buffer
	if err := Views(&b, list, now); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestComplete(t *testing.T) {
	got := describe(t, complete())
	golden(t, "complete.txt", got)
	// What the golden file must show, whatever it is rewritten to.
	for _, want := range []string{
		"Health:   Healthy\n", // Stuck holds only in 20 minutes, Overdue later still
		"Stuck     in 20m",
		"Skipped   always",
		"Next Run:        2026-12-02T08:00:00Z (in 4h)",
		"Labels:        app=mongodb\n                 team=databases\n", // kubectl describe's layout
		"mongodb-backup-full-backup-1795737600       demo        BackupConfiguration   mongodb-backup   full-backup       1                 Succeeded   49s        4h",
		"All validation has passed", // one line
		"LAST-SUCCESSFUL-BACKUP", "3h59m ago", "TRUE",
		"NO. OF CONNECTED REPOSITORIES",
		"kubestash.com/invoker-kind=BackupConfiguration,kubestash.com/invoker-name=mongodb-backup",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	// Panels in the console's order, the verdict first.
	last := -1
	for _, panel := range []string{"Health:", "  Reasons:", "Basic:", "Sessions:", "Backup Sessions:", "Retention Policies:", "Target:", "Repository:", "BackupStorage:", "CronJobs:"} {
		i := strings.Index("\n"+got, "\n"+panel+"\n")
		if panel == "Health:" {
			i = strings.Index(got, panel)
		}
		if i <= last {
			t.Errorf("panel %q is not after the one before it", panel)
		}
		last = i
	}
	// Newest run first, as the view orders them.
	if strings.Index(got, "1795752000") > strings.Index(got, "1795737600") {
		t.Error("backup sessions are not newest first")
	}
}

// TestVerdictAtNow: the verdict is read at the given instant (package health's At), not the
// stored clock-free one.
func TestVerdictAtNow(t *testing.T) {
	v := complete()
	for _, c := range []struct {
		at   time.Duration
		want string
	}{{0, "Healthy"}, {30 * time.Minute, "Stuck"}} {
		var b bytes.Buffer
		if err := View(&b, v, now.Add(c.at)); err != nil {
			t.Fatal(err)
		}
		if first, _, _ := strings.Cut(b.String(), "\n"); first != "Health:   "+c.want {
			t.Errorf("at now+%s: first line %q, want the verdict %s", c.at, first, c.want)
		}
	}
}

func TestBroken(t *testing.T) {
	got := describe(t, broken())
	golden(t, "broken.txt", got)
	for _, want := range []string{
		"Health:   Invalid\n",
		"Target:\n  No data available (MongoDB prod/orders-db not found)\n",
		"orders-retention   prod        <not found>\n",
		"keep-1mo           kubestash   <restricted>\n",
		"(kubestash/keep-1mo: you cannot get retentionpolicies in namespace kubestash)",
		"(kubestash/s3-shared: you cannot get backupstorages in namespace kubestash)",
		"Backup Sessions:\n  <none>\n",
		"CronJobs:\n  <none>\n",
		"Next Run:        <none>", // paused
	} {
		if !strings.Contains(got, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
}

// TestSeveral: views follow each other, separated by a blank line, in the given order.
func TestSeveral(t *testing.T) {
	got := describe(t, broken(), complete())
	one, two := describe(t, broken()), describe(t, complete())
	if got != one+"\n"+two {
		t.Errorf("two views are not the pages one after the other:\n%s", got)
	}
	for _, line := range strings.Split(got, "\n") {
		if strings.TrimRight(line, " ") != line {
			t.Errorf("trailing spaces in %q", line)
		}
	}
}
