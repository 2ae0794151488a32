package kubestash

import (
	"testing"

	"k8s.io/apimachinery/pkg/types"
)

// A BackupSession belongs to its spec.invoker when that names a BackupConfiguration, else to a
// BackupConfiguration controller owner; nothing else makes it belong.
func TestBackupSessionBackupConfigurationName(t *testing.T) {
	owner := func(apiVersion, kind, name string, controller bool) string {
		c := "false"
		if controller {
			c = "true"
		}
		return "  ownerReferences: [{apiVersion: " + apiVersion + ", kind: " + kind + ", name: " + name + ", uid: u1, controller: " + c + "}]\n"
	}
	const bcOwner = "core.kubestash.com/v1alpha1"
	cases := []struct {
		name, yaml string
		want       string
		ok         bool
	}{
		{"invoker", "metadata:\n  name: s\nspec:\n  invoker: {apiGroup: core.kubestash.com, kind: BackupConfiguration, name: a}\n", "a", true},
		{"invoker without apiGroup", "metadata:\n  name: s\nspec:\n  invoker: {kind: BackupConfiguration, name: a}\n", "a", true},
		{"invoker wins over the owner", "metadata:\n  name: s\n" + owner(bcOwner, "BackupConfiguration", "b", true) +
			"spec:\n  invoker: {apiGroup: core.kubestash.com, kind: BackupConfiguration, name: a}\n", "a", true},
		{"controller owner when the invoker is another kind", "metadata:\n  name: s\n" + owner(bcOwner, "BackupConfiguration", "b", true) +
			"spec:\n  invoker: {apiGroup: core.kubestash.com, kind: BackupBatch, name: x}\n", "b", true},
		{"controller owner when the invoker has no name", "metadata:\n  name: s\n" + owner(bcOwner, "BackupConfiguration", "b", true) +
			"spec:\n  invoker: {apiGroup: core.kubestash.com, kind: BackupConfiguration}\n", "b", true},
		{"an owner that is not the controller", "metadata:\n  name: s\n" + owner(bcOwner, "BackupConfiguration", "b", false), "", false},
		{"a controller of another group", "metadata:\n  name: s\n" + owner("other.example.com/v1", "BackupConfiguration", "b", true), "", false},
		{"invoker of another group", "metadata:\n  name: s\nspec:\n  invoker: {apiGroup: other.example.com, kind: BackupConfiguration, name: a}\n", "", false},
		{"neither", "metadata:\n  name: s\n", "", false},
	}
	for _, tc := range cases {
		got, ok := DecodeBackupSession(parse(t, tc.yaml)).BackupConfigurationName()
		if got != tc.want || ok != tc.ok {
			t.Errorf("%s: BackupConfigurationName() = %q, %v, want %q, %v", tc.name, got, ok, tc.want, tc.ok)
		}
	}
}

// A CronJob is a BackupConfiguration's only through a controller owner reference of that kind
// that carries a UID.
func TestCronJobBackupConfigurationUID(t *testing.T) {
	cases := []struct {
		name, owners string
		want         types.UID
		ok           bool
	}{
		{"controller", "[{apiVersion: core.kubestash.com/v1alpha1, kind: BackupConfiguration, name: a, uid: u1, controller: true}]", "u1", true},
		{"controller without a uid", "[{apiVersion: core.kubestash.com/v1alpha1, kind: BackupConfiguration, name: a, controller: true}]", "", false},
		{"owner, not controller", "[{apiVersion: core.kubestash.com/v1alpha1, kind: BackupConfiguration, name: a, uid: u1}]", "", false},
		{"controller of another kind", "[{apiVersion: core.kubestash.com/v1alpha1, kind: BackupBatch, name: a, uid: u1, controller: true}]", "", false},
		{"none", "[]", "", false},
	}
	for _, tc := range cases {
		c := DecodeCronJob(parse(t, "metadata:\n  name: trigger-a-full\n  ownerReferences: "+tc.owners+"\n"))
		if got, ok := c.BackupConfigurationUID(); got != tc.want || ok != tc.ok {
			t.Errorf("%s: BackupConfigurationUID() = %q, %v, want %q, %v", tc.name, got, ok, tc.want, tc.ok)
		}
	}
}
