package loader

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	kubefake "k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kubestash/backupview/pkg/kubestash"
	"github.com/kubestash/backupview/test/scale"
)

// fakes are a dynamic client that gives every created object a uid (as kube-apiserver does;
// the fake does not) and a typed client for the marker.
func fakes() (Clients, *dynamicfake.FakeDynamicClient) {
	dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), nil)
	var n atomic.Int64
	dyn.PrependReactor("create", "*", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if u, ok := a.(k8stesting.CreateAction).GetObject().(*unstructured.Unstructured); ok {
			u.SetUID(types.UID(fmt.Sprintf("uid-%d", n.Add(1))))
		}
		return false, nil, nil
	})
	return Clients{Dyn: dyn, Kube: kubefake.NewClientset()}, dyn
}

var uneven = scale.Scale{Name: "uneven", Namespaces: 3, BCs: 7, Sessions: 23, Repositories: 4, Storages: 3, Policies: 2, Snapshots: true}

func get(t *testing.T, c Clients, gvr schema.GroupVersionResource, ns, name string) *unstructured.Unstructured {
	t.Helper()
	u, err := c.Dyn.Resource(gvr).Namespace(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("%s %s/%s: %v", gvr.Resource, ns, name, err)
	}
	return u
}

// TestLoadCreatesTheScale: every object of the scale is created with its status, the
// dependents are owned by their BackupConfiguration's uid, the counts add up, and the marker
// records the load.
func TestLoadCreatesTheScale(t *testing.T) {
	c, dyn := fakes()
	sc := uneven
	res, err := Load(context.Background(), c, sc, Options{Concurrency: 4, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	actions := dyn.Actions()
	statuses := 0
	check := func(o scale.Object) {
		u := o.Unstructured()
		got := get(t, c, o.Resource, u.GetNamespace(), u.GetName())
		if o.Status != nil {
			statuses++
			if !reflect.DeepEqual(got.Object["status"], o.Status) {
				t.Errorf("%s %s/%s: status %v, want %v", o.Resource.Resource, u.GetNamespace(), u.GetName(), got.Object["status"], o.Status)
			}
		}
	}
	for _, o := range append(sc.NamespaceObjects(), sc.SharedObjects()...) {
		check(o)
	}
	for i := 0; i < sc.BCs; i++ {
		bc := sc.BackupConfiguration(i)
		check(bc)
		uid := string(get(t, c, kubestash.BackupConfigurations, sc.Namespace(i), scale.BCName(i)).GetUID())
		if uid == "" {
			t.Fatal("the fake gave no uid")
		}
		refs, sessions := sc.Dependents(i, uid)
		for _, o := range append(refs, sessions...) {
			check(o) // the owner reference with the uid is part of the object
			u := o.Unstructured()
			if o.Resource == kubestash.CronJobs || o.Resource == kubestash.BackupSessions {
				got := get(t, c, o.Resource, u.GetNamespace(), u.GetName())
				if refs := got.GetOwnerReferences(); len(refs) != 1 || string(refs[0].UID) != uid {
					t.Errorf("%s %s: owners %+v, want uid %s", o.Resource.Resource, u.GetName(), refs, uid)
				}
			}
		}
		// The Snapshots are owned by the Repository, created before them.
		snaps, want := sc.SnapshotsOf(i, ""), 0
		if sc.HasRepository(i) {
			want = sc.SessionsOf(i)
		}
		if len(snaps) != want {
			t.Errorf("BC %d: %d Snapshots, want %d", i, len(snaps), want)
		}
		for _, o := range snaps {
			u := o.Unstructured()
			got := get(t, c, o.Resource, u.GetNamespace(), u.GetName())
			repoUID := get(t, c, kubestash.Repositories, u.GetNamespace(), scale.RepositoryName(i)).GetUID()
			if refs := got.GetOwnerReferences(); len(refs) != 1 || refs[0].UID != repoUID || repoUID == "" {
				t.Errorf("Snapshot %s: owners %+v, want the Repository's uid %s", u.GetName(), refs, repoUID)
			}
			check(o)
		}
	}
	if res.Objects != sc.Total()+1 { // and the shared namespace (see scale.Total)
		t.Errorf("%d objects, want %d", res.Objects, sc.Total()+1)
	}
	creates, others := 0, 0
	for _, a := range actions {
		switch a.GetVerb() {
		case "create":
			creates++
		default:
			others++
		}
	}
	if creates != res.Objects || others != statuses || res.Requests != int64(creates+others) {
		t.Errorf("%d creates and %d other requests for %d objects with %d statuses; reported %d requests", creates, others, res.Objects, statuses, res.Requests)
	}
	m, err := ReadMarker(context.Background(), c.Kube)
	if err != nil || m == nil || m.Scale != sc || m.Objects != res.Objects || m.Requests != res.Requests {
		t.Fatalf("marker %+v, %v; want the load %+v", m, err, res)
	}

	// Loaded: a second load of the scale does nothing; one of another scale is refused.
	dyn.ClearActions()
	again, err := Load(context.Background(), c, sc, Options{Concurrency: 4})
	if err != nil || again.Objects != res.Objects || len(dyn.Actions()) != 0 {
		t.Errorf("second load: %+v, %v, %d requests; want the recorded load and none", again, err, len(dyn.Actions()))
	}
	if _, err := Load(context.Background(), c, scale.Tiny, Options{Concurrency: 4}); err == nil || !strings.Contains(err.Error(), "cluster holds scale") {
		t.Errorf("load of another scale: %v", err)
	}
}

// TestLoadStopsAtTheFirstError: a failing request fails the load, stops the rest and leaves
// no marker.
func TestLoadStopsAtTheFirstError(t *testing.T) {
	c, dyn := fakes()
	boom := errors.New("boom")
	var after atomic.Int64
	var failed atomic.Bool
	dyn.PrependReactor("create", "backupsessions", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if failed.Load() {
			after.Add(1)
		}
		if a.(k8stesting.CreateAction).GetObject().(*unstructured.Unstructured).GetName() == scale.Small.BackupSessionName(3, 2) {
			failed.Store(true)
			return true, nil, boom
		}
		return false, nil, nil
	})
	_, err := Load(context.Background(), c, scale.Small, Options{Concurrency: 2})
	if !errors.Is(err, boom) {
		t.Fatalf("load: %v, want boom", err)
	}
	// 2 requests in flight, 4 BackupConfigurations at a time: the requests already handed out
	// when the error came may still run (30 seen under load); the other ~1,970 must not.
	if n := after.Load(); n > 200 {
		t.Errorf("%d BackupSessions created after the failure", n)
	}
	if m, _ := ReadMarker(context.Background(), c.Kube); m != nil {
		t.Errorf("marker written after a failed load: %+v", m)
	}
}

// TestLoadResumes: a load interrupted by an error leaves no marker; the next load resumes
// it: it creates what is missing, writes only the statuses that are missing, counts what
// existed and writes the marker.
func TestLoadResumes(t *testing.T) {
	c, dyn := fakes()
	sc := uneven
	var failed atomic.Bool
	dyn.PrependReactor("create", "backupsessions", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.(k8stesting.CreateAction).GetObject().(*unstructured.Unstructured).GetName() == sc.BackupSessionName(3, 2) && !failed.Swap(true) {
			return true, nil, errors.New("boom")
		}
		return false, nil, nil
	})
	if _, err := Load(context.Background(), c, sc, Options{Concurrency: 2}); err == nil {
		t.Fatal("the first load did not fail")
	}
	if m, _ := ReadMarker(context.Background(), c.Kube); m != nil {
		t.Fatalf("marker after the interrupted load: %+v", m)
	}
	// What the interrupted load left: objects, and those with their status.
	var objs []scale.Object
	objs = append(objs, sc.NamespaceObjects()...)
	objs = append(objs, sc.SharedObjects()...)
	for i := 0; i < sc.BCs; i++ {
		refs, sessions := sc.Dependents(i, "")
		objs = append(append(append(append(objs, sc.BackupConfiguration(i)), refs...), sc.SnapshotsOf(i, "")...), sessions...)
	}
	existing, done, statuses := 0, 0, 0
	for _, o := range objs {
		u := o.Unstructured()
		got, err := c.Dyn.Resource(o.Resource).Namespace(u.GetNamespace()).Get(context.Background(), u.GetName(), metav1.GetOptions{})
		if o.Status != nil {
			statuses++
		}
		if err != nil {
			continue
		}
		existing++
		if o.Status != nil && reflect.DeepEqual(got.Object["status"], o.Status) {
			done++
		}
	}
	if existing == 0 || existing == len(objs) {
		t.Fatalf("the interrupted load left %d of %d objects; the test needs some, not all", existing, len(objs))
	}
	dyn.ClearActions()
	res, err := Load(context.Background(), c, sc, Options{Concurrency: 2})
	if err != nil {
		t.Fatal(err)
	}
	writes := 0
	for _, a := range dyn.Actions() {
		if a.GetVerb() == "update" {
			writes++
		}
	}
	if res.Existing != existing || res.Objects != len(objs) || writes != statuses-done {
		t.Errorf("resumed: %d existing, %d objects, %d status writes; want %d, %d, %d", res.Existing, res.Objects, writes, existing, len(objs), statuses-done)
	}
	for _, o := range objs {
		u := o.Unstructured()
		got := get(t, c, o.Resource, u.GetNamespace(), u.GetName())
		if o.Status != nil && !reflect.DeepEqual(got.Object["status"], o.Status) {
			t.Errorf("%s %s/%s: status not written", o.Resource.Resource, u.GetNamespace(), u.GetName())
		}
	}
	if m, _ := ReadMarker(context.Background(), c.Kube); m == nil || m.Existing != existing {
		t.Errorf("marker %+v, want the resumed load", m)
	}
}
