package sources

import (
	"k8s.io/apimachinery/pkg/types"

	"fmt"
	"slices"
	"testing"

	"github.com/kubestash/backupview/pkg/kubestash"
)

func session(ns, name, bc, rv string) *kubestash.BackupSession {
	return &kubestash.BackupSession{Meta: kubestash.Meta{Namespace: ns, Name: name, ResourceVersion: rv},
		Invoker: kubestash.InvokerOf(kubestash.CoreGroup, "BackupConfiguration"), InvokerName: bc}
}

func names(l []*kubestash.BackupSession) []string {
	out := []string{}
	for _, s := range l {
		out = append(out, s.Name+"@"+s.ResourceVersion)
	}
	slices.Sort(out)
	return out
}

// The store reports what a SharedIndexInformer's handlers saw: a relist adds what is new,
// updates what changed, keeps what did not (silently) and deletes what is gone; an Add of a
// known object is an update; the first Replace marks it synced once reported.
func TestStoreReportsChangesAsAnInformer(t *testing.T) {
	var got []string
	st := newStore(newSessionIndex(), func(c change) {
		switch {
		case c.deleted:
			got = append(got, "delete "+c.obj.GetName())
		case c.old != nil:
			got = append(got, "update "+c.obj.GetName()+" "+c.old.GetResourceVersion()+"->"+c.obj.GetResourceVersion())
		default:
			got = append(got, "add "+c.obj.GetName())
		}
	})
	if st.hasSynced() {
		t.Fatal("synced before the first list")
	}
	_ = st.Replace([]interface{}{&wireObject{Object: session("ns", "a", "bc", "1")}, session("ns", "b", "bc", "2")}, "2")
	if !st.hasSynced() {
		t.Fatal("not synced after the first list")
	}
	_ = st.Add(session("ns", "a", "bc", "3"))
	_ = st.Update(session("ns", "c", "other", "4"))
	_ = st.Replace([]interface{}{session("ns", "a", "bc", "3"), session("ns", "b", "bc", "5")}, "5")
	_ = st.Delete(session("ns", "b", "bc", "6"))
	want := []string{"add a", "add b", "update a 1->3", "add c", "update b 2->5", "delete c", "delete b"}
	if !slices.Equal(got, want) {
		t.Fatalf("reported %q, want %q", got, want)
	}
	x := st.index.(*sessionIndex)
	if l := names(x.byBC[key{"ns", "bc"}]); !slices.Equal(l, []string{"a@3"}) {
		t.Errorf("byBC ns/bc: %v", l)
	}
	if len(x.byBC) != 1 || st.len() != 1 {
		t.Errorf("left: %d groups, %d objects", len(x.byBC), st.len())
	}
}

// A session whose BackupConfiguration changes moves between groups; its update replaces it in
// place.
func TestSessionIndexMoves(t *testing.T) {
	st := newStore(newSessionIndex(), func(change) {})
	_ = st.Replace(nil, "1")
	_ = st.Add(session("ns", "a", "one", "1"))
	_ = st.Add(session("ns", "b", "one", "1"))
	_ = st.Update(session("ns", "a", "two", "2"))
	_ = st.Update(session("ns", "b", "one", "3"))
	x := st.index.(*sessionIndex)
	if l := names(x.byBC[key{"ns", "one"}]); !slices.Equal(l, []string{"b@3"}) {
		t.Errorf("one: %v", l)
	}
	if l := names(x.byBC[key{"ns", "two"}]); !slices.Equal(l, []string{"a@2"}) {
		t.Errorf("two: %v", l)
	}
}

func bcWithStorage(ns, name, uid, storage string) *kubestash.BackupConfiguration {
	return &kubestash.BackupConfiguration{Meta: kubestash.Meta{Namespace: ns, Name: name, ResourceVersion: "1"}, UID: types.UID(uid),
		Backends: []kubestash.Backend{{Name: "b", StorageRef: &kubestash.Ref{Namespace: "storage", Name: storage}}}}
}

// An index value many BackupConfigurations share turns into a set and back, and a changed
// reference moves.
func TestBCIndexSharedValues(t *testing.T) {
	st := newStore(newBCIndex(), func(change) {})
	_ = st.Replace(nil, "1")
	n := 40
	for i := range n {
		_ = st.Add(bcWithStorage("ns", fmt.Sprint("bc", i), fmt.Sprint("uid", i), "s3"))
	}
	x := st.index.(*bcIndex)
	if l := x.lookup(objectRef(refStorage, "storage", "s3")); len(l) != n {
		t.Fatalf("%d referrers, want %d", len(l), n)
	}
	for i := range n - 1 {
		_ = st.Update(bcWithStorage("ns", fmt.Sprint("bc", i), fmt.Sprint("uid", i), "gcs"))
	}
	if l := x.lookup(objectRef(refStorage, "storage", "s3")); !slices.Equal(l, []string{fmt.Sprint("ns/bc", n-1)}) {
		t.Errorf("s3 referrers: %v", l)
	}
	if l := x.lookup(objectRef(refStorage, "storage", "gcs")); len(l) != n-1 {
		t.Errorf("%d gcs referrers, want %d", len(l), n-1)
	}
	if l := x.byUID.lookup(uidKey("ns", "uid7")); !slices.Equal(l, []string{"ns/bc7"}) {
		t.Errorf("by UID: %v", l)
	}
	for i := range n {
		_ = st.Delete(bcWithStorage("ns", fmt.Sprint("bc", i), fmt.Sprint("uid", i), "gcs"))
	}
	if len(x.objects)+len(x.targets)+len(x.kinds)+len(x.byUID) != 0 {
		t.Errorf("left: %v %v %v %v", x.objects, x.targets, x.kinds, x.byUID)
	}
}
