package sources

import (
	"context"
	"slices"
	"strings"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/watchlist"
)

// The source kinds' store (docs/design.md, "The sources' store"): what a client-go informer
// did for them, shaped for the joins. A client-go Reflector lists and watches into it (it
// accepts any store); the store keeps the decoded structs by their interned namespace and
// name, keeps exactly the indexes the joins and the change routing read, and calls its
// consumer on every change as a SharedIndexInformer's handlers were called. There is no
// DeltaFIFO in between: a change is applied and reported in the reflector's goroutine, and
// the consumers (the caches' Notify) never block. client-go's indexer cost a key string per
// object, an interface in its items map, and a set of key strings per index value
// (docs/benchmarks.md, "Memory: in-process heap per source object").

// key names an object by namespace and name (namespace "" for a cluster-scoped one). Both
// strings are the decoded object's own (the namespace interned), so a key allocates nothing.
type key struct{ ns, name string }

// splitKey reads a "namespace/name" (or cluster-scoped "name") key without allocating.
func splitKey(s string) key {
	if ns, name, ok := strings.Cut(s, "/"); ok {
		return key{ns, name}
	}
	return key{name: s}
}

func (k key) String() string {
	if k.ns == "" {
		return k.name
	}
	return k.ns + "/" + k.name
}

func keyOf(o metav1.Object) key { return key{o.GetNamespace(), o.GetName()} }

// index is a kind's secondary lookups. The store calls it under its write lock.
type index interface {
	// move takes old's entries out (old nil: none) and puts obj's in (obj nil: deleted).
	move(old, obj metav1.Object)
	// reset empties it.
	reset()
}

// change is one change a store reports: old nil for an addition, deleted for a deletion (obj
// is then the object's last state).
type change struct {
	old, obj metav1.Object
	deleted  bool
}

// store holds one source kind.
type store struct {
	mu     sync.RWMutex
	items  map[key]metav1.Object
	index  index // nil: the kind has none
	notify func(change)
	// synced is closed once the first list (or WatchList) is in and reported.
	synced     chan struct{}
	syncedOnce sync.Once
}

var _ cache.ReflectorStore = &store{}

func newStore(idx index, notify func(change)) *store {
	return &store{items: map[key]metav1.Object{}, index: idx, notify: notify, synced: make(chan struct{})}
}

// object unwraps what the reflector hands over: the decoded struct of a wireObject.
func object(o interface{}) (metav1.Object, bool) {
	switch o := o.(type) {
	case *wireObject:
		return o.Object, o.Object != nil
	case metav1.Object:
		return o, true
	}
	return nil, false
}

// Add stores an added (or, after a watch restart, known) object; a SharedIndexInformer
// reported a known one as an update too.
func (st *store) Add(o interface{}) error { return st.put(o) }

// Update stores an updated object.
func (st *store) Update(o interface{}) error { return st.put(o) }

func (st *store) put(o interface{}) error {
	obj, ok := object(o)
	if !ok {
		return nil
	}
	k := keyOf(obj)
	st.mu.Lock()
	old := st.items[k]
	st.items[k] = obj
	if st.index != nil {
		st.index.move(old, obj)
	}
	st.mu.Unlock()
	st.notify(change{old: old, obj: obj})
	return nil
}

// Delete removes an object; the deletion is reported with the state the watch event carries.
func (st *store) Delete(o interface{}) error {
	obj, ok := object(o)
	if !ok {
		return nil
	}
	k := keyOf(obj)
	st.mu.Lock()
	old, known := st.items[k]
	if known {
		delete(st.items, k)
		if st.index != nil {
			st.index.move(old, nil)
		}
	}
	st.mu.Unlock()
	st.notify(change{obj: obj, deleted: true})
	return nil
}

// Replace installs a full list (the first one, or a relist after a watch could not resume).
// It reports what a SharedIndexInformer reported: each new object as added, each object whose
// resourceVersion changed as updated (one whose version did not is kept, silently), then
// every object the list no longer holds as deleted. The first Replace marks the store synced
// once its changes are reported.
func (st *store) Replace(list []interface{}, _ string) error {
	next := make(map[key]metav1.Object, len(list))
	objs := make([]metav1.Object, 0, len(list))
	for _, o := range list {
		if obj, ok := object(o); ok {
			next[keyOf(obj)] = obj
			objs = append(objs, obj)
		}
	}
	var changes []change
	st.mu.Lock()
	for i, obj := range objs {
		k := keyOf(obj)
		if next[k] != obj {
			continue // a repeated key: the last one counts
		}
		old := st.items[k]
		if old != nil && old.GetResourceVersion() == obj.GetResourceVersion() {
			next[k], objs[i] = old, old
			continue
		}
		changes = append(changes, change{old: old, obj: obj})
	}
	for k, old := range st.items {
		if _, ok := next[k]; !ok {
			changes = append(changes, change{obj: old, deleted: true})
		}
	}
	st.items = next
	if st.index != nil {
		st.index.reset()
		for _, obj := range next {
			st.index.move(nil, obj)
		}
	}
	st.mu.Unlock()
	for _, c := range changes {
		st.notify(c)
	}
	st.syncedOnce.Do(func() { close(st.synced) })
	return nil
}

// Resync does nothing: the sources never resync.
func (st *store) Resync() error { return nil }

func (st *store) hasSynced() bool {
	select {
	case <-st.synced:
		return true
	default:
		return false
	}
}

func (st *store) get(k key) metav1.Object {
	st.mu.RLock()
	defer st.mu.RUnlock()
	return st.items[k]
}

func (st *store) len() int {
	st.mu.RLock()
	defer st.mu.RUnlock()
	return len(st.items)
}

// all returns every object of type *T (unordered).
func all[T any](st *store) []*T {
	if st == nil {
		return nil
	}
	st.mu.RLock()
	defer st.mu.RUnlock()
	out := make([]*T, 0, len(st.items))
	for _, o := range st.items {
		if t, ok := any(o).(*T); ok {
			out = append(out, t)
		}
	}
	return out
}

// one returns the object of type *T under k, or nil.
func one[T any](st *store, k key) *T {
	if st == nil {
		return nil
	}
	t, _ := any(st.get(k)).(*T)
	return t
}

// keys is one index value's entry: the keys of the objects that have it. Most values name
// one object (a Repository, a target, a UID), kept inline; a value several share (a storage,
// a target kind) keeps the others in a slice. Adding is O(1) (the index never adds a key
// twice: move takes the old entries out first); taking a key out of a value n objects share
// is O(n), which only a deletion or a changed reference of such an object costs.
type keys struct {
	one  key // the zero key: none
	more []key
}

func (p *keys) add(k key) {
	if p.one == (key{}) {
		p.one = k
		return
	}
	p.more = append(p.more, k)
}

func (p *keys) remove(k key) {
	if p.one == k {
		p.one = key{}
		if n := len(p.more); n > 0 {
			p.one, p.more = p.more[n-1], p.more[:n-1]
		}
	} else if i := slices.Index(p.more, k); i >= 0 {
		n := len(p.more)
		p.more[i], p.more[n-1] = p.more[n-1], key{}
		p.more = p.more[:n-1]
	}
	if len(p.more) == 0 {
		p.more = nil
	}
}

func (p *keys) len() int {
	if p.one == (key{}) {
		return 0
	}
	return 1 + len(p.more)
}

// strings returns the keys as "namespace/name" strings, sorted.
func (p *keys) strings() []string {
	if p.len() == 0 {
		return nil
	}
	out := make([]string, 0, p.len())
	out = append(out, p.one.String())
	for _, k := range p.more {
		out = append(out, k.String())
	}
	slices.Sort(out)
	return out
}

// keyIndex maps index values of type V to the keys of the objects that have them.
type keyIndex[V comparable] map[V]keys

func (x keyIndex[V]) add(v V, k key) {
	p := x[v]
	p.add(k)
	x[v] = p
}

func (x keyIndex[V]) remove(v V, k key) {
	p, ok := x[v]
	if !ok {
		return
	}
	if p.remove(k); p.len() == 0 {
		delete(x, v)
	} else {
		x[v] = p
	}
}

// lookup returns the keys under v as strings.
func (x keyIndex[V]) lookup(v V) []string {
	p, ok := x[v]
	if !ok {
		return nil
	}
	return p.strings()
}

// groupIndex keeps objects of type *T by a group key (the BackupConfiguration they belong
// to): a lookup returns the group's objects themselves, with no second lookup by key.
type groupIndex[T any] map[key][]*T

func (x groupIndex[T]) add(g key, o *T) { x[g] = append(x[g], o) }

func (x groupIndex[T]) remove(g key, o *T) {
	l := x[g]
	if i := slices.Index(l, o); i >= 0 {
		l = slices.Delete(l, i, i+1)
	}
	if len(l) == 0 {
		delete(x, g)
	} else {
		x[g] = l
	}
}

// replace puts o in old's place in group g (old is there: the store indexed it).
func (x groupIndex[T]) replace(g key, old, o *T) {
	if i := slices.Index(x[g], old); i >= 0 {
		x[g][i] = o
		return
	}
	x.add(g, o)
}

// observedLW reports every failed list and watch request of lw to onErr (the source's last
// error: Statuses and the NotSynced warning name it), and otherwise is lw. A
// SharedIndexInformer took a watch error handler; a bare Reflector does not.
func observedLW(lw cache.ListerWatcher, onErr func(error)) cache.ListerWatcher {
	return observed{cache.ToListerWatcherWithContext(lw), onErr, watchlist.DoesClientNotSupportWatchListSemantics(lw)}
}

type observed struct {
	lw    cache.ListerWatcherWithContext
	onErr func(error)
	// noWatchList passes on lw's answer to the reflector's question (test clients say no).
	noWatchList bool
}

func (o observed) IsWatchListSemanticsUnSupported() bool { return o.noWatchList }

func (o observed) ListWithContext(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
	obj, err := o.lw.ListWithContext(ctx, opts)
	if err != nil {
		o.onErr(err)
	}
	return obj, err
}

// List and Watch are for callers without a context; the reflector uses the ones with.
func (o observed) List(opts metav1.ListOptions) (runtime.Object, error) {
	return o.ListWithContext(context.Background(), opts)
}

func (o observed) Watch(opts metav1.ListOptions) (watch.Interface, error) {
	return o.WatchWithContext(context.Background(), opts)
}

func (o observed) WatchWithContext(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
	w, err := o.lw.WatchWithContext(ctx, opts)
	if err != nil {
		o.onErr(err)
	}
	return w, err
}
