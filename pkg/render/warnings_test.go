package render

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	ui "github.com/kubestash/backupview/pkg/apis/ui/v1alpha1"
)

// fakeCluster holds the design example's objects; tests delete from it. The caller may get
// everything unless denyAll or deny says otherwise.
type fakeCluster struct {
	storages, policies, bcs map[string]bool // "ns/name"
	addons                  map[string][2][]string
	kinds                   map[string]bool // "group/Kind"
	backedUp                map[string]bool // "ns/group/Kind": a BackupConfiguration in ns backs the kind up
	targets                 map[string]bool // "group/Kind/ns/name"
	denyAll                 bool
	deny                    map[string]bool   // "group/resource/ns"
	usage                   map[string]string // "Kind fromNS ns/name": why its usagePolicy does not admit fromNS
	secrets                 map[string]bool   // "ns/name"; nil: Secrets are not watched
}

func newFakeCluster() *fakeCluster {
	return &fakeCluster{
		storages: map[string]bool{"stash/default": true},
		policies: map[string]bool{"stash/default": true},
		bcs:      map[string]bool{},
		addons: map[string][2][]string{"mongodb-addon": {
			{"logical-backup", "manifest-backup", "volume-snapshot"},
			{"logical-backup-restore", "manifest-restore"}}},
		kinds:    map[string]bool{"kubedb.com/MongoDB": true, "/PersistentVolumeClaim": true},
		backedUp: map[string]bool{"demo/kubedb.com/MongoDB": true, "demo//PersistentVolumeClaim": true, "prod/kubedb.com/MongoDB": true},
		targets:  map[string]bool{"kubedb.com/MongoDB/demo/mongodb": true},
	}
}

func (c *fakeCluster) BackupStorage(ns, name, fromNS string) (bool, string) {
	return c.storages[ns+"/"+name], c.usage["BackupStorage "+fromNS+" "+ns+"/"+name]
}
func (c *fakeCluster) RetentionPolicy(ns, name, fromNS string) (bool, string) {
	return c.policies[ns+"/"+name], c.usage["RetentionPolicy "+fromNS+" "+ns+"/"+name]
}
func (c *fakeCluster) BackupConfigurationExists(ns, name string) bool {
	return c.bcs[ns+"/"+name]
}
func (c *fakeCluster) Secret(ns, name string) (bool, bool) {
	return c.secrets[ns+"/"+name], c.secrets != nil
}
func (c *fakeCluster) Addon(name string) ([]string, []string, bool) {
	a, ok := c.addons[name]
	return a[0], a[1], ok
}
func (c *fakeCluster) Target(group, kind, ns, name, fromNS string) TargetState {
	switch {
	case !c.kinds[group+"/"+kind]:
		return TargetKindNotServed
	case !c.backedUp[fromNS+"/"+group+"/"+kind]:
		return TargetNotChecked
	case !c.targets[group+"/"+kind+"/"+ns+"/"+name]:
		return TargetNotFound
	}
	return TargetFound
}
func (c *fakeCluster) MayGet(group, resource, ns string) (bool, string) {
	if c.denyAll || c.deny[group+"/"+resource+"/"+ns] {
		if ns == "" {
			return false, "you cannot get " + resource + " (cluster-scoped)"
		}
		return false, "you cannot get " + resource + " in namespace " + ns
	}
	return true, ""
}
func (c *fakeCluster) MayGetKind(group, kind, ns string) (bool, string) {
	return c.MayGet(group, strings.ToLower(kind)+"s", ns)
}

func TestNoWarningsWhenEverythingExists(t *testing.T) {
	p := validForm()
	twoTasks(p)
	if w := Warnings(p, newFakeCluster()); len(w) != 0 {
		t.Errorf("unexpected warnings: %q", w)
	}
	c := newFakeCluster()
	c.secrets = map[string]bool{"demo/encrypt-secret": true}
	if w := Warnings(validForm(), c); len(w) != 0 {
		t.Errorf("unexpected warnings with the Secret watched and there: %q", w)
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
		{"kind no BackupConfiguration of the namespace backs up", func(_ *ui.BackupConfigurationPreview, c *fakeCluster) {
			delete(c.backedUp, "demo/kubedb.com/MongoDB")
			delete(c.targets, "kubedb.com/MongoDB/demo/mongodb") // not "not found": unknown
		}, "existence of target MongoDB.kubedb.com demo/mongodb not checked: backupview watches only the kinds that BackupConfigurations in namespace demo back up"},
		{"encryption Secret missing, Secrets watched", func(_ *ui.BackupConfigurationPreview, c *fakeCluster) { c.secrets = map[string]bool{} },
			"encryption Secret demo/encrypt-secret not found"},
		{"encryption Secret not to be checked by this caller", func(_ *ui.BackupConfigurationPreview, c *fakeCluster) {
			c.secrets = map[string]bool{"demo/encrypt-secret": true}
			c.deny = map[string]bool{"/secrets/demo": true}
		}, "cannot check encryption Secret demo/encrypt-secret: you cannot get secrets in namespace demo"},
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

// TestWarningsFollowTheCaller: of an object outside the preview's namespace, a caller who may
// not get it there learns nothing: the warnings are identical whether it exists or not. In
// the preview's own namespace nothing changes.
func TestWarningsFollowTheCaller(t *testing.T) {
	elsewhere := func(p *ui.BackupConfigurationPreview) {
		p.Spec.StorageRef = ui.ObjectReference{Namespace: "prod", Name: "s3"}
		p.Spec.RetentionPolicy = ui.ObjectReference{Namespace: "prod", Name: "keep"}
		p.Spec.Target.Namespace = "prod"
	}
	exists := func(c *fakeCluster) *fakeCluster {
		c.storages["prod/s3"], c.policies["prod/keep"], c.targets["kubedb.com/MongoDB/prod/mongodb"] = true, true, true
		return c
	}
	want := []string{
		"cannot check BackupStorage prod/s3: you cannot get backupstorages in namespace prod",
		"cannot check RetentionPolicy prod/keep: you cannot get retentionpolicies in namespace prod",
		"target MongoDB.kubedb.com prod/mongodb is not in the BackupConfiguration's namespace demo: KubeStash requires the target in the same namespace",
		"cannot check target MongoDB.kubedb.com prod/mongodb: you cannot get mongodbs in namespace prod",
		"cannot check Addon mongodb-addon: you cannot get addons (cluster-scoped)",
	}
	for _, setup := range []struct {
		name string
		c    *fakeCluster
	}{
		{"they exist", exists(newFakeCluster())},
		{"they do not", newFakeCluster()},
		{"they do not, nor the Addon", func() *fakeCluster {
			c := newFakeCluster()
			delete(c.addons, "mongodb-addon")
			return c
		}()},
		{"they exist, kind not backed up in demo", func() *fakeCluster {
			c := exists(newFakeCluster())
			delete(c.backedUp, "demo/kubedb.com/MongoDB")
			return c
		}()},
	} {
		p := validForm()
		elsewhere(p)
		setup.c.denyAll = true
		if w := Warnings(p, setup.c); !reflect.DeepEqual(w, want) {
			t.Errorf("%s: got\n%s", setup.name, strings.Join(w, "\n"))
		}
	}

	// A caller who may get them there is told, as before.
	p := validForm()
	elsewhere(p)
	got := Warnings(p, newFakeCluster())
	for _, w := range []string{"BackupStorage prod/s3 not found", "RetentionPolicy prod/keep not found", "target MongoDB.kubedb.com prod/mongodb not found"} {
		if !slices.Contains(got, w) {
			t.Errorf("allowed caller: %q missing from %q", w, got)
		}
	}
	// Only what is denied is hidden.
	c := newFakeCluster()
	c.deny = map[string]bool{"storage.kubestash.com/retentionpolicies/prod": true}
	got = Warnings(p, c)
	if !slices.Contains(got, "BackupStorage prod/s3 not found") || !slices.Contains(got, "cannot check RetentionPolicy prod/keep: you cannot get retentionpolicies in namespace prod") {
		t.Errorf("policy denied only: %q", got)
	}

	// The preview's own namespace: today's warnings, whatever the caller may get elsewhere
	// (Addons are cluster-scoped: the caller who may not get them is not told).
	p = validForm()
	p.Spec.StorageRef = ui.ObjectReference{Name: "gcs"}
	p.Spec.RetentionPolicy = ui.ObjectReference{Namespace: "demo", Name: "keep"}
	c = newFakeCluster()
	c.denyAll = true
	delete(c.targets, "kubedb.com/MongoDB/demo/mongodb")
	want = []string{"BackupStorage demo/gcs not found", "RetentionPolicy demo/keep not found", "target MongoDB.kubedb.com demo/mongodb not found",
		"cannot check Addon mongodb-addon: you cannot get addons (cluster-scoped)"}
	if w := Warnings(p, c); !reflect.DeepEqual(w, want) {
		t.Errorf("own namespace: got %q", w)
	}
}

// A storage or policy whose usagePolicy does not admit the form's namespace gets a warning
// naming the rule; one the caller may not get in its namespace only the neutral one, so the
// rule (and so the object's existence) is not revealed.
func TestUsagePolicyWarnings(t *testing.T) {
	p := validForm()
	c := newFakeCluster()
	c.usage = map[string]string{
		"BackupStorage demo stash/default":   "its usagePolicy.allowedNamespaces.from is Same: only BackupConfigurations in namespace stash may use it",
		"RetentionPolicy demo stash/default": "its usagePolicy.allowedNamespaces.from is Selector and the labels of namespace demo do not match the selector",
	}
	got := Warnings(p, ForCaller(c, c))
	for _, want := range []string{
		"BackupStorage stash/default may not be used from namespace demo: its usagePolicy.allowedNamespaces.from is Same: only BackupConfigurations in namespace stash may use it; the KubeStash webhook would reject this BackupConfiguration",
		"RetentionPolicy stash/default may not be used from namespace demo: its usagePolicy.allowedNamespaces.from is Selector and the labels of namespace demo do not match the selector; the KubeStash webhook would reject this BackupConfiguration",
	} {
		if !slices.Contains(got, want) {
			t.Errorf("missing warning %q in %q", want, got)
		}
	}
	c.deny = map[string]bool{"storage.kubestash.com/backupstorages/stash": true}
	got = Warnings(p, ForCaller(c, c))
	for _, w := range got {
		if strings.Contains(w, "BackupStorage stash/default may not") {
			t.Errorf("usagePolicy of a storage the caller may not get revealed: %q", w)
		}
	}
	if !slices.Contains(got, "cannot check BackupStorage stash/default: you cannot get backupstorages in namespace stash") {
		t.Errorf("no neutral warning: %q", got)
	}
}
