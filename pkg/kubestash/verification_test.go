package kubestash

import (
	"reflect"
	"testing"
)

// The verification kinds decode what the views read, tolerantly, and a BackupConfiguration
// names each repository's BackupVerifier with its namespace defaulted.
func TestDecodeVerification(t *testing.T) {
	v := DecodeBackupVerifier(parse(t, `
metadata: {name: mongo-verifier, namespace: demo, resourceVersion: "4"}
spec: {type: RestoreOnly, scheduler: {schedule: "0 */6 * * *", jobTemplate: {backoffLimit: 1}}, restoreOption: {target: {kind: MongoDB}}}`))
	if v.Name != "mongo-verifier" || v.Type != "RestoreOnly" || v.Schedule != "0 */6 * * *" || v.ResourceVersion != "4" {
		t.Errorf("verifier %+v", v)
	}
	s := DecodeBackupVerificationSession(parse(t, `
metadata: {name: v-1, namespace: demo}
spec: {invoker: {apiGroup: core.kubestash.com, kind: BackupConfiguration, name: mongodb-backup}, session: full, repository: repo, snapshot: snap-1}
status:
  phase: Failed
  duration: 1m5s
  conditions:
  - {type: RestoreSucceeded, status: "True", reason: Done, message: restored}
  - {type: BackupVerified, status: "False", reason: QueryFailed, message: "query returned 0 rows"}`))
	want := &BackupVerificationSession{Meta: s.Meta, Invoker: "mongodb-backup", Session: "full", Repository: "repo", Snapshot: "snap-1",
		Phase: VerificationFailed, Duration: "1m5s", Message: "query returned 0 rows"}
	if !reflect.DeepEqual(s, want) || s.Name != "v-1" {
		t.Errorf("session %+v, want %+v", s, want)
	}
	// Another invoker kind is not a BackupConfiguration's; odd types read as zero.
	if s := DecodeBackupVerificationSession(parse(t, `{metadata: {name: x}, spec: {invoker: {kind: BackupBatch, name: b}, repository: 5}, status: {phase: [1], conditions: "no"}}`)); s.Invoker != "" || s.Repository != "" || s.Phase != "" {
		t.Errorf("odd session %+v", s)
	}
	bc := DecodeBackupConfiguration(parse(t, `
metadata: {name: b, namespace: demo}
spec:
  sessions:
  - name: full
    repositories:
    - {name: r1, backupVerifier: {name: v1}}
    - {name: r2}
    - {name: r3, backupVerifier: {namespace: verify, name: v3}}`))
	if got := bc.Sessions[0].Repositories; !reflect.DeepEqual(got, []string{"r1", "r2", "r3"}) {
		t.Errorf("repositories %v", got)
	}
	if r := bc.Verifier("r1"); r == nil || *r != (Ref{Namespace: "demo", Name: "v1"}) {
		t.Errorf("r1's verifier %+v", r)
	}
	if r := bc.Verifier("r3"); r == nil || *r != (Ref{Namespace: "verify", Name: "v3"}) {
		t.Errorf("r3's verifier %+v", r)
	}
	if r := bc.Verifier("r2"); r != nil {
		t.Errorf("r2's verifier %+v", r)
	}
}
