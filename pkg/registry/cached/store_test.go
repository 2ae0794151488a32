package cached

import (
	"context"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/warning"
	"k8s.io/utils/ptr"

	"github.com/kubestash/backupview/pkg/apis/selectable"
	"github.com/kubestash/backupview/pkg/viewcache"
)

// The store is exercised with a kind that is not a view: PartialObjectMetadata.
type obj = metav1.PartialObjectMetadata

var kind = Kind[obj, *obj]{
	Resource: schema.GroupResource{Group: "test.io", Resource: "things"},
	Noun:     "things",
	Fields: selectable.Fields[*obj]{
		{"metadata.name", func(o *obj) string { return o.Name }},
		{"metadata.generateName", func(o *obj) string { return o.GenerateName }},
	},
	NewList: func(items []obj, meta metav1.ListMeta) runtime.Object {
		return &metav1.PartialObjectMetadataList{ListMeta: meta, Items: items}
	},
}

// fake serves fixed snapshots and records the watches asked for.
type fake struct {
	ready   bool
	snaps   map[uint64]*viewcache.Snapshot[*obj]
	cur     uint64
	watches []viewcache.WatchOptions[*obj]
}

func (f *fake) WaitReady(ctx context.Context) error {
	if f.ready {
		return nil
	}
	<-ctx.Done()
	return ctx.Err()
}
func (f *fake) Reach(ctx context.Context, rv uint64) (*viewcache.Snapshot[*obj], error) {
	if f.Current().RV >= rv {
		return f.Current(), nil
	}
	<-ctx.Done()
	return nil, ctx.Err()
}
func (f *fake) Current() *viewcache.Snapshot[*obj]             { return f.snaps[f.cur] }
func (f *fake) SnapshotAt(rv uint64) *viewcache.Snapshot[*obj] { return f.snaps[rv] }
func (f *fake) Get(key string) *viewcache.Entry[*obj]          { return f.Current().Find(key) }
func (f *fake) Watch(_ context.Context, o viewcache.WatchOptions[*obj], _ func()) (watch.Interface, error) {
	f.watches = append(f.watches, o)
	return watch.NewEmptyWatch(), nil
}

func entry(ns, name, gen string, lbl map[string]string) *viewcache.Entry[*obj] {
	return &viewcache.Entry[*obj]{Key: ns + "/" + name, RV: 5, Object: &obj{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, GenerateName: gen, Labels: lbl, ResourceVersion: "5"}}}
}

func newStore(h Hooks[*obj]) (*Store[obj, *obj], *fake) {
	s := &viewcache.Snapshot[*obj]{RV: 7, Entries: []*viewcache.Entry[*obj]{
		entry("a", "one", "x", map[string]string{"team": "red"}), entry("a", "two", "y", nil),
		entry("b", "three", "x", map[string]string{"team": "red"}), entry("c", "four", "x", nil),
	}}
	f := &fake{ready: true, snaps: map[uint64]*viewcache.Snapshot[*obj]{7: s}, cur: 7}
	return New(kind, Cache[*obj](f), h), f
}

func in(ns string) context.Context { return genericapirequest.WithNamespace(context.Background(), ns) }

func list(t *testing.T, s *Store[obj, *obj], ns string, o *metainternalversion.ListOptions) (*metav1.PartialObjectMetadataList, error) {
	t.Helper()
	l, err := s.List(in(ns), o)
	if err != nil {
		return nil, err
	}
	return l.(*metav1.PartialObjectMetadataList), nil
}

func names(l *metav1.PartialObjectMetadataList) string {
	var out []string
	for _, o := range l.Items {
		out = append(out, o.Namespace+"/"+o.Name)
	}
	return strings.Join(out, ",")
}

func TestListScopesAndSelects(t *testing.T) {
	s, _ := newStore(Hooks[*obj]{})
	for _, tc := range []struct {
		ns   string
		o    *metainternalversion.ListOptions
		want string
	}{
		{"", nil, "a/one,a/two,b/three,c/four"},
		{"a", nil, "a/one,a/two"},
		{"", &metainternalversion.ListOptions{LabelSelector: labels.SelectorFromSet(labels.Set{"team": "red"})}, "a/one,b/three"},
		{"", &metainternalversion.ListOptions{FieldSelector: fields.ParseSelectorOrDie("metadata.generateName!=x")}, "a/two"},
		{"", &metainternalversion.ListOptions{LabelSelector: labels.SelectorFromSet(labels.Set{"team": "red"}), FieldSelector: fields.OneTermEqualSelector("metadata.name", "three")}, "b/three"},
	} {
		l, err := list(t, s, tc.ns, tc.o)
		if err != nil {
			t.Fatal(err)
		}
		if got := names(l); got != tc.want || l.ResourceVersion != "7" {
			t.Errorf("ns %q %v: got %s at %s, want %s at 7", tc.ns, tc.o, got, l.ResourceVersion, tc.want)
		}
	}
	_, err := list(t, s, "", &metainternalversion.ListOptions{FieldSelector: fields.OneTermEqualSelector("spec.x", "y")})
	if !apierrors.IsBadRequest(err) || !strings.Contains(err.Error(), `"spec.x" is not supported for things; supported fields: metadata.name, metadata.generateName`) {
		t.Errorf("unsupported field: %v", err)
	}
}

func TestPagesComeFromOneSnapshot(t *testing.T) {
	s, f := newStore(Hooks[*obj]{})
	l, err := list(t, s, "", &metainternalversion.ListOptions{Limit: 3})
	if err != nil {
		t.Fatal(err)
	}
	if names(l) != "a/one,a/two,b/three" || l.Continue == "" || l.RemainingItemCount == nil || *l.RemainingItemCount != 1 {
		t.Fatalf("first page %s continue %q remaining %v", names(l), l.Continue, l.RemainingItemCount)
	}
	f.snaps[8], f.cur = &viewcache.Snapshot[*obj]{RV: 8}, 8 // everything gone meanwhile
	l2, err := list(t, s, "", &metainternalversion.ListOptions{Limit: 3, Continue: l.Continue})
	if err != nil || names(l2) != "c/four" || l2.Continue != "" || l2.ResourceVersion != "7" {
		t.Fatalf("second page %v %v", l2, err)
	}
	// A filtered page has no remaining count.
	f.cur = 7
	l, _ = list(t, s, "", &metainternalversion.ListOptions{Limit: 1, FieldSelector: fields.OneTermEqualSelector("metadata.generateName", "x")})
	if names(l) != "a/one" || l.Continue == "" || l.RemainingItemCount != nil {
		t.Errorf("filtered page %s continue %q remaining %v", names(l), l.Continue, l.RemainingItemCount)
	}
	delete(f.snaps, 7)
	if _, err := list(t, s, "", &metainternalversion.ListOptions{Limit: 1, Continue: l.Continue}); !apierrors.IsResourceExpired(err) || !strings.Contains(err.Error(), "the things changed") {
		t.Errorf("expired continue: %v", err)
	}
	if _, err := list(t, s, "", &metainternalversion.ListOptions{Continue: "garbage"}); !apierrors.IsBadRequest(err) {
		t.Errorf("bad continue: %v", err)
	}
}

func TestListResourceVersion(t *testing.T) {
	s, f := newStore(Hooks[*obj]{})
	f.snaps[8], f.cur = &viewcache.Snapshot[*obj]{RV: 8}, 8
	exact := func(rv string) *metainternalversion.ListOptions {
		return &metainternalversion.ListOptions{ResourceVersion: rv, ResourceVersionMatch: metav1.ResourceVersionMatchExact}
	}
	if l, err := list(t, s, "", exact("7")); err != nil || l.ResourceVersion != "7" || len(l.Items) != 4 {
		t.Errorf("exact 7: %v %v", l, err)
	}
	if _, err := list(t, s, "", exact("6")); !apierrors.IsResourceExpired(err) {
		t.Errorf("exact 6 (not kept): %v", err)
	}
	if l, err := list(t, s, "", &metainternalversion.ListOptions{ResourceVersion: "7"}); err != nil || l.ResourceVersion != "8" {
		t.Errorf("not older than 7: %v %v", l, err)
	}
	if _, err := list(t, s, "", &metainternalversion.ListOptions{ResourceVersion: "x"}); !apierrors.IsBadRequest(err) {
		t.Errorf("invalid resourceVersion: %v", err)
	}
}

func TestGetCopiesAndRedacts(t *testing.T) {
	s, f := newStore(Hooks[*obj]{})
	o, err := s.Get(in("a"), "one", nil)
	if err != nil {
		t.Fatal(err)
	}
	o.(*obj).Name = "changed"
	if f.Get("a/one").Object.Name != "one" {
		t.Error("Get handed out the cached object")
	}
	if _, err := s.Get(in("b"), "one", nil); !apierrors.IsNotFound(err) || !strings.Contains(err.Error(), "things.test.io") {
		t.Errorf("another namespace's object: %v", err)
	}
	// Redaction applies to Get, List and Watch.
	hidden := func(o *obj) *obj {
		if o.Labels["team"] == "" {
			return o
		}
		c := *o
		c.Labels = nil
		return &c
	}
	s, f = newStore(Hooks[*obj]{Redact: func(context.Context) func(*obj) *obj { return hidden }})
	if o, _ := s.Get(in("a"), "one", nil); o.(*obj).Labels != nil {
		t.Error("Get not redacted")
	}
	if l, _ := list(t, s, "", nil); l.Items[0].Labels != nil || l.Items[2].Labels != nil || f.Get("a/one").Object.Labels == nil {
		t.Error("List not redacted, or the cache changed")
	}
	if _, err := s.Watch(in(""), nil); err != nil || f.watches[0].Transform == nil {
		t.Errorf("Watch not redacted: %v", err)
	}
}

func TestWatchOptions(t *testing.T) {
	type want struct {
		rv                      uint64
		initial, end, bookmarks bool
	}
	for _, tc := range []struct {
		name string
		o    *metainternalversion.ListOptions
		want want
	}{
		{"no options", nil, want{initial: true}},
		{"legacy from now", &metainternalversion.ListOptions{ResourceVersion: "0"}, want{initial: true}},
		{"resume", &metainternalversion.ListOptions{ResourceVersion: "5", AllowWatchBookmarks: true}, want{rv: 5, bookmarks: true}},
		{"WatchList", &metainternalversion.ListOptions{ResourceVersion: "5", SendInitialEvents: ptr.To(true), AllowWatchBookmarks: true}, want{rv: 5, initial: true, end: true, bookmarks: true}},
		{"initial events, no bookmarks", &metainternalversion.ListOptions{SendInitialEvents: ptr.To(true)}, want{initial: true}},
		{"no initial events", &metainternalversion.ListOptions{SendInitialEvents: ptr.To(false)}, want{}},
	} {
		s, f := newStore(Hooks[*obj]{})
		if _, err := s.Watch(in("a"), tc.o); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		o := f.watches[0]
		if got := (want{o.ResourceVersion, o.Initial, o.InitialEnd, o.Bookmarks}); got != tc.want || o.Namespace != "a" {
			t.Errorf("%s: got %+v in %q, want %+v in a", tc.name, got, o.Namespace, tc.want)
		}
	}
	s, f := newStore(Hooks[*obj]{})
	if _, err := s.Watch(in(""), &metainternalversion.ListOptions{ResourceVersion: "x"}); !apierrors.IsBadRequest(err) {
		t.Errorf("invalid resourceVersion: %v", err)
	}
	if _, err := s.Watch(in(""), &metainternalversion.ListOptions{FieldSelector: fields.OneTermEqualSelector("spec.x", "y")}); !apierrors.IsBadRequest(err) {
		t.Errorf("unsupported field: %v", err)
	}
	if _, err := s.Watch(in(""), &metainternalversion.ListOptions{LabelSelector: labels.SelectorFromSet(labels.Set{"team": "red"})}); err != nil {
		t.Fatal(err)
	}
	if filter := f.watches[0].Filter; filter(f.Get("a/one").Object) != true || filter(f.Get("a/two").Object) != false {
		t.Error("the watch filter does not follow the label selector")
	}
	// The generic server's encoder sets the kind on what it encodes: concurrent watchers of one
	// cached object must each get their own copy.
	cached := f.Get("a/one").Object
	if sent := f.watches[0].Transform(cached); sent == cached || sent.Name != cached.Name {
		t.Errorf("a watch event shares the cached object (%p, %p) or differs from it", sent, cached)
	}
}

type recorder []string

func (r *recorder) AddWarning(_, text string) { *r = append(*r, text) }

func TestNotReadyAndWarnings(t *testing.T) {
	s, f := newStore(Hooks[*obj]{Missing: func() []string { return []string{"backupsessions"} }, NotSynced: func() []string { return []string{"addons"} }})
	var r recorder
	ctx := warning.WithWarningRecorder(in("a"), &r)
	if _, err := s.List(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if len(r) != 2 || !strings.Contains(r[0], "(backupsessions): things appear once they are") || !strings.Contains(r[1], "cannot list addons yet: things do not reflect them") {
		t.Errorf("warnings %q", r)
	}
	f.ready = false
	s.ReadyWait = 50 * time.Millisecond
	if _, err := s.Get(ctx, "one", nil); !apierrors.IsServiceUnavailable(err) {
		t.Errorf("not ready: %v", err)
	}
}

func TestNewAndNewList(t *testing.T) {
	s, _ := newStore(Hooks[*obj]{})
	if _, ok := s.New().(*obj); !ok {
		t.Errorf("New() = %T", s.New())
	}
	if l, ok := s.NewList().(*metav1.PartialObjectMetadataList); !ok || len(l.Items) != 0 {
		t.Errorf("NewList() = %T", s.NewList())
	}
}
