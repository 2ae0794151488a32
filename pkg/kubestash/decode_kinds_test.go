package kubestash

import (
	"reflect"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// parse is an object's JSON, written as YAML.
func parse(t *testing.T, s string) []byte {
	t.Helper()
	data, err := yaml.YAMLToJSON([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// Every kind decodes the fields the views read, from objects as KubeStash writes them.
func TestDecodeKinds(t *testing.T) {
	bc := DecodeBackupConfiguration(parse(t, `
metadata: {name: mongodb-backup, namespace: demo, uid: u1, resourceVersion: "9", labels: {team: db}}
spec:
  paused: true
  target: {apiGroup: kubedb.com, kind: MongoDB, namespace: demo, name: mongodb}
  backends:
  - {name: b1, storageRef: {namespace: kubestash, name: s3}, retentionPolicy: {name: keep}}
  sessions:
  - name: full
    scheduler: {schedule: "0 */4 * * *"}
    addon: {name: mongodb-addon, tasks: [{name: logical-backup}, {name: manifest-backup}]}
    repositories: [{name: repo-a}, {name: repo-b}]
status:
  phase: Ready
  conditions: [{type: Ready, status: "True", reason: Ok, observedGeneration: 3, lastTransitionTime: "2026-11-27T04:00:00Z"}]
  sessions: [{name: full, nextSchedule: "2026-11-27T08:00:00Z"}, {name: none}]
`))
	want := BackupConfiguration{
		Target:   &TypedRef{APIGroup: "kubedb.com", Kind: "MongoDB", Namespace: "demo", Name: "mongodb"},
		Backends: []Backend{{Name: "b1", StorageRef: &Ref{Namespace: "kubestash", Name: "s3"}, RetentionPolicy: &Ref{Name: "keep"}}},
		Sessions: []Session{{Name: "full", Schedule: "0 */4 * * *", Addon: "mongodb-addon", Tasks: []string{"logical-backup", "manifest-backup"}, Repositories: []string{"repo-a", "repo-b"}, NextSchedule: "2026-11-27T08:00:00Z"}},
		Paused:   true, Phase: "Ready",
	}
	got := *bc
	got.Meta, got.UID, got.Labels, got.Annotations, got.Conditions = want.Meta, want.UID, want.Labels, want.Annotations, nil
	if !reflect.DeepEqual(got, want) {
		t.Errorf("BackupConfiguration:\n got %+v\nwant %+v", got, want)
	}
	if bc.Name != "mongodb-backup" || bc.Namespace != "demo" || bc.UID != "u1" || bc.ResourceVersion != "9" || bc.Labels["team"] != "db" {
		t.Errorf("BackupConfiguration metadata: %+v %s %v", bc.Meta, bc.UID, bc.Labels)
	}
	if c := bc.Conditions; len(c) != 1 || c[0].Type != "Ready" || c[0].ObservedGeneration != 3 || c[0].LastTransitionTime == nil {
		t.Errorf("conditions: %+v", c)
	}

	s := DecodeBackupSession(parse(t, `
metadata: {name: mongodb-backup-full-1795752000, namespace: demo, uid: s1, resourceVersion: "12"}
spec: {invoker: {apiGroup: core.kubestash.com, kind: BackupConfiguration, name: mongodb-backup}, session: full, backupTimeout: 2h30m0s}
status: {phase: Succeeded, duration: 49s, totalSnapshots: 2, backupDeadline: "2026-11-27T06:30:00Z"}
`))
	if s.InvokerName != "mongodb-backup" || !s.IsBackupConfigurationInvoker() || s.Session != "full" || s.Phase != SessionSucceeded || s.Duration != "49s" || s.TotalSnapshots == nil || *s.TotalSnapshots != 2 || s.Controller != nil {
		t.Errorf("BackupSession: %+v", s)
	}
	if s.BackupTimeout != 150*time.Minute || s.BackupDeadline == nil || !s.BackupDeadline.Equal(&metav1.Time{Time: time.Date(2026, 11, 27, 6, 30, 0, 0, time.UTC)}) {
		t.Errorf("BackupSession timeout %v, deadline %v", s.BackupTimeout, s.BackupDeadline)
	}

	r := DecodeRepository(parse(t, `
metadata: {name: repo-a, namespace: demo}
spec: {appRef: {apiGroup: kubedb.com, kind: MongoDB, name: mongodb}}
status: {phase: Ready, size: 9 KiB, snapshotCount: 4, integrity: true, lastBackupTime: "2026-11-27T04:00:49Z"}
`))
	if r.AppRef == nil || r.AppRef.Kind != "MongoDB" || r.Size != "9 KiB" || *r.SnapshotCount != 4 || !*r.Integrity || r.LastBackupTime == nil {
		t.Errorf("Repository: %+v", r)
	}

	st := DecodeBackupStorage(parse(t, `
metadata: {name: s3, namespace: kubestash}
spec: {storage: {provider: s3}}
status: {phase: Ready, totalSize: 1 GiB, repositories: [{name: a}, {name: b}]}
`))
	if st.Provider != "s3" || st.Phase != "Ready" || st.TotalSize != "1 GiB" || st.Repositories != 2 {
		t.Errorf("BackupStorage: %+v", st)
	}

	p := DecodeRetentionPolicy(parse(t, `{metadata: {name: keep, namespace: demo}, spec: {maxRetentionPeriod: 2mo, default: true}}`))
	if p.MaxRetentionPeriod != "2mo" || !p.Default {
		t.Errorf("RetentionPolicy: %+v", p)
	}

	cj := DecodeCronJob(parse(t, `
metadata: {name: trigger-mongodb-backup-full, namespace: demo}
spec: {schedule: "0 */4 * * *", suspend: true}
status: {active: [{name: j1}], lastScheduleTime: "2026-11-27T04:00:00Z"}
`))
	if cj.Schedule != "0 */4 * * *" || !cj.Suspend || cj.Active != 1 || cj.LastScheduleTime == nil {
		t.Errorf("CronJob: %+v", cj)
	}

	a := DecodeAddon(parse(t, `{metadata: {name: mongodb-addon}, spec: {backupTasks: [{name: logical-backup,
  parameters: [{name: args, usage: "Arguments", required: false, default: "--all"}, {name: scratchDir, required: true}, oops]}],
  restoreTasks: [{name: logical-restore, parameters: [{name: dbname, usage: "Database", default: admin}, null, 3]}, {name: manifest-restore}, 7, null]}}`))
	wantTasks := []AddonTask{{Name: "logical-backup", Parameters: []TaskParameter{{Name: "args", Usage: "Arguments", Default: "--all"}, {Name: "scratchDir", Required: true}}}}
	wantRestore := []AddonTask{{Name: "logical-restore", Parameters: []TaskParameter{{Name: "dbname", Usage: "Database", Default: "admin"}}}, {Name: "manifest-restore"}}
	if !reflect.DeepEqual(a.BackupTasks, wantTasks) || !reflect.DeepEqual(a.RestoreTasks, wantRestore) {
		t.Errorf("Addon: %+v", a)
	}
	if n := a.BackupTaskNames(); !reflect.DeepEqual(n, []string{"logical-backup"}) {
		t.Errorf("BackupTaskNames: %v", n)
	}
	if n := a.RestoreTaskNames(); !reflect.DeepEqual(n, []string{"logical-restore", "manifest-restore"}) {
		t.Errorf("RestoreTaskNames: %v", n)
	}
}

// A field of the wrong type reads as its zero value: an odd object never breaks an informer.
func TestDecodeIsTolerant(t *testing.T) {
	bc := DecodeBackupConfiguration(parse(t, `
metadata: {name: odd, namespace: demo, labels: [x]}
spec: {paused: "true", target: "MongoDB demo/x", backends: {a: 1}, sessions: [null, 3, "x", {name: ok, scheduler: {schedule: 5}, addon: {tasks: [null, {name: t}]}}]}
status: {phase: 3, conditions: Ready, sessions: {a: b}}
`))
	if bc.Paused || bc.Target != nil || bc.Backends != nil || bc.Phase != "" || bc.Conditions != nil || bc.Labels != nil {
		t.Errorf("wrongly typed fields did not read as zero: %+v", bc)
	}
	if len(bc.Sessions) != 1 || bc.Sessions[0].Name != "ok" || bc.Sessions[0].Schedule != "" || !reflect.DeepEqual(bc.Sessions[0].Tasks, []string{"t"}) || bc.Sessions[0].NextSchedule != "" {
		t.Errorf("the valid session: %+v", bc.Sessions)
	}
	s := DecodeBackupSession(parse(t, `{metadata: {name: s}, spec: {backupTimeout: 7200}, status: {totalSnapshots: "two", phase: [Running], backupDeadline: "tomorrow"}}`))
	if s.TotalSnapshots != nil || s.Phase != "" || s.BackupTimeout != 0 || s.BackupDeadline != nil {
		t.Errorf("BackupSession: %+v", s)
	}
	if r := DecodeRepository(parse(t, `{status: {snapshotCount: "4", integrity: "yes", lastBackupTime: 7}}`)); r.SnapshotCount != nil || r.Integrity != nil || r.LastBackupTime != nil {
		t.Errorf("Repository: %+v", r)
	}
	// The reliability test's odd Addon (test/reliability/odd_test.go), and a task whose
	// parameters are not a list: the tasks that are objects stay.
	a := DecodeAddon(parse(t, `{metadata: {name: odd-addon}, spec: {backupTasks: {x: 1}, restoreTasks: [1, null, {name: 5}, {name: r, parameters: {a: 1}}]}}`))
	if a.BackupTasks != nil || !reflect.DeepEqual(a.RestoreTasks, []AddonTask{{Name: "r"}}) {
		t.Errorf("Addon: %+v", a)
	}
}
