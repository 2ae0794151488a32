package formflags

import (
	"reflect"
	"testing"

	"github.com/kubestash/backupview/pkg/apis/ui/v1alpha1"
)

// options are the demo namespace's dropdowns (README, "Form options"), trimmed.
var options = &v1alpha1.BackupConfigurationOptions{
	Storages: []v1alpha1.StorageOption{
		{Ref: "kubestash/s3-shared", Namespace: "kubestash", Name: "s3-shared", Provider: "s3", Phase: "Ready", Default: true},
		{Ref: "demo/gcs-demo", Namespace: "demo", Name: "gcs-demo", Provider: "gcs"},
	},
	RetentionPolicies: []v1alpha1.RetentionPolicyOption{
		{Ref: "demo/demo-retention", MaxRetentionPeriod: "2mo", Default: true},
		{Ref: "kubestash/keep-1mo", MaxRetentionPeriod: "1mo"},
	},
	Addons: []v1alpha1.AddonOption{
		{Name: "mongodb-addon", BackupTasks: []v1alpha1.TaskOption{
			{Name: "logical-backup", Parameters: []v1alpha1.TaskParameter{
				{Name: "args", Usage: "Arguments to be passed\nto the dump command."},
				{Name: "enableCache", Default: "true", Required: true},
			}},
			{Name: "manifest-backup"},
		}},
		{Name: "workload-addon", BackupTasks: []v1alpha1.TaskOption{{Name: "logical-backup"}, {Name: "volume-snapshot"}}},
	},
	Targets: []v1alpha1.TargetOption{
		{APIGroup: "apps", Kind: "StatefulSet", Name: "app-data"},
		{APIGroup: "kubedb.com", Kind: "MongoDB", Name: "mongodb"},
		{Kind: "PersistentVolumeClaim", Name: "data"},
	},
	EncryptionSecrets: []string{"encrypt-secret"},
}

func TestComplete(t *testing.T) {
	oneSession := &Flags{Sessions: []string{"name=full,addon=mongodb-addon"}}
	twoSessions := &Flags{Sessions: []string{"name=full,addon=mongodb-addon", "name=files,addon=workload-addon"}}
	for _, c := range []struct {
		flag, typed string
		given       *Flags
		want        []string
		more        bool
	}{
		{Storage, "", nil, []string{"kubestash/s3-shared\ts3, Ready, default", "demo/gcs-demo\tgcs"}, false},
		{Storage, "demo/", nil, []string{"demo/gcs-demo\tgcs"}, false},
		{RetentionPolicy, "", nil, []string{"demo/demo-retention\t2mo, default", "kubestash/keep-1mo\t1mo"}, false},
		{Target, "", nil, []string{"StatefulSet.apps/app-data", "MongoDB.kubedb.com/mongodb", "PersistentVolumeClaim/data"}, false},
		{Target, "Mongo", nil, []string{"MongoDB.kubedb.com/mongodb"}, false},
		// --session: its keys, then the Addons.
		{Session, "", nil, []string{"name=", "schedule=", "addon=", "run-as-user="}, true},
		{Session, "name=full,", nil, []string{"name=full,schedule=", "name=full,addon=", "name=full,run-as-user="}, true},
		{Session, "name=full,addon=", nil, []string{"name=full,addon=mongodb-addon", "name=full,addon=workload-addon"}, true},
		{Session, "name=full,addon=w", nil, []string{"name=full,addon=workload-addon"}, true},
		// --task: the tasks of the session's Addon (the only session, or the one named).
		{Task, "name=", oneSession, []string{"name=logical-backup\tmongodb-addon", "name=manifest-backup\tmongodb-addon"}, true},
		{Task, "session=files,name=", twoSessions, []string{"session=files,name=logical-backup\tworkload-addon", "session=files,name=volume-snapshot\tworkload-addon"}, true},
		{Task, "name=", nil, []string{"name=logical-backup\tmongodb-addon", "name=manifest-backup\tmongodb-addon", "name=volume-snapshot\tworkload-addon"}, true},
		{Task, "session=", twoSessions, []string{"session=full\tmongodb-addon", "session=files\tworkload-addon"}, true},
		{Task, "name=logical-backup,", oneSession, []string{"name=logical-backup,session=", "name=logical-backup,repo=", "name=logical-backup,encryption-secret=", "name=logical-backup,param.", "name=logical-backup,params-file="}, true},
		// The parameters of that task, with their usage, required and default.
		{Task, "name=logical-backup,param.", oneSession, []string{"name=logical-backup,param.args=\tArguments to be passed to the dump command.", "name=logical-backup,param.enableCache=\trequired, default \"true\""}, true},
		{Task, "name=logical-backup,param.args=x,param.e", oneSession, []string{"name=logical-backup,param.args=x,param.enableCache=\trequired, default \"true\""}, true},
		{Task, "name=logical-backup,encryption-secret=", oneSession, []string{"name=logical-backup,encryption-secret=encrypt-secret"}, true},
		{Task, "name=logical-backup,repo=", oneSession, nil, true},
		{Label, "", nil, nil, false},
	} {
		got, more := Complete(options, c.given, c.flag, c.typed)
		if !reflect.DeepEqual(got, c.want) || more != c.more {
			t.Errorf("--%s %q: %q (more %v), want %q (more %v)", c.flag, c.typed, got, more, c.want, c.more)
		}
	}
	if got, _ := Complete(nil, nil, Storage, ""); len(got) != 0 {
		t.Errorf("no options: %q", got)
	}
}

func TestCompleteRestore(t *testing.T) {
	opts := &v1alpha1.BackupConfigurationOptions{Addons: []v1alpha1.AddonOption{
		{Name: "mongodb-addon", BackupTasks: []v1alpha1.TaskOption{{Name: "logical-backup"}}, RestoreTasks: []v1alpha1.TaskOption{
			{Name: "logical-backup-restore", Parameters: []v1alpha1.TaskParameter{
				{Name: "args", Usage: "Arguments to be passed\nto the restore command."},
				{Name: "dbname", Default: "admin", Required: true},
			}},
			{Name: "manifest-restore"},
		}},
		{Name: "postgres-addon", RestoreTasks: []v1alpha1.TaskOption{{Name: "logical-backup-restore", Parameters: []v1alpha1.TaskParameter{{Name: "pgArgs"}}}}},
		{Name: "backup-only-addon", BackupTasks: []v1alpha1.TaskOption{{Name: "x", Parameters: []v1alpha1.TaskParameter{{Name: "never"}}}}},
	}}
	mongo := &RestoreFlags{Addon: "mongodb-addon"}
	postgres := &RestoreFlags{Addon: "postgres-addon"}
	for _, c := range []struct {
		typed string
		given *RestoreFlags
		want  []string
	}{
		{"", nil, []string{"name=", "param.", "params-file="}},
		{"name=", mongo, []string{"name=logical-backup-restore\tmongodb-addon", "name=manifest-restore\tmongodb-addon"}},
		{"name=logical-backup-restore,pa", mongo, []string{"name=logical-backup-restore,param.", "name=logical-backup-restore,params-file="}},
		// The restore task's parameters (of --addon's task), with usage, required and default.
		{"name=logical-backup-restore,param.", mongo, []string{"name=logical-backup-restore,param.args=\tArguments to be passed to the restore command.",
			"name=logical-backup-restore,param.dbname=\trequired, default \"admin\""}},
		{"name=logical-backup-restore,param.args=x,param.", mongo, []string{"name=logical-backup-restore,param.args=x,param.dbname=\trequired, default \"admin\""}},
		{"name=logical-backup-restore,param.d", mongo, []string{"name=logical-backup-restore,param.dbname=\trequired, default \"admin\""}},
		{"name=logical-backup-restore,param.", postgres, []string{"name=logical-backup-restore,param.pgArgs="}},
		// A backup task's parameters are never offered for a restore task; no task, no parameters.
		{"name=x,param.", nil, nil},
		{"param.", mongo, nil},
	} {
		got, more := CompleteRestore(opts, nil, c.given, Task, c.typed)
		if !reflect.DeepEqual(got, c.want) || !more {
			t.Errorf("--task %q: %q (more %v), want %q", c.typed, got, more, c.want)
		}
	}
}
