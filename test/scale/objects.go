package scale

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kubestash/backupview/pkg/kubestash"
)

// The objects follow hack/demo/samples.yaml (and so the upstream CRDs): realistic sizes,
// labels, annotations, conditions and statuses, so that kube-apiserver and backupview decode
// what a real KubeStash cluster holds.

// Object is one generated object: what to create, and the status to write afterwards (nil:
// none). Each call returns new maps: the caller may change them.
type Object struct {
	Resource schema.GroupVersionResource
	Object   map[string]interface{}
	Status   map[string]interface{}
}

// Unstructured is the object without its status.
func (o Object) Unstructured() *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: o.Object}
}

type obj = map[string]interface{}
type list = []interface{}

func rfc(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func meta(kind, apiVersion, ns, name string) obj {
	o := obj{"apiVersion": apiVersion, "kind": kind, "metadata": obj{"name": name}}
	if ns != "" {
		o["metadata"].(obj)["namespace"] = ns
	}
	return o
}

func cond(typ, reason, msg string, t time.Time) obj {
	return obj{"type": typ, "status": "True", "reason": reason, "message": msg, "lastTransitionTime": rfc(t)}
}

// NamespaceObjects are the scale's namespaces and then the shared one: everything else lives
// in them, so they come first.
func (s Scale) NamespaceObjects() []Object {
	var out []Object
	for n := 0; n < s.Namespaces; n++ {
		out = append(out, Object{Resource: namespaceResource, Object: meta("Namespace", "v1", "", NamespaceName(n))})
	}
	return append(out, Object{Resource: namespaceResource, Object: meta("Namespace", "v1", "", SharedNamespace)})
}

// SharedObjects are what every BackupConfiguration refers to: the Addons, the BackupStorages
// and the RetentionPolicies.
func (s Scale) SharedObjects() []Object {
	var out []Object
	for _, a := range addons {
		out = append(out, Object{Resource: kubestash.Addons, Object: addonObj(a)})
	}
	for k := 0; k < s.Storages; k++ {
		out = append(out, s.storage(k))
	}
	for k := 0; k < s.Policies; k++ {
		out = append(out, Object{Resource: kubestash.RetentionPolicies, Object: policyObj(k)})
	}
	return out
}

// Dependents are the objects of BackupConfiguration i besides itself, in two series that can
// be created side by side, each in its order: refs are its Repository (HasRepository, first),
// its target (HasTarget) and its trigger CronJobs; sessions are its BackupSessions, oldest
// first. The CronJobs and BackupSessions are owned by the BackupConfiguration, whose uid they
// need. The Snapshots (SnapshotsOf) are owned by the Repository: they come after it.
func (s Scale) Dependents(i int, uid string) (refs, sessions []Object) {
	if s.HasRepository(i) {
		refs = append(refs, s.Repository(i))
	}
	if s.HasTarget(i) {
		refs = append(refs, s.Target(i))
	}
	for j := 0; j < s.BCSessions(i); j++ {
		refs = append(refs, s.CronJob(i, j, uid))
	}
	for k := 0; k < s.SessionsOf(i); k++ {
		sessions = append(sessions, s.BackupSession(i, k, uid))
	}
	return refs, sessions
}

func addonObj(name string) obj {
	o := meta("Addon", "addons.kubestash.com/v1alpha1", "", name)
	o["metadata"].(obj)["labels"] = obj{"app.kubernetes.io/instance": "kubedb", "app.kubernetes.io/managed-by": "Helm", "app.kubernetes.io/name": "kubedb-kubestash-catalog"}
	task := func(n, fn string) obj {
		return obj{"name": n, "function": fn, "driver": "Restic", "executor": "Job", "singleton": true,
			"parameters": list{obj{"name": "args", "usage": "Arguments to be passed to the dump command.", "required": false}}}
	}
	o["spec"] = obj{
		"backupTasks":  list{task("logical-backup", name+"-backup"), task("manifest-backup", "kubedbmanifest-backup")},
		"restoreTasks": list{task("logical-backup-restore", name+"-restore")},
	}
	return o
}

// storage is BackupStorage k; its status lists the Repositories stored in it.
func (s Scale) storage(k int) Object {
	o := meta("BackupStorage", "storage.kubestash.com/v1alpha1", SharedNamespace, StorageName(k))
	o["spec"] = obj{
		"storage": obj{"provider": "s3", "s3": obj{"endpoint": "s3.amazonaws.com", "bucket": fmt.Sprintf("acme-backups-%02d", k),
			"region": "us-east-1", "prefix": "cluster-eu1", "secretName": "s3-secret"}},
		"usagePolicy":    obj{"allowedNamespaces": obj{"from": "All"}},
		"default":        k == 0,
		"deletionPolicy": "WipeOut",
	}
	var repos list
	for i := k; i < s.BCs && s.HasRepository(i); i += s.Storages {
		repos = append(repos, obj{"name": RepositoryName(i), "namespace": s.Namespace(i), "path": s.Namespace(i) + "/" + TargetName(i), "size": "12.204 MiB", "synced": true})
	}
	status := obj{
		"phase": "Ready", "totalSize": fmt.Sprintf("%d.387 GiB", len(repos)/10+1), "repositories": repos,
		"conditions": list{
			cond("BackendInitialized", "BackendInitializationSucceeded", "Backend has been initialized successfully.", Base.Add(-30*24*time.Hour)),
			cond("BackendSecretFound", "BackendSecretAvailable", "Backend Secret kubestash/s3-secret is available.", Base.Add(-30*24*time.Hour)),
		},
	}
	return Object{Resource: kubestash.BackupStorages, Object: o, Status: status}
}

func policyObj(k int) obj {
	o := meta("RetentionPolicy", "storage.kubestash.com/v1alpha1", SharedNamespace, PolicyName(k))
	o["spec"] = obj{
		"default": k == 0, "maxRetentionPeriod": fmt.Sprintf("%dmo", 1+k%3),
		"successfulSnapshots": obj{"last": int64(10), "daily": int64(7), "weekly": int64(4)},
		"failedSnapshots":     obj{"last": int64(2)},
		"usagePolicy":         obj{"allowedNamespaces": obj{"from": "All"}},
	}
	return o
}

// Target is the target object of BackupConfiguration i (a MongoDB or a Postgres), whether or
// not the scale has it (HasTarget).
func (s Scale) Target(i int) Object {
	kind, _, gvr := TargetKind(i)
	o := meta(kind, "kubedb.com/v1", s.Namespace(i), TargetName(i))
	o["spec"] = obj{"version": "16.1", "replicas": int64(3), "storageType": "Durable"}
	return Object{Resource: gvr, Object: o}
}

// BackupConfiguration is BackupConfiguration i with its status: one backend (its storage and
// policy), one repository, BCSessions(i) sessions; NotReady for every 50th.
func (s Scale) BackupConfiguration(i int) Object {
	ns, name := s.Namespace(i), BCName(i)
	kind, addon, _ := TargetKind(i)
	o := meta("BackupConfiguration", "core.kubestash.com/v1alpha1", ns, name)
	m := o["metadata"].(obj)
	m["labels"] = obj{"app.kubernetes.io/name": "backupconfigurations.core.kubestash.com", "app.kubernetes.io/instance": name,
		"app.kubernetes.io/managed-by": "Helm", "team": fmt.Sprintf("team-%d", i%7), "env": []string{"production", "staging", "dev"}[i%3]}
	m["annotations"] = obj{"meta.helm.sh/release-name": name, "meta.helm.sh/release-namespace": ns}
	var sessions, sessStatus list
	for j := 0; j < s.BCSessions(i); j++ {
		task := "logical-backup"
		if j == 1 {
			task = "manifest-backup"
		}
		sessions = append(sessions, obj{
			"name": sessionNames[j], "sessionHistoryLimit": int64(5),
			"scheduler": obj{"schedule": schedules[j], "jobTemplate": obj{"backoffLimit": int64(1),
				"template": obj{"controller": obj{}, "metadata": obj{}, "spec": obj{"resources": obj{}}}}},
			"repositories": list{obj{"name": RepositoryName(i), "backend": "default-backend", "directory": ns + "/" + TargetName(i),
				"encryptionSecret": obj{"namespace": ns, "name": "encrypt-secret"}}},
			"addon": obj{"name": addon, "tasks": list{obj{"name": task, "params": obj{"args": "--db=" + TargetName(i)}}},
				"jobTemplate": obj{"spec": obj{"securityContext": obj{"runAsUser": int64(999)}}}},
		})
		sessStatus = append(sessStatus, obj{"name": sessionNames[j], "nextSchedule": rfc(Base.Add(time.Duration(4+j) * time.Hour)),
			"conditions": list{
				cond("SchedulerEnsured", "SchedulerEnsured", "Scheduler has been ensured successfully.", Base.Add(-7*24*time.Hour)),
				cond("InitialBackupTriggered", "SuccessfullyTriggeredInitialBackup", "Initial backup has been triggered successfully.", Base.Add(-7*24*time.Hour)),
			}})
	}
	o["spec"] = obj{
		"target": obj{"apiGroup": "kubedb.com", "kind": kind, "namespace": ns, "name": TargetName(i)},
		"backends": list{obj{"name": "default-backend",
			"storageRef":      obj{"namespace": SharedNamespace, "name": StorageName(s.StorageOf(i))},
			"retentionPolicy": obj{"namespace": SharedNamespace, "name": PolicyName(s.PolicyOf(i))}}},
		"sessions": sessions,
	}
	phase := "Ready"
	if i%50 == 49 {
		phase = "NotReady"
	}
	status := obj{
		"phase": phase, "targetFound": s.HasTarget(i),
		"conditions": list{cond("ValidationPassed", "ResourceValidationPassed", "Resource validation passed.", Base.Add(-7*24*time.Hour))},
		"backends": list{obj{"name": "default-backend", "ready": true,
			"storage":         obj{"ref": obj{"namespace": SharedNamespace, "name": StorageName(s.StorageOf(i))}, "phase": "Ready"},
			"retentionPolicy": obj{"ref": obj{"namespace": SharedNamespace, "name": PolicyName(s.PolicyOf(i))}, "found": true}}},
		"repositories": list{obj{"name": RepositoryName(i), "phase": "Ready"}},
		"dependencies": list{obj{"kind": "Addon", "name": addon, "found": true}},
		"sessions":     sessStatus,
	}
	return Object{Resource: kubestash.BackupConfigurations, Object: o, Status: status}
}

// Repository is the Repository of BackupConfiguration i, whether or not the scale has it
// (HasRepository).
func (s Scale) Repository(i int) Object {
	ns := s.Namespace(i)
	kind, _, _ := TargetKind(i)
	o := meta("Repository", "storage.kubestash.com/v1alpha1", ns, RepositoryName(i))
	o["spec"] = obj{
		"appRef":           obj{"apiGroup": "kubedb.com", "kind": kind, "namespace": ns, "name": TargetName(i)},
		"storageRef":       obj{"namespace": SharedNamespace, "name": StorageName(s.StorageOf(i))},
		"path":             ns + "/" + TargetName(i),
		"deletionPolicy":   "WipeOut",
		"encryptionSecret": obj{"namespace": ns, "name": "encrypt-secret"},
	}
	status := obj{
		"phase": "Ready", "integrity": true, "snapshotCount": int64(s.SessionsOf(i)), "size": "12.204 MiB",
		"lastBackupTime": rfc(Base.Add(49 * time.Second)),
		"componentPaths": list{"repository/v1/full-backup/dump"},
		"recentSnapshots": list{obj{"name": RepositoryName(i) + "-" + BCName(i) + "-full-backup-" + fmt.Sprint(Base.Unix()), "phase": "Succeeded",
			"session": "full-backup", "size": "2.262 MiB", "snapshotTime": rfc(Base.Add(41 * time.Second))}},
		"conditions": list{cond("RepositoryInitialized", "RepositoryInitializationSucceeded", "Repository has been initialized successfully.", Base.Add(-7*24*time.Hour))},
	}
	return Object{Resource: kubestash.Repositories, Object: o, Status: status}
}

// ownerRef makes BackupConfiguration i (of the given uid) the controller of an object.
func ownerRef(i int, uid string) list {
	return list{obj{"apiVersion": "core.kubestash.com/v1alpha1", "kind": "BackupConfiguration", "name": BCName(i), "uid": uid,
		"controller": true, "blockOwnerDeletion": true}}
}

// CronJob is the trigger CronJob of session j of BackupConfiguration i (uid), with a status
// as if it last fired at Base.
func (s Scale) CronJob(i, j int, uid string) Object {
	ns := s.Namespace(i)
	o := meta("CronJob", "batch/v1", ns, CronJobName(i, j))
	m := o["metadata"].(obj)
	m["labels"] = obj{"app.kubernetes.io/managed-by": "kubestash.com"}
	m["ownerReferences"] = ownerRef(i, uid)
	o["spec"] = obj{
		"schedule": schedules[j], "suspend": false, "concurrencyPolicy": "Allow",
		"successfulJobsHistoryLimit": int64(1), "failedJobsHistoryLimit": int64(1),
		"jobTemplate": obj{"spec": obj{"backoffLimit": int64(1), "template": obj{"spec": obj{
			"restartPolicy": "Never",
			"containers": list{obj{"name": "trigger", "image": "ghcr.io/kubestash/kubestash:v0.29.0",
				"args": list{"create", "backupsession", "--namespace=" + ns, "--invoker-name=" + BCName(i),
					"--invoker-kind=BackupConfiguration", "--session-name=" + sessionNames[j]}}},
		}}}},
	}
	status := obj{"lastScheduleTime": rfc(Base), "lastSuccessfulTime": rfc(Base.Add(6 * time.Second))}
	return Object{Resource: kubestash.CronJobs, Object: o, Status: status}
}

// BackupSession is BackupSession k (0 = oldest) of BackupConfiguration i (uid): Succeeded,
// except the newest of every tenth BackupConfiguration (Failed when i%10 == 3, Running, with
// no duration, when i%10 == 7).
func (s Scale) BackupSession(i, k int, uid string) Object {
	ns := s.Namespace(i)
	j, trigger, name := s.backupSession(i, k)
	kind, _, _ := TargetKind(i)
	o := meta("BackupSession", "core.kubestash.com/v1alpha1", ns, name)
	m := o["metadata"].(obj)
	m["labels"] = obj{"app.kubernetes.io/managed-by": "kubestash.com", "kubestash.com/invoker-kind": "BackupConfiguration",
		"kubestash.com/invoker-name": BCName(i), "kubestash.com/invoker-namespace": ns}
	m["ownerReferences"] = ownerRef(i, uid)
	o["spec"] = obj{"invoker": obj{"apiGroup": "core.kubestash.com", "kind": "BackupConfiguration", "name": BCName(i)},
		"session": sessionNames[j], "retryLeft": int64(2)}
	phase, dur := s.sessionPhase(i, k)
	status := obj{
		"phase": phase, "totalSnapshots": int64(1),
		"snapshots": list{obj{"name": s.SnapshotName(i, k), "phase": phase, "repository": RepositoryName(i),
			"appRef": obj{"apiGroup": "kubedb.com", "kind": kind, "namespace": ns, "name": TargetName(i)}}},
		"conditions": list{
			cond("BackupExecutorEnsured", "SuccessfullyEnsuredBackupExecutor", "Backup executor has been ensured successfully.", trigger.Add(3*time.Second)),
			cond("SnapshotsEnsured", "SuccessfullyEnsuredSnapshots", "Snapshots have been ensured successfully.", trigger.Add(2*time.Second)),
			cond("MetricsPushed", "SuccessfullyPushedMetrics", "Metrics have been pushed successfully.", trigger.Add(41*time.Second)),
		},
	}
	if dur != "" {
		status["duration"] = dur
	}
	return Object{Resource: kubestash.BackupSessions, Object: o, Status: status}
}

// sessionPhase is the phase of BackupSession k of BackupConfiguration i, and its duration
// ("" while Running).
func (s Scale) sessionPhase(i, k int) (phase, duration string) {
	phase, duration = "Succeeded", fmt.Sprintf("%dm%ds", 1+i%5, 10+k%50)
	if k == s.SessionsOf(i)-1 {
		switch i % 10 {
		case 3:
			phase = "Failed"
		case 7:
			phase, duration = "Running", ""
		}
	}
	return phase, duration
}

// SnapshotsOf are the Snapshots of BackupConfiguration i's BackupSessions, oldest first, when
// the scale has Snapshots and the Repository they are written to; repoUID is the Repository's
// uid (their controller).
func (s Scale) SnapshotsOf(i int, repoUID string) []Object {
	if !s.Snapshots || !s.HasRepository(i) {
		return nil
	}
	out := make([]Object, s.SessionsOf(i))
	for k := range out {
		out[k] = s.Snapshot(i, k, repoUID)
	}
	return out
}

// Snapshot is the Snapshot BackupSession k of BackupConfiguration i wrote to its Repository
// (repoUID), as KubeStash leaves it (/work/shared/docs/kubestash-api.md, "Snapshot"): in the
// Repository's namespace, labelled with it and its target, owned by it, in the BackupSession's
// phase; one component (dump, or manifest for the manifest session) whose restic stats are the
// few hundred bytes of per-driver statistics backupview must not keep. Every tenth
// BackupConfiguration's succeeded Snapshots are verified.
func (s Scale) Snapshot(i, k int, repoUID string) Object {
	ns, repo := s.Namespace(i), RepositoryName(i)
	j, trigger, session := s.backupSession(i, k)
	kind, _, _ := TargetKind(i)
	name := s.SnapshotName(i, k)
	o := meta("Snapshot", "storage.kubestash.com/v1alpha1", ns, name)
	m := o["metadata"].(obj)
	m["labels"] = obj{"kubestash.com/repo-name": repo, "kubestash.com/app-ref-kind": kind,
		"kubestash.com/app-ref-name": TargetName(i), "kubestash.com/app-ref-namespace": ns}
	m["ownerReferences"] = list{obj{"apiVersion": "storage.kubestash.com/v1alpha1", "kind": "Repository", "name": repo, "uid": repoUID,
		"controller": true, "blockOwnerDeletion": true}}
	sum := sha256.Sum256([]byte(ns + "/" + name))
	id := hex.EncodeToString(sum[:])
	o["spec"] = obj{
		"snapshotID": strings.ToUpper(id[:26]), "type": "FullBackup", "repository": repo, "session": sessionNames[j],
		"backupSession": session, "version": "v1", "deletionPolicy": "Delete",
		"appRef": obj{"apiGroup": "kubedb.com", "kind": kind, "namespace": ns, "name": TargetName(i)},
	}
	component, file := "dump", "dumpfile.archive"
	if kind == "Postgres" {
		file = "dumpfile.sql"
	}
	if j == 1 {
		component, file = "manifest", "/kubestash-interim/manifest"
	}
	phase, _ := s.sessionPhase(i, k)
	c := obj{"path": "repository/v1/" + sessionNames[j] + "/" + component, "phase": phase, "driver": "Restic"}
	status := obj{"phase": phase, "verificationStatus": "NotVerified", "totalComponents": int64(1), "components": obj{component: c},
		"lastUpdateTime": rfc(trigger.Add(45 * time.Second))}
	switch phase {
	case "Succeeded":
		size := fmt.Sprintf("%d.%03d MiB", 1+i%4, 100+k%900)
		c["size"], c["duration"], c["integrity"] = size, fmt.Sprintf("%d.%03ds", 30+k%20, i%1000), true
		c["resticStats"] = list{obj{
			"summary": obj{"id": id, "hostPath": file, "size": size, "uploaded": size,
				"startTime": rfc(trigger.Add(4 * time.Second)), "endTime": rfc(trigger.Add(40 * time.Second))},
			"progress": obj{"totalFiles": int64(1), "filesDone": int64(1), "total": size, "backupDone": size,
				"percentDone": "100.00%", "secondsElapsed": int64(36), "speed": fmt.Sprintf("%d.%d KiB/s", 40+i%60, k%10)},
		}}
		status["snapshotTime"], status["size"], status["integrity"] = rfc(trigger.Add(41*time.Second)), size, true
		status["conditions"] = list{
			cond("SnapshotMetadataUploaded", "SnapshotMetadataUploadSucceeded", "Snapshot metadata has been uploaded successfully.", trigger.Add(42*time.Second)),
			cond("RecentSnapshotListUpdated", "SuccessfullyUpdatedRecentSnapshotList", "Recent snapshot list updated successfully.", trigger.Add(43*time.Second)),
		}
		if i%10 == 5 {
			status["verificationStatus"], status["verificationSession"] = "Verified", fmt.Sprintf("%s-%s-%d", BCName(i), sessionNames[j], trigger.Add(time.Hour).Unix())
		}
	case "Failed":
		tool := "mongodump"
		if kind == "Postgres" {
			tool = "pg_dumpall"
		}
		c["duration"] = "12.402s"
		c["error"] = "failed to execute backup: exit status 1: " + tool + ": could not connect to the database server: connection refused"
	}
	return Object{Resource: kubestash.Snapshots, Object: o, Status: status}
}

// BurstSession is a new BackupSession of session 0 of BackupConfiguration i (uid), triggered
// at trigger, as KubeStash creates it at the top of the hour: no status yet, then Running,
// then Succeeded with a duration and its snapshot (the benchmark's "burst" writes the two
// statuses through the status subresource). labels are added to KubeStash's own.
func (s Scale) BurstSession(i int, uid string, trigger time.Time, labels map[string]string) (o Object, running, succeeded map[string]interface{}) {
	ns := s.Namespace(i)
	name := fmt.Sprintf("%s-%s-%d", BCName(i), sessionNames[0], trigger.Unix())
	kind, _, _ := TargetKind(i)
	u := meta("BackupSession", "core.kubestash.com/v1alpha1", ns, name)
	m := u["metadata"].(obj)
	l := obj{"app.kubernetes.io/managed-by": "kubestash.com", "kubestash.com/invoker-kind": "BackupConfiguration",
		"kubestash.com/invoker-name": BCName(i), "kubestash.com/invoker-namespace": ns}
	for k, v := range labels {
		l[k] = v
	}
	m["labels"] = l
	m["ownerReferences"] = ownerRef(i, uid)
	u["spec"] = obj{"invoker": obj{"apiGroup": "core.kubestash.com", "kind": "BackupConfiguration", "name": BCName(i)},
		"session": sessionNames[0], "retryLeft": int64(2)}
	running = obj{"phase": "Running", "conditions": list{
		cond("BackupExecutorEnsured", "SuccessfullyEnsuredBackupExecutor", "Backup executor has been ensured successfully.", trigger.Add(3*time.Second))}}
	succeeded = obj{"phase": "Succeeded", "duration": fmt.Sprintf("%dm%ds", 1+i%5, 10+i%50), "totalSnapshots": int64(1),
		"snapshots": list{obj{"name": RepositoryName(i) + "-" + name, "phase": "Succeeded", "repository": RepositoryName(i),
			"appRef": obj{"apiGroup": "kubedb.com", "kind": kind, "namespace": ns, "name": TargetName(i)}}},
		"conditions": list{
			cond("BackupExecutorEnsured", "SuccessfullyEnsuredBackupExecutor", "Backup executor has been ensured successfully.", trigger.Add(3*time.Second)),
			cond("SnapshotsEnsured", "SuccessfullyEnsuredSnapshots", "Snapshots have been ensured successfully.", trigger.Add(2*time.Second)),
		}}
	return Object{Resource: kubestash.BackupSessions, Object: u}, running, succeeded
}
