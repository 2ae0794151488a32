package kubestash

import (
	"reflect"
	"testing"
	"time"
)

// A Snapshot decodes its spec and status as KubeStash writes them, components sorted by name,
// and nothing of the per-driver statistics.
func TestDecodeSnapshot(t *testing.T) {
	s := DecodeSnapshot(parse(t, `
metadata: {name: mongo-repo-full-backup-1795752000, namespace: demo, uid: s1, resourceVersion: "42"}
spec:
  type: FullBackup
  repository: mongo-repo
  session: full-backup
  backupSession: mongodb-backup-full-backup-1795752000
  appRef: {apiGroup: kubedb.com, kind: MongoDB, namespace: demo, name: mongodb}
status:
  phase: Succeeded
  verificationStatus: VerificationFailed
  verificationSession: mongodb-backup-verify-1
  snapshotTime: "2026-12-01T04:00:49Z"
  size: 12.204 MiB
  integrity: true
  totalComponents: 2
  components:
    manifest: {phase: Succeeded, size: 1 KiB, integrity: true, driver: Restic, resticStats: [{id: abc, uploaded: 1 KiB, hostPath: /kubestash-tmp/manifest}]}
    dump: {phase: Failed, error: "dump failed", driver: Restic, resticStats: [{id: def}]}
`))
	yes := true
	want := &Snapshot{
		Meta:       s.Meta,
		Repository: "mongo-repo", BackupSession: "mongodb-backup-full-backup-1795752000", Session: "full-backup",
		Type: "FullBackup", Phase: "Succeeded", VerificationStatus: "VerificationFailed", VerificationSession: "mongodb-backup-verify-1",
		SnapshotTime: s.SnapshotTime, Size: "12.204 MiB", Integrity: &yes,
		Components: []SnapshotComponent{{Name: "dump", Phase: "Failed", Error: "dump failed"}, {Name: "manifest", Phase: "Succeeded", Size: "1 KiB", Integrity: &yes}},
	}
	if !reflect.DeepEqual(s, want) {
		t.Errorf("decoded\n%+v\nwant\n%+v", s, want)
	}
	if s.Name != "mongo-repo-full-backup-1795752000" || s.Namespace != "demo" || s.ResourceVersion != "42" {
		t.Errorf("metadata: %+v", s.Meta)
	}
	if s.SnapshotTime == nil || !s.SnapshotTime.Time.Equal(time.Date(2026, 12, 1, 4, 0, 49, 0, time.UTC)) {
		t.Errorf("snapshotTime %v", s.SnapshotTime)
	}
	// Tolerant: a mistyped field reads as zero, the rest still decodes.
	if o := DecodeSnapshot([]byte(`{"metadata":{"name":"x"},"spec":{"repository":7},"status":{"phase":"Failed","components":"no"}}`)); o.Name != "x" || o.Phase != "Failed" || o.Repository != "" {
		t.Errorf("tolerant decode: %+v", o)
	}
}
