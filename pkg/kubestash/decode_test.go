package kubestash

import (
	"encoding/json"
	"reflect"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// withMeta is an object whose metadata carries what a kubectl-applied, server-side-managed
// object carries: managedFields and kubectl's last-applied-configuration.
func withMeta(extra map[string]interface{}) []byte {
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
	return js(o)
}

type obj = map[string]interface{}

func js(o obj) []byte {
	data, err := json.Marshal(o)
	if err != nil {
		panic(err)
	}
	return data
}

// TestDecodeDropsLastAppliedAndManagedFields: no decoded object keeps kubectl's copy of the
// applied object or managedFields, so no view can copy them (of a joined object, nor of the
// BackupConfiguration into the view's metadata); other annotations are kept.
func TestDecodeDropsLastAppliedAndManagedFields(t *testing.T) {
	// (managedFields: Meta has no field for them.)
	metas := map[string]metav1.Object{
		"BackupConfiguration": DecodeBackupConfiguration(withMeta(nil)),
		"BackupSession":       DecodeBackupSession(withMeta(nil)),
		"Repository":          DecodeRepository(withMeta(nil)),
		"BackupStorage":       DecodeBackupStorage(withMeta(nil)),
		"RetentionPolicy":     DecodeRetentionPolicy(withMeta(nil)),
		"CronJob":             DecodeCronJob(withMeta(nil)),
		"Addon":               DecodeAddon(withMeta(nil)),
	}
	for kind, m := range metas {
		if _, ok := m.GetAnnotations()[LastAppliedAnnotation]; ok {
			t.Errorf("%s keeps %s", kind, LastAppliedAnnotation)
		}
		if m.GetName() != "x" || m.GetNamespace() != "prod" || m.GetResourceVersion() != "7" || m.GetCreationTimestamp().Time.IsZero() {
			t.Errorf("%s metadata through metav1.Object: %s/%s %s %v", kind, m.GetNamespace(), m.GetName(), m.GetResourceVersion(), m.GetCreationTimestamp())
		}
	}
	// Those that keep annotations keep the others.
	for _, kind := range []string{"BackupConfiguration", "RetentionPolicy", "CronJob"} {
		if want := map[string]string{"example.com/owner": "team-a"}; !reflect.DeepEqual(metas[kind].GetAnnotations(), want) {
			t.Errorf("%s annotations = %v, want %v", kind, metas[kind].GetAnnotations(), want)
		}
	}
	// The kinds' own metadata fields read through metav1.Object too.
	if bc := metas["BackupConfiguration"]; bc.GetUID() != "u1" || bc.GetLabels()["team"] != "a" {
		t.Errorf("BackupConfiguration uid %q labels %v", bc.GetUID(), bc.GetLabels())
	}
	if o := metas["CronJob"].GetOwnerReferences(); len(o) != 1 || o[0].Name != "bc" || o[0].UID != "u0" {
		t.Errorf("CronJob owner references %v", o)
	}
	// A session whose invoker does not name its BackupConfiguration keeps its controller.
	if o := metas["BackupSession"].GetOwnerReferences(); len(o) != 1 || o[0].Name != "bc" {
		t.Errorf("BackupSession owner references %v", o)
	}
	// Only last-applied: no empty map left behind (omitempty then omits it).
	o := js(obj{"metadata": obj{"annotations": obj{LastAppliedAnnotation: "{}"}}})
	if a := DecodeRetentionPolicy(o).Annotations; a != nil {
		t.Errorf("annotations = %#v, want nil", a)
	}
}
