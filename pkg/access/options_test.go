package access

import (
	"reflect"
	"testing"

	ui "github.com/kubestash/backupview/pkg/apis/ui/v1alpha1"
)

func testOptions() *ui.BackupConfigurationOptions {
	o := &ui.BackupConfigurationOptions{
		Storages: []ui.StorageOption{{Ref: "demo/local", Namespace: "demo", Name: "local"}, {Ref: "kubestash/s3", Namespace: "kubestash", Name: "s3"}},
		RetentionPolicies: []ui.RetentionPolicyOption{{Ref: "kubestash/keep", Namespace: "kubestash", Name: "keep"},
			{Ref: "demo/short", Namespace: "demo", Name: "short"}},
		Addons:            []ui.AddonOption{{Name: "mongodb-addon"}},
		Targets:           []ui.TargetOption{{APIGroup: "kubedb.com", Kind: "MongoDB", Name: "mongo"}, {Kind: "PersistentVolumeClaim", Name: "data"}},
		EncryptionSecrets: []string{"encrypt"},
	}
	o.Name, o.Namespace = ui.OptionsName, "demo"
	return o
}

// Every entry is shown only to a caller who may get it: no entry says anything by the
// namespace of the options alone.
func TestRedactOptions(t *testing.T) {
	f := newFake(
		"alice get storage.kubestash.com/backupstorages demo",
		"alice get storage.kubestash.com/retentionpolicies demo",
		"alice get kubedb.com/mongodbs demo",
		"alice get /persistentvolumeclaims demo",
		"bob get storage.kubestash.com/backupstorages demo",
		"bob get storage.kubestash.com/backupstorages kubestash",
		"bob get storage.kubestash.com/retentionpolicies demo",
		"bob get storage.kubestash.com/retentionpolicies kubestash",
		"bob get addons.kubestash.com/addons ",
		"bob get kubedb.com/mongodbs demo",
		"bob get /persistentvolumeclaims demo",
		"bob get /secrets demo",
	)
	c := New(f.authorizer(), Options{})
	o := testOptions()
	before := testOptions()

	got := c.RedactOptions(as("alice"))(o)
	want := testOptions()
	want.Storages = want.Storages[:1]
	want.RetentionPolicies = want.RetentionPolicies[1:]
	want.Addons, want.EncryptionSecrets = nil, nil
	if !reflect.DeepEqual(got, want) {
		t.Errorf("alice sees\n%+v\nwant\n%+v", got, want)
	}
	if !reflect.DeepEqual(o, before) {
		t.Errorf("the cached options were modified: %+v", o)
	}
	if got := c.RedactOptions(as("bob"))(o); got != o {
		t.Errorf("bob may get everything: want the cached object itself, got a copy %+v", got)
	}
	if got := c.RedactOptions(as("eve"))(o); len(got.Storages)+len(got.RetentionPolicies)+len(got.Addons)+len(got.Targets)+len(got.EncryptionSecrets) != 0 {
		t.Errorf("eve may get nothing but sees %+v", got)
	}
}
