package sources

import (
	"context"
	"fmt"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	discoveryfake "k8s.io/client-go/discovery/fake"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	metadatafake "k8s.io/client-go/metadata/fake"
	clienttesting "k8s.io/client-go/testing"

	"github.com/kubestash/backupview/pkg/kubestash"
)

var sourceKinds = []struct {
	gvr  schema.GroupVersionResource
	kind string
}{{kubestash.BackupConfigurations, "BackupConfiguration"}, {kubestash.BackupSessions, "BackupSession"}, {kubestash.Repositories, "Repository"},
	{kubestash.BackupStorages, "BackupStorage"}, {kubestash.RetentionPolicies, "RetentionPolicy"}, {kubestash.Addons, "Addon"}, {kubestash.CronJobs, "CronJob"},
	{kubestash.Snapshots, "Snapshot"}, {kubestash.BackupVerifiers, "BackupVerifier"},
	{kubestash.BackupVerificationSessions, "BackupVerificationSession"}}

// fakeCluster serves every source kind plus extra resources, through a discovery that records
// its requests.
func fakeCluster(t testing.TB, extra []*metav1.APIResourceList, objs ...runtime.Object) (*discoveryfake.FakeDiscovery, *dynamicfake.FakeDynamicClient) {
	t.Helper()
	lists := map[schema.GroupVersionResource]string{}
	byGV := map[string][]metav1.APIResource{}
	var order []string
	for _, k := range sourceKinds {
		lists[k.gvr] = k.kind + "List"
		gv := k.gvr.GroupVersion().String()
		if _, ok := byGV[gv]; !ok {
			order = append(order, gv)
		}
		byGV[gv] = append(byGV[gv], metav1.APIResource{Name: k.gvr.Resource, Kind: k.kind, Namespaced: k.gvr != kubestash.Addons})
	}
	disco := &discoveryfake.FakeDiscovery{Fake: &clienttesting.Fake{}}
	for _, gv := range order {
		disco.Resources = append(disco.Resources, &metav1.APIResourceList{GroupVersion: gv, APIResources: byGV[gv]})
	}
	disco.Resources = append(disco.Resources, extra...)
	return disco, dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), lists, objs...)
}

func bcTargeting(ns, name, group, kind, target string) *unstructured.Unstructured {
	o := bcObj(ns, name, "uid-"+name, "", "s3", "keep", "r")
	o.Object["spec"].(map[string]interface{})["target"] = map[string]interface{}{"apiGroup": group, "kind": kind, "namespace": ns, "name": target}
	return o
}

func widget(ns, name string) *metav1.PartialObjectMetadata {
	return &metav1.PartialObjectMetadata{TypeMeta: metav1.TypeMeta{APIVersion: "example.com/v1", Kind: "Widget"},
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, ResourceVersion: "7"}}
}

var examples = &metav1.APIResourceList{GroupVersion: "example.com/v1", APIResources: []metav1.APIResource{
	{Name: "widgets", Kind: "Widget", Namespaced: true}, {Name: "widgets/status", Kind: "Widget", Namespaced: true},
	{Name: "gadgets", Kind: "Gadget", Namespaced: true}}}

func eventually(t *testing.T, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting: %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// refreshes counts discovery refreshes: each starts with the group list.
func refreshes(actions []clienttesting.Action) int {
	n := 0
	for _, a := range actions {
		if a.GetVerb() == "get" && a.GetResource().Resource == "group" {
			n++
		}
	}
	return n
}

func targetStatuses(s *Sources) []string {
	var out []string
	for _, st := range s.Statuses()[len(s.kinds):] {
		out = append(out, st.Resource)
	}
	return out
}

// Lookups never ask discovery and never start informers, however many kinds they name: what
// is watched follows the BackupConfigurations, and a kind installed later is found by the poll.
func TestTargetKindsFollowBackupConfigurationsNotLookups(t *testing.T) {
	disco, dyn := fakeCluster(t, []*metav1.APIResourceList{examples},
		bcTargeting("demo", "a", "example.com", "Widget", "w1"), bcTargeting("demo", "b", "later.example.com", "Thing", "t1"))
	scheme := metadatafake.NewTestScheme()
	scheme.AddKnownTypeWithName(schema.GroupVersionKind{Group: "example.com", Version: "v1", Kind: "Widget"}, &metav1.PartialObjectMetadata{})
	md := metadatafake.NewSimpleMetadataClient(scheme, widget("demo", "w1"))
	s := New(dynamicLister{dyn}, md, disco, func(Change) {})
	s.SetPollInterval(time.Hour) // the test polls by hand
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s.Start(ctx)
	eventually(t, "sources synced", s.HasSynced)
	s.StartTargets(s.TargetKinds())
	w1 := kubestash.TypedRef{APIGroup: "example.com", Kind: "Widget", Namespace: "demo", Name: "w1"}
	eventually(t, "the referenced Widget kind watched and synced", func() bool { o, inst := s.Target(w1); return inst && o != nil })
	if got := fmt.Sprint(targetStatuses(s)); got != "[widgets.example.com]" {
		t.Fatalf("watched target kinds = %s, want [widgets.example.com] (a kind not served is not watched)", got)
	}

	asked := len(disco.Actions())
	for i := range 500 {
		ref := kubestash.TypedRef{APIGroup: fmt.Sprintf("made-up-%d.example.com", i), Kind: fmt.Sprintf("Kind%d", i), Namespace: "demo", Name: "x"}
		if o, inst := s.Target(ref); o != nil || inst {
			t.Fatalf("Target(%v) = %v, %v for a kind nothing watches", ref, o, inst)
		}
		if s.KindServed(schema.GroupKind{Group: ref.APIGroup, Kind: ref.Kind}) {
			t.Fatalf("KindServed(%v) for a made-up kind", ref)
		}
	}
	// A served kind no BackupConfiguration references: known to discovery, not watched.
	if !s.KindServed(schema.GroupKind{Group: "example.com", Kind: "Gadget"}) || s.KindServed(schema.GroupKind{Group: "example.com", Kind: "GadgetList"}) {
		t.Error("KindServed: Gadget must be served, GadgetList (a guessed kind) not")
	}
	gadget := kubestash.TypedRef{APIGroup: "example.com", Kind: "Gadget", Namespace: "demo", Name: "g"}
	if o, inst := s.Target(gadget); o != nil || inst {
		t.Error("Target of a kind no BackupConfiguration references reports it watched")
	}
	s.StartTargets([]schema.GroupKind{{Group: "example.com", Kind: "Gadget"}, {Group: "made-up.example.com", Kind: "Kind1"}})
	if n := len(disco.Actions()); n != asked {
		t.Errorf("lookups of 500 made-up kinds made %d discovery requests, want 0", n-asked)
	}
	if got := fmt.Sprint(targetStatuses(s)); got != "[widgets.example.com]" {
		t.Errorf("after lookups of made-up kinds, watched target kinds = %s", got)
	}

	// However many kinds were asked for, the next poll asks discovery once.
	s.poll()
	if got := refreshes(disco.Actions()[asked:]); got != 1 {
		t.Errorf("one poll after 500 lookups: %d discovery refreshes, want 1", got)
	}

	// The kind BC b references appears: the next poll watches it.
	things := &metav1.APIResourceList{GroupVersion: "later.example.com/v1", APIResources: []metav1.APIResource{{Name: "things", Kind: "Thing", Namespaced: true}}}
	disco.Resources = append(disco.Resources, things)
	if _, inst := s.Target(kubestash.TypedRef{APIGroup: "later.example.com", Kind: "Thing", Namespace: "demo", Name: "t1"}); inst {
		t.Fatal("Thing watched before any poll saw it")
	}
	s.poll()
	if _, inst := s.Target(kubestash.TypedRef{APIGroup: "later.example.com", Kind: "Thing", Namespace: "demo", Name: "t1"}); !inst {
		t.Fatal("a target kind installed later was not watched after the next poll")
	}

	// Everything resolved, nothing asked for: a poll asks discovery nothing.
	asked = len(disco.Actions())
	s.poll()
	if n := len(disco.Actions()) - asked; n != 0 {
		t.Errorf("a poll with nothing missing made %d discovery requests", n)
	}

	// A CRD installed after the last poll: KindServed answers from that poll ("no"), and the
	// miss has the next poll ask again, so that later previews see it.
	disco.Resources = append(disco.Resources, &metav1.APIResourceList{GroupVersion: "new.example.com/v1",
		APIResources: []metav1.APIResource{{Name: "doohickeys", Kind: "Doohickey", Namespaced: true}}})
	doohickey := schema.GroupKind{Group: "new.example.com", Kind: "Doohickey"}
	if s.KindServed(doohickey) {
		t.Fatal("KindServed asked discovery")
	}
	asked = len(disco.Actions())
	s.poll()
	if !s.KindServed(doohickey) || refreshes(disco.Actions()[asked:]) != 1 {
		t.Error("a kind KindServed missed is not looked for at the next poll")
	}
	asked = len(disco.Actions())

	// A new BackupConfiguration naming a served kind watches it at once (its add event), with
	// no discovery request.
	if _, err := dyn.Resource(kubestash.BackupConfigurations).Namespace("demo").Create(ctx,
		bcTargeting("demo", "c", "example.com", "Gadget", "g"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the Gadget kind watched after a BackupConfiguration names it", func() bool { _, inst := s.Target(gadget); return inst })
	if n := len(disco.Actions()) - asked; n != 0 {
		t.Errorf("watching a served kind made %d discovery requests", n)
	}
}
