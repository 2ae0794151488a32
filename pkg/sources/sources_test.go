package sources

import (
	"context"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery"
	discoveryfake "k8s.io/client-go/discovery/fake"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/metadata"
	metadatafake "k8s.io/client-go/metadata/fake"
	clienttesting "k8s.io/client-go/testing"

	"github.com/kubestash/backupview/pkg/join"
	"github.com/kubestash/backupview/pkg/kubestash"
)

// recorder is a Sink that records every Change, and the views each one affects as the server
// routes it (join.Affected over the sources' lookups) when it affects any.
type recorder struct {
	mu      sync.Mutex
	src     join.Referrers // the sources, set once New returned them (before Start)
	changes []Change
	calls   [][]string
}

func (r *recorder) sink(c Change) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.changes = append(r.changes, c)
	if r.src == nil {
		return
	}
	if keys := join.Affected(r.src, c.Kind, c.Old, c.Object); len(keys) > 0 {
		r.calls = append(r.calls, keys)
	}
}

// newRecorded makes sources whose sink is a new recorder.
func newRecorded(lister Lister, md metadata.Interface, disco discovery.DiscoveryInterface) (*Sources, *recorder) {
	rec := &recorder{}
	s := New(lister, md, disco, rec.sink)
	rec.src = s
	return s, rec
}

func (r *recorder) reset() { r.mu.Lock(); r.calls, r.changes = nil, nil; r.mu.Unlock() }

// next waits for the next notification and returns its keys, sorted.
func (r *recorder) next(t *testing.T) string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		r.mu.Lock()
		if len(r.calls) > 0 {
			k := r.calls[0]
			r.calls = r.calls[1:]
			r.mu.Unlock()
			sort.Strings(k)
			return strings.Join(k, ",")
		}
		r.mu.Unlock()
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("no notification")
	return ""
}

func u(gvr schema.GroupVersionResource, kind, ns, name string, fields map[string]interface{}) *unstructured.Unstructured {
	o := &unstructured.Unstructured{Object: map[string]interface{}{}}
	for k, v := range fields {
		o.Object[k] = v
	}
	o.SetAPIVersion(gvr.GroupVersion().String())
	o.SetKind(kind)
	o.SetNamespace(ns)
	o.SetName(name)
	return o
}

func bcObj(ns, name, uid, storageNS, storage, policy, repo string) *unstructured.Unstructured {
	o := u(kubestash.BackupConfigurations, "BackupConfiguration", ns, name, map[string]interface{}{
		"spec": map[string]interface{}{
			"target":   map[string]interface{}{"apiGroup": "kubedb.com", "kind": "Postgres", "namespace": ns, "name": name + "-db"},
			"backends": []interface{}{map[string]interface{}{"name": "b", "storageRef": map[string]interface{}{"namespace": storageNS, "name": storage}, "retentionPolicy": map[string]interface{}{"name": policy}}},
			"sessions": []interface{}{map[string]interface{}{"name": "full", "repositories": []interface{}{map[string]interface{}{"name": repo,
				"backupVerifier": map[string]interface{}{"namespace": "verify", "name": repo + "-check"}}}}},
		},
	})
	o.SetUID(types.UID(uid))
	return o
}

func TestChangesNotifyExactlyTheAffectedViews(t *testing.T) {
	scheme := runtime.NewScheme()
	lists := map[schema.GroupVersionResource]string{}
	resources := map[string][]metav1.APIResource{}
	for _, k := range sourceKinds {
		lists[k.gvr] = k.kind + "List"
		gv := k.gvr.GroupVersion().String()
		resources[gv] = append(resources[gv], metav1.APIResource{Name: k.gvr.Resource, Kind: k.kind, Namespaced: k.gvr != kubestash.Addons})
	}
	disco := &discoveryfake.FakeDiscovery{Fake: &clienttesting.Fake{}}
	for gv, rs := range resources {
		disco.Resources = append(disco.Resources, &metav1.APIResourceList{GroupVersion: gv, APIResources: rs})
	}
	a := bcObj("prod", "a", "uid-a", "kubestash", "s3", "keep", "r1")
	b := bcObj("prod", "b", "uid-b", "", "gcs", "other", "r2")
	c := bcObj("demo", "c", "uid-c", "kubestash", "s3", "keep", "r1")
	dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(scheme, lists, a, b, c)
	md := metadatafake.NewSimpleMetadataClient(metadatafake.NewTestScheme())

	s, rec := newRecorded(dynamicLister{dyn}, md, disco)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s.Start(ctx)
	for !s.HasSynced() {
		time.Sleep(10 * time.Millisecond)
	}
	for range 3 { // the initial ADD of each BackupConfiguration
		rec.next(t)
	}
	rec.reset()

	create := func(gvr schema.GroupVersionResource, o *unstructured.Unstructured) {
		t.Helper()
		if _, err := dyn.Resource(gvr).Namespace(o.GetNamespace()).Create(ctx, o, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	invoker := func(name string) map[string]interface{} {
		return map[string]interface{}{"invoker": map[string]interface{}{"apiGroup": "core.kubestash.com", "kind": "BackupConfiguration", "name": name}}
	}
	cases := []struct {
		name string
		do   func()
		want string
	}{
		{"session by invoker", func() {
			create(kubestash.BackupSessions, u(kubestash.BackupSessions, "BackupSession", "prod", "a-1", map[string]interface{}{"spec": invoker("a")}))
		}, "prod/a"},
		{"session in another namespace with the same invoker name", func() {
			create(kubestash.BackupSessions, u(kubestash.BackupSessions, "BackupSession", "demo", "a-2", map[string]interface{}{"spec": invoker("a")}))
		}, "demo/a"},
		{"session by controller owner only", func() {
			o := u(kubestash.BackupSessions, "BackupSession", "prod", "b-1", nil)
			tr := true
			o.SetOwnerReferences([]metav1.OwnerReference{{APIVersion: "core.kubestash.com/v1alpha1", Kind: "BackupConfiguration", Name: "b", UID: "uid-b", Controller: &tr}})
			create(kubestash.BackupSessions, o)
		}, "prod/b"},
		{"shared storage", func() {
			create(kubestash.BackupStorages, u(kubestash.BackupStorages, "BackupStorage", "kubestash", "s3", nil))
		}, "demo/c,prod/a"},
		{"storage in the BC's namespace by empty ref namespace", func() {
			create(kubestash.BackupStorages, u(kubestash.BackupStorages, "BackupStorage", "prod", "gcs", nil))
		}, "prod/b"},
		{"retention policy", func() {
			create(kubestash.RetentionPolicies, u(kubestash.RetentionPolicies, "RetentionPolicy", "prod", "keep", nil))
		}, "prod/a"},
		{"repository", func() { create(kubestash.Repositories, u(kubestash.Repositories, "Repository", "prod", "r1", nil)) }, "prod/a"},
		{"snapshot of a repository", func() { create(kubestash.Snapshots, snapshotObj("prod", "r1-snap", "r1")) }, "prod/a"},
		{"verifier of a repository, in another namespace", func() {
			create(kubestash.BackupVerifiers, u(kubestash.BackupVerifiers, "BackupVerifier", "verify", "r1-check", nil))
		}, "demo/c,prod/a"},
		{"verification session by invoker", func() {
			create(kubestash.BackupVerificationSessions, u(kubestash.BackupVerificationSessions, "BackupVerificationSession", "prod", "a-verify-1",
				map[string]interface{}{"spec": map[string]interface{}{"invoker": map[string]interface{}{"apiGroup": "core.kubestash.com", "kind": "BackupConfiguration", "name": "a"}, "repository": "r1"}}))
		}, "prod/a"},
		{"cronjob by owner uid", func() {
			o := u(kubestash.CronJobs, "CronJob", "demo", "trigger-c-full", nil)
			tr := true
			o.SetOwnerReferences([]metav1.OwnerReference{{APIVersion: "core.kubestash.com/v1alpha1", Kind: "BackupConfiguration", Name: "c", UID: "uid-c", Controller: &tr}})
			create(kubestash.CronJobs, o)
		}, "demo/c"},
		{"bc itself", func() {
			o := bcObj("prod", "b", "uid-b", "", "gcs", "other", "r2")
			o.SetLabels(map[string]string{"x": "y"})
			if _, err := dyn.Resource(kubestash.BackupConfigurations).Namespace("prod").Update(ctx, o, metav1.UpdateOptions{}); err != nil {
				t.Fatal(err)
			}
		}, "prod/b"},
	}
	for _, tc := range cases {
		tc.do()
		if got := rec.next(t); got != tc.want {
			t.Errorf("%s: notified %q, want %q", tc.name, got, tc.want)
		}
	}
	// The lookups answer from the caches.
	if got := len(s.BackupSessions("prod/a")); got != 1 {
		t.Errorf("sessions of prod/a = %d", got)
	}
	if got := len(s.BackupSessions("prod/b")); got != 1 {
		t.Errorf("sessions of prod/b (owner reference) = %d", got)
	}
	if l, synced := s.VerificationSessions("prod/a"); !synced || len(l) != 1 || s.BackupVerifier("verify", "r1-check") == nil {
		t.Errorf("verification sessions of prod/a = %d (synced %v), verifier %v", len(l), synced, s.BackupVerifier("verify", "r1-check"))
	}
	if got := len(s.CronJobs("demo", "uid-c")); got != 1 {
		t.Errorf("cronjobs of c = %d", got)
	}
	if s.BackupStorage("kubestash", "s3") == nil || s.RetentionPolicy("prod", "keep") == nil || s.Repository("prod", "r1") == nil {
		t.Error("lookups miss created objects")
	}
	if len(s.MissingKinds()) != 0 {
		t.Errorf("missing kinds = %v", s.MissingKinds())
	}
}

func TestMissingCRDsAreReportedNotFatal(t *testing.T) {
	disco := &discoveryfake.FakeDiscovery{Fake: &clienttesting.Fake{}}
	disco.Resources = []*metav1.APIResourceList{{GroupVersion: "batch/v1", APIResources: []metav1.APIResource{{Name: "cronjobs", Kind: "CronJob", Namespaced: true}}}}
	dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), map[schema.GroupVersionResource]string{kubestash.CronJobs: "CronJobList"})
	s := New(dynamicLister{dyn}, metadatafake.NewSimpleMetadataClient(metadatafake.NewTestScheme()), disco, func(Change) {})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s.Start(ctx)
	deadline := time.Now().Add(5 * time.Second)
	for !s.HasSynced() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if !s.HasSynced() {
		t.Fatal("absent CRDs must not block sync")
	}
	if got := len(s.MissingKinds()); got != len(sourceKinds)-1 { // all but CronJobs
		t.Errorf("missing kinds = %v", s.MissingKinds())
	}
	if s.BackupConfigurations() != nil || s.BackupConfiguration("x/y") != nil {
		t.Error("absent kinds must read as empty")
	}
}
