package scale

import (
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kubestash/backupview/pkg/kubestash"
)

// The target kinds (the demo's target CRDs serve them) and namespaces.
var (
	MongoDBs          = schema.GroupVersionResource{Group: "kubedb.com", Version: "v1", Resource: "mongodbs"}
	Postgreses        = schema.GroupVersionResource{Group: "kubedb.com", Version: "v1", Resource: "postgreses"}
	namespaceResource = schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}
)

// SourceKinds are the kinds of the generated objects backupview watches, targets apart;
// TargetKinds the kinds of the targets (the demo's target CRDs serve them).
var (
	SourceKinds = []schema.GroupVersionResource{kubestash.BackupConfigurations, kubestash.BackupSessions, kubestash.Snapshots,
		kubestash.Repositories, kubestash.BackupStorages, kubestash.RetentionPolicies, kubestash.Addons, kubestash.CronJobs}
	TargetKinds = []schema.GroupVersionResource{MongoDBs, Postgreses}
)

// SharedNamespace holds the BackupStorages and RetentionPolicies every BackupConfiguration
// uses.
const SharedNamespace = "kubestash"

var addons = []string{"mongodb-addon", "postgres-addon"}

// Base is the trigger time of the newest BackupSessions (2026-11-27T04:00:00Z); every other
// time in the generated objects is relative to it.
var Base = time.Date(2026, 11, 27, 4, 0, 0, 0, time.UTC)

// sessionNames and schedules are spec.sessions[j] of a BackupConfiguration.
var (
	sessionNames = []string{"full-backup", "manifest-backup"}
	schedules    = []string{"0 */4 * * *", "30 1 * * *"}
)

// NamespaceName is the n-th namespace (0 <= n < Namespaces).
func NamespaceName(n int) string { return fmt.Sprintf("team-%04d", n) }

// Namespace is the namespace of BackupConfiguration i, and of everything it brings along:
// contiguous blocks of BackupConfigurations per namespace.
func (s Scale) Namespace(i int) string { return NamespaceName(i * s.Namespaces / s.BCs) }

// Key is "namespace/name" of BackupConfiguration i (and of its view).
func (s Scale) Key(i int) string { return s.Namespace(i) + "/" + BCName(i) }

// Names of the objects of BackupConfiguration i, and of the k-th BackupStorage and
// RetentionPolicy.
func BCName(i int) string         { return fmt.Sprintf("db-%05d-backup", i) }
func RepositoryName(i int) string { return fmt.Sprintf("db-%05d-repo", i) }
func TargetName(i int) string     { return fmt.Sprintf("db-%05d", i) }
func StorageName(k int) string    { return fmt.Sprintf("s3-%02d", k) }
func PolicyName(k int) string     { return fmt.Sprintf("keep-%02d", k) }

// SessionName is the name of spec.sessions[j] (j < BCSessions(i)).
func SessionName(j int) string { return sessionNames[j] }

// CronJobName is the trigger CronJob of session j of BackupConfiguration i.
func CronJobName(i, j int) string { return "trigger-" + BCName(i) + "-" + sessionNames[j] }

// BackupSession k (0 = oldest, SessionsOf(i)-1 = newest) of BackupConfiguration i: one every
// 4 hours up to Base, the sessions of the BackupConfiguration taking turns; KubeStash's
// "<bc>-<session>-<unix trigger time>" name.
func (s Scale) backupSession(i, k int) (session int, trigger time.Time, name string) {
	session = k % s.BCSessions(i)
	trigger = Base.Add(-time.Duration(s.SessionsOf(i)-1-k) * 4 * time.Hour)
	return session, trigger, fmt.Sprintf("%s-%s-%d", BCName(i), sessionNames[session], trigger.Unix())
}

// SnapshotName is the name of the Snapshot BackupSession k of BackupConfiguration i wrote to
// its Repository: KubeStash's "<repository>-<backupsession>" (under 63 characters here, so
// never shortened).
func (s Scale) SnapshotName(i, k int) string {
	return RepositoryName(i) + "-" + s.BackupSessionName(i, k)
}

// BackupSessionName is the name of BackupSession k of BackupConfiguration i.
func (s Scale) BackupSessionName(i, k int) string {
	_, _, name := s.backupSession(i, k)
	return name
}

// TargetKind is the kind of BackupConfiguration i's target, the Addon that backs it up and
// the target's resource: MongoDB for even i, Postgres for odd.
func TargetKind(i int) (kind, addon string, gvr schema.GroupVersionResource) {
	if i%2 == 0 {
		return "MongoDB", addons[0], MongoDBs
	}
	return "Postgres", addons[1], Postgreses
}
