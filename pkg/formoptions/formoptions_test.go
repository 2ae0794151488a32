package formoptions

import (
	"fmt"
	"reflect"
	"slices"
	"testing"

	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"

	ui "github.com/kubestash/backupview/pkg/apis/ui/v1alpha1"
	"github.com/kubestash/backupview/pkg/kubestash"
	"github.com/kubestash/backupview/pkg/sources"
)

type fake struct {
	namespaces map[string]map[string]string // name -> labels
	storages   []*kubestash.BackupStorage
	policies   []*kubestash.RetentionPolicy
	addons     []*kubestash.Addon
	targets    map[string][]sources.TargetObject
	secrets    map[string][]string // nil: the check is off
}

func (f *fake) Namespace(name string) *kubestash.Namespace {
	l, ok := f.namespaces[name]
	if !ok {
		return nil
	}
	return &kubestash.Namespace{Meta: kubestash.Meta{Name: name, ResourceVersion: "5"}, Labels: l}
}
func (f *fake) BackupStorages() []*kubestash.BackupStorage      { return f.storages }
func (f *fake) RetentionPolicies() []*kubestash.RetentionPolicy { return f.policies }
func (f *fake) Addons() []*kubestash.Addon                      { return f.addons }
func (f *fake) TargetsIn(ns string) []sources.TargetObject      { return f.targets[ns] }
func (f *fake) SecretNames(ns string) ([]string, bool) {
	if f.secrets == nil {
		return nil, false
	}
	return f.secrets[ns], true
}

func meta(ns, name, rv string) kubestash.Meta {
	return kubestash.Meta{Namespace: ns, Name: name, ResourceVersion: rv}
}

func prodSelector(t *testing.T) labels.Selector {
	s, err := labels.Parse("env=prod")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func fixture(t *testing.T) *fake {
	same := kubestash.UsagePolicy{From: kubestash.NamespacesFromSame}
	all := kubestash.UsagePolicy{From: kubestash.NamespacesFromAll}
	sel := kubestash.UsagePolicy{From: kubestash.NamespacesFromSelector, Selector: prodSelector(t)}
	return &fake{
		namespaces: map[string]map[string]string{"demo": {"env": "prod"}, "dev": {"env": "dev"}},
		storages: []*kubestash.BackupStorage{
			{Meta: meta("kubestash", "s3", "10"), Provider: "s3", Phase: "Ready", UsagePolicy: all},
			{Meta: meta("kubestash", "gcs-prod", "11"), Provider: "gcs", UsagePolicy: sel, Default: true},
			{Meta: meta("kubestash", "private", "12"), Provider: "local", UsagePolicy: same},
			{Meta: meta("demo", "local", "13"), Provider: "local", UsagePolicy: same},
			{Meta: meta("other", "nobody", "14"), Provider: "local"}, // usagePolicy without from
		},
		policies: []*kubestash.RetentionPolicy{
			{Meta: meta("kubestash", "keep-1mo", "20"), MaxRetentionPeriod: "1mo", UsagePolicy: all},
			{Meta: meta("kubestash", "demo-default", "21"), MaxRetentionPeriod: "30d", UsagePolicy: sel, Default: true},
			{Meta: meta("dev", "dev-only", "22"), UsagePolicy: same},
		},
		addons: []*kubestash.Addon{
			{Meta: meta("", "pvc-addon", "30"), BackupTasks: []kubestash.AddonTask{{Name: "logical-backup"}}, RestoreTasks: []kubestash.AddonTask{{Name: "logical-backup-restore"}}},
			{Meta: meta("", "mongodb-addon", "31"), BackupTasks: []kubestash.AddonTask{{Name: "logical-backup",
				Parameters: []kubestash.TaskParameter{{Name: "args", Usage: "Arguments", Default: "--all"}, {Name: "scratchDir", Required: true}}}},
				RestoreTasks: []kubestash.AddonTask{{Name: "logical-backup-restore",
					Parameters: []kubestash.TaskParameter{{Name: "args", Usage: "Restore arguments", Default: "--drop"}}}, {Name: "manifest-restore"}}},
		},
		targets: map[string][]sources.TargetObject{"demo": {
			{GroupKind: schema.GroupKind{Kind: "PersistentVolumeClaim"}, Name: "data", ResourceVersion: "40"},
			{GroupKind: schema.GroupKind{Group: "kubedb.com", Kind: "MongoDB"}, Name: "mongo", ResourceVersion: "41"},
		}},
	}
}

// The options list exactly the storages and policies whose usagePolicy admits the namespace
// (Same, All, Selector), defaults first; Addons with their backup and restore tasks and their
// parameters; the namespace's targets; and Secret names only when checked.
func TestBuild(t *testing.T) {
	f := fixture(t)
	o, rv, ok := Build("demo", f)
	if !ok {
		t.Fatal("demo exists")
	}
	want := &ui.BackupConfigurationOptions{
		Storages: []ui.StorageOption{
			{Ref: "kubestash/gcs-prod", Namespace: "kubestash", Name: "gcs-prod", Provider: "gcs", Default: true, AllowedNamespaces: "Selector"},
			{Ref: "demo/local", Namespace: "demo", Name: "local", Provider: "local", AllowedNamespaces: "Same"},
			{Ref: "kubestash/s3", Namespace: "kubestash", Name: "s3", Provider: "s3", Phase: "Ready", AllowedNamespaces: "All"},
		},
		RetentionPolicies: []ui.RetentionPolicyOption{
			{Ref: "kubestash/demo-default", Namespace: "kubestash", Name: "demo-default", MaxRetentionPeriod: "30d", Default: true, AllowedNamespaces: "Selector"},
			{Ref: "kubestash/keep-1mo", Namespace: "kubestash", Name: "keep-1mo", MaxRetentionPeriod: "1mo", AllowedNamespaces: "All"},
		},
		Addons: []ui.AddonOption{
			{Name: "mongodb-addon", BackupTasks: []ui.TaskOption{{Name: "logical-backup", Parameters: []ui.TaskParameter{
				{Name: "args", Usage: "Arguments", Default: "--all"}, {Name: "scratchDir", Required: true}}}},
				RestoreTasks: []ui.TaskOption{{Name: "logical-backup-restore", Parameters: []ui.TaskParameter{
					{Name: "args", Usage: "Restore arguments", Default: "--drop"}}}, {Name: "manifest-restore"}}},
			{Name: "pvc-addon", BackupTasks: []ui.TaskOption{{Name: "logical-backup"}}, RestoreTasks: []ui.TaskOption{{Name: "logical-backup-restore"}}},
		},
		Targets: []ui.TargetOption{{Kind: "PersistentVolumeClaim", Name: "data"}, {APIGroup: "kubedb.com", Kind: "MongoDB", Name: "mongo"}},
	}
	want.Name, want.Namespace = ui.OptionsName, "demo"
	if !reflect.DeepEqual(o, want) {
		t.Errorf("got\n%+v\nwant\n%+v", o, want)
	}
	if rv != 41 {
		t.Errorf("rv = %d, want the newest source's, 41", rv)
	}

	// dev: the Selector does not match; its own Same policy does.
	o, _, _ = Build("dev", f)
	if len(o.Storages) != 1 || o.Storages[0].Ref != "kubestash/s3" {
		t.Errorf("dev storages: %+v", o.Storages)
	}
	if len(o.RetentionPolicies) != 2 || o.RetentionPolicies[0].Ref != "dev/dev-only" || o.RetentionPolicies[1].Ref != "kubestash/keep-1mo" {
		t.Errorf("dev policies: %+v", o.RetentionPolicies)
	}
	if o.EncryptionSecrets != nil {
		t.Errorf("secrets listed with the check off: %v", o.EncryptionSecrets)
	}
	f.secrets = map[string][]string{"dev": {"a", "b"}}
	if o, _, _ = Build("dev", f); !reflect.DeepEqual(o.EncryptionSecrets, []string{"a", "b"}) {
		t.Errorf("secrets: %v", o.EncryptionSecrets)
	}
	if _, _, ok := Build("gone", f); ok {
		t.Error("options of a namespace that does not exist")
	}
}

type fakeSource struct{ *fake }

func (f fakeSource) Namespaces() []*kubestash.Namespace {
	var out []*kubestash.Namespace
	for name := range f.namespaces {
		out = append(out, f.Namespace(name))
	}
	return out
}
func (f fakeSource) ListedResourceVersion() uint64 { return 1 }

// Affected: what each change of the sources does to the options, which read storages,
// policies and Addons (every namespace's), a namespace's labels, and target and Secret names.
func TestAffected(t *testing.T) {
	nsObj := func(name string, labels map[string]string) *kubestash.Namespace {
		return &kubestash.Namespace{Meta: kubestash.Meta{Name: name}, Labels: labels}
	}
	obj := func(ns, name string) *kubestash.Object { return &kubestash.Object{Meta: meta(ns, name, "1")} }
	widgets := schema.GroupKind{Group: "example.com", Kind: "Widget"}
	cases := []struct {
		name string
		c    sources.Change
		want string
	}{
		{"storage added", sources.Change{Object: &kubestash.BackupStorage{Meta: meta("kubestash", "s3", "1")}}, "all"},
		{"storage updated", sources.Change{Old: &kubestash.BackupStorage{}, Object: &kubestash.BackupStorage{}}, "all"},
		{"policy deleted", sources.Change{Object: &kubestash.RetentionPolicy{}, Deleted: true}, "all"},
		{"addon updated", sources.Change{Old: &kubestash.Addon{}, Object: &kubestash.Addon{}}, "all"},
		{"namespace added", sources.Change{Kind: sources.NamespaceKind, Object: nsObj("demo", nil)}, "[demo]"},
		{"namespace deleted", sources.Change{Kind: sources.NamespaceKind, Object: nsObj("demo", nil), Deleted: true}, "[demo]"},
		{"namespace labels changed", sources.Change{Kind: sources.NamespaceKind, Old: nsObj("demo", map[string]string{"env": "dev"}),
			Object: nsObj("demo", map[string]string{"env": "prod"})}, "[demo]"},
		{"namespace labels added", sources.Change{Kind: sources.NamespaceKind, Old: nsObj("demo", nil),
			Object: nsObj("demo", map[string]string{"env": "prod"})}, "[demo]"},
		{"namespace updated, labels unchanged", sources.Change{Kind: sources.NamespaceKind, Old: nsObj("demo", map[string]string{"env": "prod"}),
			Object: nsObj("demo", map[string]string{"env": "prod"})}, "none"},
		{"target added", sources.Change{Kind: widgets, Object: obj("demo", "w1")}, "[demo]"},
		{"target deleted", sources.Change{Kind: widgets, Object: obj("demo", "w1"), Deleted: true}, "[demo]"},
		{"target updated", sources.Change{Kind: widgets, Old: obj("demo", "w1"), Object: obj("demo", "w1")}, "none"},
		{"cluster-scoped target added", sources.Change{Kind: widgets, Object: obj("", "w1")}, "none"},
		{"target kind synced", sources.Change{Kind: widgets}, "none"},
		{"secret added", sources.Change{Kind: sources.SecretKind, Object: obj("dev", "enc")}, "[dev]"},
		{"secret deleted", sources.Change{Kind: sources.SecretKind, Object: obj("dev", "enc"), Deleted: true}, "[dev]"},
		{"secret updated", sources.Change{Kind: sources.SecretKind, Old: obj("dev", "enc"), Object: obj("dev", "enc")}, "none"},
		{"BackupConfiguration", sources.Change{Object: &kubestash.BackupConfiguration{Meta: meta("demo", "a", "1")}}, "none"},
		{"BackupSession", sources.Change{Object: &kubestash.BackupSession{Meta: meta("demo", "a-1", "1")}}, "none"},
		{"Repository", sources.Change{Object: &kubestash.Repository{Meta: meta("demo", "r", "1")}}, "none"},
		{"CronJob", sources.Change{Object: &kubestash.CronJob{Meta: meta("demo", "c", "1")}}, "none"},
		{"Snapshot", sources.Change{Object: &kubestash.Snapshot{Meta: meta("demo", "s", "1")}}, "none"},
	}
	for _, tc := range cases {
		namespaces, all := Affected(tc.c)
		got := fmt.Sprint(namespaces)
		switch {
		case all && namespaces == nil:
			got = "all"
		case all:
			got = "all and " + got
		case namespaces == nil:
			got = "none"
		}
		if got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
}

// Route: a namespace's change reaches its options; a change every namespace may be offered
// reaches every namespace's; a change of no options notifies nothing.
func TestRoute(t *testing.T) {
	src := fakeSource{fixture(t)}
	type call struct {
		keys    []string
		rv      uint64
		deleted bool
	}
	var got []call
	notify := func(keys []string, rv uint64, deleted bool) {
		keys = slices.Clone(keys)
		slices.Sort(keys)
		got = append(got, call{keys, rv, deleted})
	}
	Route(src, sources.Change{Kind: sources.NamespaceKind, Object: &kubestash.Namespace{Meta: kubestash.Meta{Name: "dev"}}, RV: 1, Deleted: true}, notify)
	Route(src, sources.Change{Object: &kubestash.Addon{}, RV: 2}, notify)
	Route(src, sources.Change{Kind: sources.SecretKind, Old: &kubestash.Object{}, Object: &kubestash.Object{Meta: meta("dev", "enc", "3")}, RV: 3}, notify)
	want := []call{{[]string{"dev/default"}, 1, true}, {[]string{"demo/default", "dev/default"}, 2, false}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("notified %+v, want %+v", got, want)
	}
}

// The cache's builder shares one Addons list between namespaces, and rebuilds it when an
// Addon changes.
func TestBuilderSharesAddons(t *testing.T) {
	f := fixture(t)
	b := Builder(fakeSource{f})
	demo, _, ok1 := b.Build("demo/default")
	dev, _, ok2 := b.Build("dev/default")
	if !ok1 || !ok2 || len(demo.Addons) != 2 || &demo.Addons[0] != &dev.Addons[0] {
		t.Fatalf("addons not shared: %v %v", ok1, ok2)
	}
	want, _, _ := Build("demo", f)
	if !reflect.DeepEqual(demo, want) {
		t.Errorf("builder and Build differ:\n%+v\n%+v", demo, want)
	}
	f.addons[0].ResourceVersion = "99"
	f.addons[0].BackupTasks = append(f.addons[0].BackupTasks, kubestash.AddonTask{Name: "volume-snapshot"})
	again, rv, _ := b.Build("demo/default")
	if len(again.Addons[1].BackupTasks) != 2 || rv != 99 {
		t.Errorf("changed Addon not rebuilt: %+v rv %d", again.Addons, rv)
	}
	if _, _, ok := b.Build("demo/other"); ok {
		t.Error("a name other than default exists")
	}
}
