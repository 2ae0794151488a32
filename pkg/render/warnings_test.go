package render

import (
	"reflect"
	"strings"
	"testing"

	"github.com/kubestash/backupview/pkg/apis/ui"
)

// fakeCluster holds the design example's objects; tests delete from it.
type fakeCluster struct {
	storages, policies, bcs map[string]bool // "ns/name"
	addons                  map[string][2][]string
	kinds                   map[string]bool // "group/Kind"
	targets                 map[string]bool // "group/Kind/ns/name"
}

func newFakeCluster() *fakeCluster {
	return &fakeCluster{
		storages: map[string]bool{"stash/default": true},
		policies: map[string]bool{"stash/default": true},
		bcs:      map[string]bool{},
		addons: map[string][2][]string{"mongodb-addon": {
			{"logical-backup", "manifest-backup", "volume-snapshot"},
			{"logical-backup-restore", "manifest-restore"}}},
		kinds:   map[string]bool{"kubedb.com/MongoDB": true, "/PersistentVolumeClaim": true},
		targets: map[string]bool{"kubedb.com/MongoDB/demo/mongodb": true},
	}
}

func (c *fakeCluster) BackupStorageExists(ns, name string) bool   { return c.storages[ns+"/"+name] }
func (c *fakeCluster) RetentionPolicyExists(ns, name string) bool { return c.policies[ns+"/"+name] }
func (c *fakeCluster) BackupConfigurationExists(ns, name string) bool {
	return c.bcs[ns+"/"+name]
}
func (c *fakeCluster) Addon(name string) ([]string, []string, bool) {
	a, ok := c.addons[name]
	return a[0], a[1], ok
}
func (c *fakeCluster) Target(group, kind, ns, name string) (bool, bool) {
	return c.kinds[group+"/"+kind], c.targets[group+"/"+kind+"/"+ns+"/"+name]
}

func TestNoWarningsWhenEverythingExists(t *testing.T) {
	p := validForm()
	twoTasks(p)
	if w := Warnings(p, newFakeCluster()); len(w) != 0 {
		t.Errorf("unexpected warnings: %q", w)
	}
	if Warnings(nil, newFakeCluster()) != nil || Warnings(p, nil) != nil {
		t.Error("nil form or cluster: no warnings")
	}
}

func TestWarnings(t *testing.T) {
	cases := []struct {
		name string
		mut  func(*ui.BackupConfigurationPreview, *fakeCluster)
		want string
	}{
		{"storage missing", func(_ *ui.BackupConfigurationPreview, c *fakeCluster) { delete(c.storages, "stash/default") },
			"BackupStorage stash/default not found"},
		{"storage in the BC namespace", func(p *ui.BackupConfigurationPreview, _ *fakeCluster) { p.Spec.StorageRef.Namespace = "" },
			"BackupStorage demo/default not found"},
		{"retention policy missing", func(_ *ui.BackupConfigurationPreview, c *fakeCluster) { delete(c.policies, "stash/default") },
			"RetentionPolicy stash/default not found"},
		{"addon missing", func(_ *ui.BackupConfigurationPreview, c *fakeCluster) { delete(c.addons, "mongodb-addon") },
			"Addon mongodb-addon not found"},
		{"restore task", func(p *ui.BackupConfigurationPreview, _ *fakeCluster) { task(p, 0, 0).Name = "logical-backup-restore" },
			"session full-backup: task logical-backup-restore is a restore task of Addon mongodb-addon; a BackupConfiguration needs one of its backup tasks: logical-backup, manifest-backup, volume-snapshot"},
		{"unknown task", func(p *ui.BackupConfigurationPreview, _ *fakeCluster) { task(p, 0, 0).Name = "LogicalBackup" },
			"session full-backup: task LogicalBackup is not a backup task of Addon mongodb-addon; its backup tasks are: logical-backup, manifest-backup, volume-snapshot"},
		{"kind not installed", func(_ *ui.BackupConfigurationPreview, c *fakeCluster) { delete(c.kinds, "kubedb.com/MongoDB") },
			"target kind MongoDB.kubedb.com is not installed in the cluster"},
		{"target missing", func(_ *ui.BackupConfigurationPreview, c *fakeCluster) {
			delete(c.targets, "kubedb.com/MongoDB/demo/mongodb")
		},
			"target MongoDB.kubedb.com demo/mongodb not found"},
		{"core target missing", func(p *ui.BackupConfigurationPreview, _ *fakeCluster) {
			p.Spec.Target = ui.TypedObjectReference{APIGroup: "core", Kind: "PersistentVolumeClaim", Namespace: "demo", Name: "data"}
		}, "target PersistentVolumeClaim demo/data not found"},
		{"BC exists", func(_ *ui.BackupConfigurationPreview, c *fakeCluster) { c.bcs["demo/mongodb-backup"] = true },
			"BackupConfiguration demo/mongodb-backup already exists: applying this manifest will update it"},
		{"target elsewhere", func(p *ui.BackupConfigurationPreview, c *fakeCluster) {
			p.Spec.Target.Namespace = "prod"
			c.targets["kubedb.com/MongoDB/prod/mongodb"] = true
		}, "target MongoDB.kubedb.com prod/mongodb is not in the BackupConfiguration's namespace demo: KubeStash requires the target in the same namespace"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, cl := validForm(), newFakeCluster()
			c.mut(p, cl)
			if w := Warnings(p, cl); !reflect.DeepEqual(w, []string{c.want}) {
				t.Errorf("got %q\nwant %q", w, c.want)
			}
		})
	}
}

func TestWarningsOrderAndDedup(t *testing.T) {
	p := validForm()
	twoSessions(p)
	p.Spec.Sessions[1].Addon = "mongodb-addon"
	c := &fakeCluster{} // nothing exists
	c.bcs = map[string]bool{"demo/mongodb-backup": true}
	want := []string{
		"BackupConfiguration demo/mongodb-backup already exists: applying this manifest will update it",
		"BackupStorage stash/default not found",
		"RetentionPolicy stash/default not found",
		"target kind MongoDB.kubedb.com is not installed in the cluster",
		"Addon mongodb-addon not found", // once, although two sessions use it
	}
	for range 5 {
		if w := Warnings(p, c); !reflect.DeepEqual(w, want) {
			t.Fatalf("got\n%s", strings.Join(w, "\n"))
		}
	}
}
