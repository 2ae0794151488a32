package backupconfigurationview

import (
	"context"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/duration"

	ui "github.com/kubestash/backupview/pkg/apis/ui/v1alpha1"
)

// Columns: the console's list page with HEALTH, the column operators scan for, then
// (priority 1, -o wide) the details behind it.
var columns = []metav1.TableColumnDefinition{
	{Name: "Name", Type: "string", Format: "name", Description: "Name of the BackupConfiguration."},
	{Name: "Schedule", Type: "string", Description: "Cron schedule of every session, in session order."},
	{Name: "Paused", Type: "boolean", Description: "Whether the BackupConfiguration is paused (spec.paused)."},
	{Name: "Repository", Type: "string", Description: "Every repository of every session."},
	{Name: "BackupStorage", Type: "string", Description: "namespace/name of every backend's BackupStorage."},
	{Name: "Target", Type: "string", Description: "The backed-up object, as <Kind> <namespace>/<name>."},
	{Name: "Task", Type: "string", Description: "Every addon task of every session."},
	{Name: "RetentionPolicy", Type: "string", Description: "namespace/name of every backend's RetentionPolicy."},
	{Name: "Phase", Type: "string", Description: "The BackupConfiguration's phase: Ready, NotReady or Invalid."},
	{Name: "Health", Type: "string", Description: "Is the data protected, now: the first that holds of Invalid, Paused, Failing, Stuck, NeverSucceeded, Overdue, VerificationFailing, Pending, else Healthy; health.reasons says why."},
	{Name: "Age", Type: "string", Description: "Time since the BackupConfiguration was created."},
	{Name: "Last-Session", Type: "string", Priority: 1, Description: "Phase of the newest BackupSession."},
	{Name: "Last-Success", Type: "string", Priority: 1, Description: "Time since the newest successful backup."},
	{Name: "Next-Run", Type: "string", Priority: 1, Description: "Time until the next run: KubeStash's nextSchedule, or the schedule's next firing when that has passed; none when paused or not scheduled."},
	{Name: "CronJobs", Type: "string", Priority: 1, Description: "Number of trigger CronJobs, and how many are suspended."},
	{Name: "Last-Snapshot", Type: "string", Priority: 1, Description: "Phase and age of the newest Snapshot of any of its repositories."},
}

// tableConvertor renders views; only here does the clock enter (ages, and health read at
// now through package health).
type tableConvertor struct {
	now func() time.Time
}

func (c tableConvertor) ConvertToTable(_ context.Context, obj runtime.Object, opts runtime.Object) (*metav1.Table, error) {
	t := &metav1.Table{}
	if o, ok := opts.(*metav1.TableOptions); !ok || !o.NoHeaders {
		t.ColumnDefinitions = columns
	}
	now := c.now()
	switch o := obj.(type) {
	case *ui.BackupConfigurationView:
		t.Rows = []metav1.TableRow{row(o, now)}
		t.ResourceVersion = o.ResourceVersion
	case *ui.BackupConfigurationViewList:
		t.Rows = make([]metav1.TableRow, len(o.Items))
		for i := range o.Items {
			t.Rows[i] = row(&o.Items[i], now)
		}
		t.ResourceVersion, t.Continue, t.RemainingItemCount = o.ResourceVersion, o.Continue, o.RemainingItemCount
	default:
		if m, err := meta.ListAccessor(obj); err == nil {
			t.ResourceVersion = m.GetResourceVersion()
		}
		return nil, fmt.Errorf("unexpected object %T", obj)
	}
	return t, nil
}

func row(v *ui.BackupConfigurationView, now time.Time) metav1.TableRow {
	s := v.Summary
	return metav1.TableRow{
		Object: runtime.RawExtension{Object: v},
		Cells: []interface{}{
			v.Name, none(s.Schedule), v.Basic.Paused, none(s.Repository), none(s.BackupStorage), none(s.Target),
			none(s.Task), none(s.RetentionPolicy), none(v.Basic.Phase), v.Health.VerdictAt(now), age(&v.CreationTimestamp, now),
			none(v.Health.LastSessionPhase), age(v.Health.LastSuccessfulBackupTime, now), nextRun(v, now), cronJobs(v), lastSnapshot(v, now),
		},
	}
}

func none(s string) string {
	if s == "" {
		return "<none>"
	}
	return s
}

func age(t *metav1.Time, now time.Time) string {
	if t == nil || t.IsZero() {
		return "<none>"
	}
	// A time slightly ahead of this server's clock (skew between nodes) reads as now.
	return duration.HumanDuration(max(now.Sub(t.Time), 0))
}

// nextRun is never an age in the past: NextRun replaces a stale nextSchedule.
func nextRun(v *ui.BackupConfigurationView, now time.Time) string {
	t, ok := v.NextRun(now)
	if !ok {
		return "<none>"
	}
	return "in " + duration.HumanDuration(t.Sub(now))
}

// lastSnapshot is the newest Snapshot of any repository (each repository's come newest first).
func lastSnapshot(v *ui.BackupConfigurationView, now time.Time) string {
	var newest *ui.SnapshotRef
	for i := range v.Repositories {
		if l := v.Repositories[i].Snapshots; len(l) > 0 && l[0].SnapshotTime != nil &&
			(newest == nil || l[0].SnapshotTime.After(newest.SnapshotTime.Time)) {
			newest = &l[0]
		}
	}
	if newest == nil {
		return "<none>"
	}
	return none(newest.Phase) + " " + age(newest.SnapshotTime, now)
}

func cronJobs(v *ui.BackupConfigurationView) string {
	suspended := 0
	for _, c := range v.CronJobs {
		if c.Suspend {
			suspended++
		}
	}
	if suspended > 0 {
		return fmt.Sprintf("%d (%d suspended)", len(v.CronJobs), suspended)
	}
	return fmt.Sprint(len(v.CronJobs))
}
