package kubestash

import (
	"reflect"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// withMeta is an object whose metadata carries what a kubectl-applied, server-side-managed
// object carries: managedFields and kubectl's last-applied-configuration.
func withMeta(extra map[string]interface{}) obj {
	o := obj{
		"metadata": obj{
			"name": "x", "namespace": "prod", "uid": "u1", "resourceVersion": "7",
			"creationTimestamp": "2026-11-27T04:00:00Z",
			"labels":            obj{"team": "a"},
			"annotations": obj{
				LastAppliedAnnotation: `{"apiVersion":"storage.kubestash.com/v1alpha1","spec":{"secret":"s3-creds"}}`,
				"example.com/owner":   "team-a",
			},
			"managedFields":   []interface{}{obj{"manager": "kubectl", "operation": "Apply", "fieldsV1": obj{"f:spec": obj{}}}},
			"ownerReferences": []interface{}{obj{"apiVersion": CoreGroup + "/v1alpha1", "kind": "BackupConfiguration", "name": "bc", "uid": "u0", "controller": true}},
		},
	}
	for k, v := range extra {
		o[k] = v
	}
	return o
}

// TestDecodeDropsLastAppliedAndManagedFields: no decoded object keeps kubectl's copy of the
// applied object or managedFields, so no view can copy them (of a joined object, nor of the
// BackupConfiguration into the view's metadata); other annotations are kept.
func TestDecodeDropsLastAppliedAndManagedFields(t *testing.T) {
	metas := map[string]metav1.ObjectMeta{
		"BackupConfiguration": DecodeBackupConfiguration(withMeta(nil)).ObjectMeta,
		"BackupSession":       DecodeBackupSession(withMeta(nil)).ObjectMeta,
		"Repository":          DecodeRepository(withMeta(nil)).ObjectMeta,
		"BackupStorage":       DecodeBackupStorage(withMeta(nil)).ObjectMeta,
		"RetentionPolicy":     DecodeRetentionPolicy(withMeta(nil)).ObjectMeta,
		"CronJob":             DecodeCronJob(withMeta(nil)).ObjectMeta,
		"Addon":               DecodeAddon(withMeta(nil)).ObjectMeta,
	}
	for kind, m := range metas {
		if _, ok := m.Annotations[LastAppliedAnnotation]; ok {
			t.Errorf("%s keeps %s", kind, LastAppliedAnnotation)
		}
		if m.ManagedFields != nil {
			t.Errorf("%s keeps managedFields", kind)
		}
	}
	// Those that keep annotations keep the others.
	for _, kind := range []string{"BackupConfiguration", "RetentionPolicy", "CronJob"} {
		if want := map[string]string{"example.com/owner": "team-a"}; !reflect.DeepEqual(metas[kind].Annotations, want) {
			t.Errorf("%s annotations = %v, want %v", kind, metas[kind].Annotations, want)
		}
	}
	// Only last-applied: no empty map left behind (omitempty then omits it).
	o := withMeta(nil)
	o["metadata"].(obj)["annotations"] = obj{LastAppliedAnnotation: "{}"}
	if a := DecodeRetentionPolicy(o).Annotations; a != nil {
		t.Errorf("annotations = %#v, want nil", a)
	}
}
