package main

import (
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kubestash/backupview/pkg/kubestash"
)

// The objects below follow hack/demo/samples.yaml (and so the upstream CRDs): realistic sizes,
// labels, annotations, conditions and statuses, so that kube-apiserver and backupview decode
// what a real KubeStash cluster holds.

type obj = map[string]interface{}
type list = []interface{}

var (
	gvrNamespace = schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}
	gvrBC        = kubestash.BackupConfigurations
	gvrBS        = kubestash.BackupSessions
	gvrRepo      = kubestash.Repositories
	gvrStorage   = kubestash.BackupStorages
	gvrPolicy    = kubestash.RetentionPolicies
	gvrAddon     = kubestash.Addons
	gvrCronJob   = kubestash.CronJobs
	gvrMongoDB   = schema.GroupVersionResource{Group: "kubedb.com", Version: "v1", Resource: "mongodbs"}
	gvrPostgres  = schema.GroupVersionResource{Group: "kubedb.com", Version: "v1", Resource: "postgreses"}
)

// sourceGVRs are the kinds backupview watches (targets apart).
var sourceGVRs = []schema.GroupVersionResource{gvrBC, gvrBS, gvrRepo, gvrStorage, gvrPolicy, gvrAddon, gvrCronJob}
var targetGVRs = []schema.GroupVersionResource{gvrMongoDB, gvrPostgres}

const sharedNS = "kubestash"

var addons = []string{"mongodb-addon", "postgres-addon"}

// base is the trigger time of the newest BackupSession (2026-11-27T04:00:00Z).
var base = time.Date(2026, 11, 27, 4, 0, 0, 0, time.UTC)

func rfc(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func meta(kind, apiVersion, ns, name string) obj {
	o := obj{"apiVersion": apiVersion, "kind": kind, "metadata": obj{"name": name}}
	if ns != "" {
		o["metadata"].(obj)["namespace"] = ns
	}
	return o
}

func namespaceName(s Scale, i int) string { return fmt.Sprintf("team-%04d", i) }

// bcNamespace is the namespace of BackupConfiguration i: contiguous blocks.
func bcNamespace(s Scale, i int) string { return namespaceName(s, i*s.Namespaces/s.BCs) }
func bcName(i int) string               { return fmt.Sprintf("db-%05d-backup", i) }
func repoName(i int) string             { return fmt.Sprintf("db-%05d-repo", i) }
func targetName(i int) string           { return fmt.Sprintf("db-%05d", i) }
func storageName(k int) string          { return fmt.Sprintf("s3-%02d", k) }
func policyName(k int) string           { return fmt.Sprintf("keep-%02d", k) }

func targetKind(i int) (kind, addon string, gvr schema.GroupVersionResource) {
	if i%2 == 0 {
		return "MongoDB", "mongodb-addon", gvrMongoDB
	}
	return "Postgres", "postgres-addon", gvrPostgres
}

var sessionNames = []string{"full-backup", "manifest-backup"}
var schedules = []string{"0 */4 * * *", "30 1 * * *"}

func cond(typ, reason, msg string, t time.Time) obj {
	return obj{"type": typ, "status": "True", "reason": reason, "message": msg, "lastTransitionTime": rfc(t)}
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

func storageObj(s Scale, k int) (o, status obj) {
	o = meta("BackupStorage", "storage.kubestash.com/v1alpha1", sharedNS, storageName(k))
	o["spec"] = obj{
		"storage": obj{"provider": "s3", "s3": obj{"endpoint": "s3.amazonaws.com", "bucket": fmt.Sprintf("acme-backups-%02d", k),
			"region": "us-east-1", "prefix": "cluster-eu1", "secretName": "s3-secret"}},
		"usagePolicy":    obj{"allowedNamespaces": obj{"from": "All"}},
		"default":        k == 0,
		"deletionPolicy": "WipeOut",
	}
	var repos list
	for i := k; i < s.BCs && i < s.Repositories; i += s.Storages {
		repos = append(repos, obj{"name": repoName(i), "namespace": bcNamespace(s, i), "path": bcNamespace(s, i) + "/" + targetName(i), "size": "12.204 MiB", "synced": true})
	}
	status = obj{
		"phase": "Ready", "totalSize": fmt.Sprintf("%d.387 GiB", len(repos)/10+1), "repositories": repos,
		"conditions": list{
			cond("BackendInitialized", "BackendInitializationSucceeded", "Backend has been initialized successfully.", base.Add(-30*24*time.Hour)),
			cond("BackendSecretFound", "BackendSecretAvailable", "Backend Secret kubestash/s3-secret is available.", base.Add(-30*24*time.Hour)),
		},
	}
	return o, status
}

func policyObj(k int) obj {
	o := meta("RetentionPolicy", "storage.kubestash.com/v1alpha1", sharedNS, policyName(k))
	o["spec"] = obj{
		"default": k == 0, "maxRetentionPeriod": fmt.Sprintf("%dmo", 1+k%3),
		"successfulSnapshots": obj{"last": int64(10), "daily": int64(7), "weekly": int64(4)},
		"failedSnapshots":     obj{"last": int64(2)},
		"usagePolicy":         obj{"allowedNamespaces": obj{"from": "All"}},
	}
	return o
}

func targetObj(s Scale, i int) (schema.GroupVersionResource, obj) {
	kind, _, gvr := targetKind(i)
	o := meta(kind, "kubedb.com/v1", bcNamespace(s, i), targetName(i))
	o["spec"] = obj{"version": "16.1", "replicas": int64(3), "storageType": "Durable"}
	return gvr, o
}

func bcObj(s Scale, i int) (o, status obj) {
	ns, name := bcNamespace(s, i), bcName(i)
	kind, addon, _ := targetKind(i)
	o = meta("BackupConfiguration", "core.kubestash.com/v1alpha1", ns, name)
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
			"repositories": list{obj{"name": repoName(i), "backend": "default-backend", "directory": ns + "/" + targetName(i),
				"encryptionSecret": obj{"namespace": ns, "name": "encrypt-secret"}}},
			"addon": obj{"name": addon, "tasks": list{obj{"name": task, "params": obj{"args": "--db=" + targetName(i)}}},
				"jobTemplate": obj{"spec": obj{"securityContext": obj{"runAsUser": int64(999)}}}},
		})
		sessStatus = append(sessStatus, obj{"name": sessionNames[j], "nextSchedule": rfc(base.Add(time.Duration(4+j) * time.Hour)),
			"conditions": list{
				cond("SchedulerEnsured", "SchedulerEnsured", "Scheduler has been ensured successfully.", base.Add(-7*24*time.Hour)),
				cond("InitialBackupTriggered", "SuccessfullyTriggeredInitialBackup", "Initial backup has been triggered successfully.", base.Add(-7*24*time.Hour)),
			}})
	}
	o["spec"] = obj{
		"target": obj{"apiGroup": "kubedb.com", "kind": kind, "namespace": ns, "name": targetName(i)},
		"backends": list{obj{"name": "default-backend",
			"storageRef":      obj{"namespace": sharedNS, "name": storageName(i % s.Storages)},
			"retentionPolicy": obj{"namespace": sharedNS, "name": policyName(i % s.Policies)}}},
		"sessions": sessions,
	}
	phase := "Ready"
	if i%50 == 49 {
		phase = "NotReady"
	}
	status = obj{
		"phase": phase, "targetFound": s.HasTarget(i),
		"conditions": list{cond("ValidationPassed", "ResourceValidationPassed", "Resource validation passed.", base.Add(-7*24*time.Hour))},
		"backends": list{obj{"name": "default-backend", "ready": true,
			"storage":         obj{"ref": obj{"namespace": sharedNS, "name": storageName(i % s.Storages)}, "phase": "Ready"},
			"retentionPolicy": obj{"ref": obj{"namespace": sharedNS, "name": policyName(i % s.Policies)}, "found": true}}},
		"repositories": list{obj{"name": repoName(i), "phase": "Ready"}},
		"dependencies": list{obj{"kind": "Addon", "name": addon, "found": true}},
		"sessions":     sessStatus,
	}
	return o, status
}

func repoObj(s Scale, i int) (o, status obj) {
	ns := bcNamespace(s, i)
	kind, _, _ := targetKind(i)
	o = meta("Repository", "storage.kubestash.com/v1alpha1", ns, repoName(i))
	o["spec"] = obj{
		"appRef":           obj{"apiGroup": "kubedb.com", "kind": kind, "namespace": ns, "name": targetName(i)},
		"storageRef":       obj{"namespace": sharedNS, "name": storageName(i % s.Storages)},
		"path":             ns + "/" + targetName(i),
		"deletionPolicy":   "WipeOut",
		"encryptionSecret": obj{"namespace": ns, "name": "encrypt-secret"},
	}
	status = obj{
		"phase": "Ready", "integrity": true, "snapshotCount": int64(s.SessionsOf(i)), "size": "12.204 MiB",
		"lastBackupTime": rfc(base.Add(49 * time.Second)),
		"componentPaths": list{"repository/v1/full-backup/dump"},
		"recentSnapshots": list{obj{"name": repoName(i) + "-" + bcName(i) + "-full-backup-" + fmt.Sprint(base.Unix()), "phase": "Succeeded",
			"session": "full-backup", "size": "2.262 MiB", "snapshotTime": rfc(base.Add(41 * time.Second))}},
		"conditions": list{cond("RepositoryInitialized", "RepositoryInitializationSucceeded", "Repository has been initialized successfully.", base.Add(-7*24*time.Hour))},
	}
	return o, status
}

func ownerRef(i int, uid string) list {
	return list{obj{"apiVersion": "core.kubestash.com/v1alpha1", "kind": "BackupConfiguration", "name": bcName(i), "uid": uid,
		"controller": true, "blockOwnerDeletion": true}}
}

func cronJobName(i, j int) string { return "trigger-" + bcName(i) + "-" + sessionNames[j] }

func cronJobObj(s Scale, i, j int, uid string) (o, status obj) {
	ns := bcNamespace(s, i)
	o = meta("CronJob", "batch/v1", ns, cronJobName(i, j))
	m := o["metadata"].(obj)
	m["labels"] = obj{"app.kubernetes.io/managed-by": "kubestash.com"}
	m["ownerReferences"] = ownerRef(i, uid)
	o["spec"] = obj{
		"schedule": schedules[j], "suspend": false, "concurrencyPolicy": "Allow",
		"successfulJobsHistoryLimit": int64(1), "failedJobsHistoryLimit": int64(1),
		"jobTemplate": obj{"spec": obj{"backoffLimit": int64(1), "template": obj{"spec": obj{
			"restartPolicy": "Never",
			"containers": list{obj{"name": "trigger", "image": "ghcr.io/kubestash/kubestash:v0.29.0",
				"args": list{"create", "backupsession", "--namespace=" + ns, "--invoker-name=" + bcName(i),
					"--invoker-kind=BackupConfiguration", "--session-name=" + sessionNames[j]}}},
		}}}},
	}
	status = obj{"lastScheduleTime": rfc(base), "lastSuccessfulTime": rfc(base.Add(6 * time.Second))}
	return o, status
}

// sessionObj is BackupSession k (0 = oldest) of BackupConfiguration i.
func sessionObj(s Scale, i, k int, uid string) (o, status obj) {
	ns := bcNamespace(s, i)
	n := s.SessionsOf(i)
	j := k % s.BCSessions(i)
	trigger := base.Add(-time.Duration(n-1-k) * 4 * time.Hour)
	name := fmt.Sprintf("%s-%s-%d", bcName(i), sessionNames[j], trigger.Unix())
	kind, _, _ := targetKind(i)
	o = meta("BackupSession", "core.kubestash.com/v1alpha1", ns, name)
	m := o["metadata"].(obj)
	m["labels"] = obj{"app.kubernetes.io/managed-by": "kubestash.com", "kubestash.com/invoker-kind": "BackupConfiguration",
		"kubestash.com/invoker-name": bcName(i), "kubestash.com/invoker-namespace": ns}
	m["ownerReferences"] = ownerRef(i, uid)
	o["spec"] = obj{"invoker": obj{"apiGroup": "core.kubestash.com", "kind": "BackupConfiguration", "name": bcName(i)},
		"session": sessionNames[j], "retryLeft": int64(2)}
	phase, dur := "Succeeded", fmt.Sprintf("%dm%ds", 1+i%5, 10+k%50)
	if k == n-1 {
		switch i % 10 {
		case 3:
			phase = "Failed"
		case 7:
			phase, dur = "Running", ""
		}
	}
	status = obj{
		"phase": phase, "totalSnapshots": int64(1),
		"snapshots": list{obj{"name": repoName(i) + "-" + name, "phase": phase, "repository": repoName(i),
			"appRef": obj{"apiGroup": "kubedb.com", "kind": kind, "namespace": ns, "name": targetName(i)}}},
		"conditions": list{
			cond("BackupExecutorEnsured", "SuccessfullyEnsuredBackupExecutor", "Backup executor has been ensured successfully.", trigger.Add(3*time.Second)),
			cond("SnapshotsEnsured", "SuccessfullyEnsuredSnapshots", "Snapshots have been ensured successfully.", trigger.Add(2*time.Second)),
			cond("MetricsPushed", "SuccessfullyPushedMetrics", "Metrics have been pushed successfully.", trigger.Add(41*time.Second)),
		},
	}
	if dur != "" {
		status["duration"] = dur
	}
	return o, status
}
