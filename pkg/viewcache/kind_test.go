package viewcache

import (
	"context"
	"sync"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
)

// metaBuilder is a Builder of another kind than views: PartialObjectMetadata, one per key,
// with the labels it holds.
type metaBuilder struct {
	mu     sync.Mutex
	labels map[string]map[string]string // key -> labels
	rv     map[string]uint64
}

func (m *metaBuilder) Keys() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var keys []string
	for k := range m.labels {
		keys = append(keys, k)
	}
	return keys
}

func (m *metaBuilder) Build(key string) (*metav1.PartialObjectMetadata, uint64, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	l, ok := m.labels[key]
	if !ok {
		return nil, 0, false
	}
	ns, name := key[:1], key[2:]
	return &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: l}}, m.rv[key], true
}

func (m *metaBuilder) ListedResourceVersion() uint64      { return 0 }
func (m *metaBuilder) New() *metav1.PartialObjectMetadata { return &metav1.PartialObjectMetadata{} }
func (m *metaBuilder) set(key string, rv uint64, l map[string]string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.labels[key], m.rv[key] = l, rv
}

// The store, the rebuilder and the watches know nothing of views: another kind gets the same
// versions, filtering, deletions carrying the last state, and bookmarks of its own type.
func TestAnyKind(t *testing.T) {
	m := &metaBuilder{labels: map[string]map[string]string{"a/x": {"team": "red"}, "a/y": {"team": "blue"}}, rv: map[string]uint64{"a/x": 10, "a/y": 11}}
	c := New("metas", Builder[*metav1.PartialObjectMetadata](m), Options{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go c.Run(ctx)
	if err := c.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	if e := c.Get("a/x"); e == nil || e.RV != v(10, "a/x") || e.Object.ResourceVersion != formatRV(v(10, "a/x")) {
		t.Fatalf("a/x = %+v", e)
	}
	red := func(o *metav1.PartialObjectMetadata) bool { return o.Labels["team"] == "red" }
	w, err := c.Watch(ctx, WatchOptions[*metav1.PartialObjectMetadata]{Initial: true, InitialEnd: true, Filter: red}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	got := func() (watch.EventType, *metav1.PartialObjectMetadata) {
		e := next(t, w)
		return e.Type, e.Object.(*metav1.PartialObjectMetadata)
	}
	if typ, o := got(); typ != watch.Added || o.Name != "x" {
		t.Errorf("initial: %s %s", typ, o.Name)
	}
	if typ, o := got(); typ != watch.Bookmark || o.Annotations[metav1.InitialEventsAnnotationKey] != "true" || o.ResourceVersion != formatRV(c.Current().RV) {
		t.Errorf("initial-events-end: %s %+v", typ, o.ObjectMeta)
	}
	// Rebuilt unchanged: nothing. y turns red: ADDED for this watcher. x is deleted: DELETED
	// with its last labels, at the deletion's version.
	c.Notify([]string{"a/x"}, 20, false)
	m.set("a/y", 21, map[string]string{"team": "red"})
	c.Notify([]string{"a/y"}, 21, false)
	if typ, o := got(); typ != watch.Added || o.Name != "y" || o.ResourceVersion != formatRV(v(21, "a/y")) {
		t.Errorf("y turned red: %s %s@%s", typ, o.Name, o.ResourceVersion)
	}
	m.mu.Lock()
	delete(m.labels, "a/x")
	m.mu.Unlock()
	c.Notify([]string{"a/x"}, 22, true)
	if typ, o := got(); typ != watch.Deleted || o.Name != "x" || o.Labels["team"] != "red" || o.ResourceVersion != formatRV(v(22, "a/x")) {
		t.Errorf("x deleted: %s %s@%s %v", typ, o.Name, o.ResourceVersion, o.Labels)
	}
	if old := c.SnapshotAt(v(21, "a/y")).Find("a/x"); old == nil || old.Object.ResourceVersion != formatRV(v(10, "a/x")) {
		t.Errorf("the deletion changed the published object: %+v", old)
	}
	none(t, w)
}
