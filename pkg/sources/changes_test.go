package sources

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	metadatafake "k8s.io/client-go/metadata/fake"

	"github.com/kubestash/backupview/pkg/kubestash"
)

// await waits for a recorded Change that match accepts, and returns it.
func (r *recorder) await(t *testing.T, what string, match func(Change) bool) Change {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		r.mu.Lock()
		i := slices.IndexFunc(r.changes, match)
		var c Change
		if i >= 0 {
			c = r.changes[i]
		}
		r.mu.Unlock()
		if i >= 0 {
			return c
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no Change: %s", what)
	return Change{}
}

func nameOf(o interface{}) string {
	if m, ok := o.(interface{ GetName() string }); ok {
		return m.GetName()
	}
	return fmt.Sprintf("%T", o)
}

// The sources report every change as it is, with its kind and the objects as stored: the old
// state on an update, the last state on a deletion, a target kind's syncing as a Change with
// no object, and namespaces and Secrets through the same sink.
func TestChangesReportTheObjectsAsStored(t *testing.T) {
	core := &metav1.APIResourceList{GroupVersion: "v1", APIResources: []metav1.APIResource{
		{Name: "namespaces", Kind: "Namespace"}, {Name: "secrets", Kind: "Secret", Namespaced: true}}}
	bc := bcTargeting("demo", "a", "example.com", "Widget", "w1")
	bc.SetResourceVersion("5")
	disco, dyn := fakeCluster(t, []*metav1.APIResourceList{examples, core}, bc)
	scheme := metadatafake.NewTestScheme()
	for _, gvk := range []schema.GroupVersionKind{{Group: "example.com", Version: "v1", Kind: "Widget"}, {Version: "v1", Kind: "Namespace"}, {Version: "v1", Kind: "Secret"}} {
		scheme.AddKnownTypeWithName(gvk, &metav1.PartialObjectMetadata{})
	}
	ns := &metav1.PartialObjectMetadata{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"},
		ObjectMeta: metav1.ObjectMeta{Name: "demo", Labels: map[string]string{"env": "dev"}}}
	secret := &metav1.PartialObjectMetadata{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: metav1.ObjectMeta{Namespace: "demo", Name: "enc"}}
	md := metadatafake.NewSimpleMetadataClient(scheme, widget("demo", "w1"), ns, secret)
	s, rec := newRecorded(dynamicLister{dyn}, md, disco)
	s.WatchNamespaces()
	s.WatchSecretNames()
	s.SetPollInterval(time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s.Start(ctx)
	eventually(t, "sources synced", s.HasSynced)
	s.StartTargets(s.TargetKinds())

	bcKind := schema.GroupKind{Group: "core.kubestash.com", Kind: "BackupConfiguration"}
	widgetKind := schema.GroupKind{Group: "example.com", Kind: "Widget"}
	added := func(gk schema.GroupKind, name string) func(Change) bool {
		return func(c Change) bool {
			return c.Kind == gk && c.Old == nil && !c.Deleted && c.Object != nil && nameOf(c.Object) == name
		}
	}
	if c := rec.await(t, "BackupConfiguration added", added(bcKind, "a")); c.RV != 5 {
		t.Errorf("BackupConfiguration's Change: resourceVersion %d, want 5", c.RV)
	} else if _, ok := c.Object.(*kubestash.BackupConfiguration); !ok {
		t.Errorf("a BackupConfiguration's Change holds a %T", c.Object)
	}
	if c := rec.await(t, "Widget added", added(widgetKind, "w1")); c.RV != 7 {
		t.Errorf("Widget's Change: resourceVersion %d, want 7", c.RV)
	} else if _, ok := c.Object.(*kubestash.Object); !ok {
		t.Errorf("a target's Change holds a %T", c.Object)
	}
	rec.await(t, "Widget kind synced", func(c Change) bool { return c.Kind == widgetKind && c.Object == nil && c.Old == nil })
	if c := rec.await(t, "namespace added", added(NamespaceKind, "demo")); c.Object.(*kubestash.Namespace).Labels["env"] != "dev" {
		t.Errorf("namespace's Change: %+v", c.Object)
	}
	if c := rec.await(t, "Secret added", added(SecretKind, "enc")); c.Object.(*kubestash.Object).Namespace != "demo" {
		t.Errorf("Secret's Change: %+v", c.Object)
	}
	rec.reset()
	// Routed as the server does, a target's update reaches the view backing it up.
	w1 := widget("demo", "w1")
	w1.ResourceVersion = "8"
	widgets := schema.GroupVersionResource{Group: "example.com", Version: "v1", Resource: "widgets"}
	if _, err := md.Resource(widgets).Namespace("demo").(metadatafake.MetadataClient).UpdateFake(w1, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := rec.next(t); got != "demo/a" {
		t.Errorf("a target's update notified %q, want demo/a", got)
	}
	c := rec.await(t, "Widget updated", func(c Change) bool { return c.Kind == widgetKind && c.Old != nil })
	if nameOf(c.Old) != "w1" || nameOf(c.Object) != "w1" || c.RV != 8 || c.Deleted {
		t.Errorf("target update: %+v", c)
	}

	// Updates carry the old state.
	bc.SetLabels(map[string]string{"x": "y"})
	if _, err := dyn.Resource(kubestash.BackupConfigurations).Namespace("demo").Update(ctx, bc, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	c = rec.await(t, "BackupConfiguration updated", func(c Change) bool { return c.Kind == bcKind && c.Old != nil })
	if o, n := c.Old.(*kubestash.BackupConfiguration), c.Object.(*kubestash.BackupConfiguration); o.Labels["x"] != "" || n.Labels["x"] != "y" || c.Deleted {
		t.Errorf("update: old labels %v, new %v, deleted %v", o.Labels, n.Labels, c.Deleted)
	}
	ns.Labels = map[string]string{"env": "prod"}
	if _, err := md.Resource(namespacesGVR).(metadatafake.MetadataClient).UpdateFake(ns, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	c = rec.await(t, "namespace updated", func(c Change) bool { return c.Kind == NamespaceKind && c.Old != nil })
	if o, n := c.Old.(*kubestash.Namespace), c.Object.(*kubestash.Namespace); o.Labels["env"] != "dev" || n.Labels["env"] != "prod" {
		t.Errorf("namespace update: old %v, new %v", o.Labels, n.Labels)
	}

	// Deletions carry the last state, and no old one.
	if err := dyn.Resource(kubestash.BackupConfigurations).Namespace("demo").Delete(ctx, "a", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	c = rec.await(t, "BackupConfiguration deleted", func(c Change) bool { return c.Kind == bcKind && c.Deleted })
	if o, ok := c.Object.(*kubestash.BackupConfiguration); !ok || o.Name != "a" || o.Labels["x"] != "y" || c.Old != nil {
		t.Errorf("deletion: %+v", c)
	}
	if err := md.Resource(widgets).Namespace("demo").Delete(ctx, "w1", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	c = rec.await(t, "Widget deleted", func(c Change) bool { return c.Kind == widgetKind && c.Deleted })
	if nameOf(c.Object) != "w1" || c.Old != nil {
		t.Errorf("target deletion: %+v", c)
	}
	if err := md.Resource(secretsGVR).Namespace("demo").Delete(ctx, "enc", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	rec.await(t, "Secret deleted", func(c Change) bool { return c.Kind == SecretKind && c.Deleted && nameOf(c.Object) == "enc" })
}

// The referrer lookups answer from the BackupConfigurations' index: a reference without a
// namespace is the BackupConfiguration's own, a target and its kind by their normalized group,
// a UID only within its namespace.
func TestReferrerLookups(t *testing.T) {
	disco, dyn := fakeCluster(t, nil,
		bcObj("prod", "a", "uid-a", "kubestash", "s3", "keep", "r1"),
		bcObj("prod", "b", "uid-b", "", "gcs", "keep", "r2"),
		bcObj("demo", "c", "uid-c", "kubestash", "s3", "keep", "r1"))
	s := New(dynamicLister{dyn}, metadatafake.NewSimpleMetadataClient(metadatafake.NewTestScheme()), disco, func(Change) {})
	s.SetPollInterval(time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s.Start(ctx)
	eventually(t, "sources synced", s.HasSynced)

	for _, tc := range []struct {
		name string
		got  []string
		want string
	}{
		{"storage in another namespace", s.BackupConfigurationsUsing(kubestash.BackupStorages, "kubestash", "s3"), "[demo/c prod/a]"},
		{"storage by a reference without namespace", s.BackupConfigurationsUsing(kubestash.BackupStorages, "prod", "gcs"), "[prod/b]"},
		{"policy by a reference without namespace", s.BackupConfigurationsUsing(kubestash.RetentionPolicies, "prod", "keep"), "[prod/a prod/b]"},
		{"repository", s.BackupConfigurationsUsing(kubestash.Repositories, "prod", "r1"), "[prod/a]"},
		{"repository of another version", s.BackupConfigurationsUsing(kubestash.Repositories.GroupResource().WithVersion("v1"), "demo", "r1"), "[demo/c]"},
		{"a kind no BackupConfiguration uses by name", s.BackupConfigurationsUsing(kubestash.Addons, "prod", "r1"), "[]"},
		{"target", s.BackupConfigurationsBackingUp(kubestash.TypedRef{APIGroup: "kubedb.com", Kind: "Postgres", Namespace: "prod", Name: "a-db"}), "[prod/a]"},
		{"target kind", s.BackupConfigurationsBackingUpKind(schema.GroupKind{Group: "kubedb.com", Kind: "Postgres"}), "[demo/c prod/a prod/b]"},
		{"uid", s.BackupConfigurationsWithUID("prod", types.UID("uid-b")), "[prod/b]"},
		{"uid from another namespace", s.BackupConfigurationsWithUID("demo", types.UID("uid-b")), "[]"},
		{"no uid", s.BackupConfigurationsWithUID("prod", ""), "[]"},
	} {
		if got := fmt.Sprint(tc.got); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
}
