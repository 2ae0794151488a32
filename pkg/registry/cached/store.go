// Package cached is read-only REST storage over a viewcache.Cache: GET, LIST and WATCH of one
// namespaced kind, answered from the cache's snapshots (docs/design.md, "resourceVersions",
// "Watch fan-out", "Readiness"). A kind's storage package embeds a Store and adds only what
// is its own: its names, its Table and its hooks.
package cached

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/warning"

	"github.com/kubestash/backupview/pkg/apis/selectable"
	"github.com/kubestash/backupview/pkg/viewcache"
)

// Object is a pointer to the kind's struct T, as the cache stores it.
type Object[T any] interface {
	*T
	viewcache.Object
}

// Cache is what the storage reads; a *viewcache.Cache[P] is one.
type Cache[P viewcache.Object] interface {
	WaitReady(ctx context.Context) error
	Reach(ctx context.Context, rv uint64) (*viewcache.Snapshot[P], error)
	Current() *viewcache.Snapshot[P]
	SnapshotAt(rv uint64) *viewcache.Snapshot[P]
	Get(key string) *viewcache.Entry[P]
	Watch(ctx context.Context, o viewcache.WatchOptions[P], onDrop func()) (watch.Interface, error)
}

// Kind is what the storage knows of the kind it serves.
type Kind[T any, P Object[T]] struct {
	// Resource names the kind in NotFound and in the 400 for an unsupported field selector.
	Resource schema.GroupResource
	// Noun is how messages to users name the objects ("views").
	Noun string
	// Fields are the kind's field selectors.
	Fields selectable.Fields[P]
	// NewList returns the kind's list object holding items (it may keep the slice) and meta.
	NewList func(items []T, meta metav1.ListMeta) runtime.Object
}

// Hooks connect the storage to the rest of the server (warnings, metrics, access); all
// optional.
type Hooks[P viewcache.Object] struct {
	// Missing names the KubeStash resources the cluster does not serve, for a Warning.
	Missing func() []string
	// NotSynced names the KubeStash resources that are served but not listed yet (a CRD
	// installed after start that cannot be listed), for a Warning.
	NotSynced func() []string
	// Served counts objects returned.
	Served func(n int)
	// WatcherDropped counts watchers closed for being slow.
	WatcherDropped func()
	// Redact returns, for the caller of one request, the function that turns a cached object
	// into what that caller may see (docs/design.md, "Authorization follows the caller"). It
	// may return the object itself when nothing is hidden; it must never modify it. Nil:
	// objects are served as cached.
	Redact func(ctx context.Context) func(P) P
}

// Store is the read-only storage of one namespaced kind: rest.Storage, rest.Scoper,
// rest.Getter, rest.Lister (but for ConvertToTable) and rest.Watcher. The kind's storage adds
// rest.KindProvider, the names and the Table.
type Store[T any, P Object[T]] struct {
	kind  Kind[T, P]
	cache Cache[P]
	hooks Hooks[P]
	// ReadyWait is how long a request waits for the first build before a 503.
	ReadyWait time.Duration
}

// New returns the storage of kind k over c.
func New[T any, P Object[T]](k Kind[T, P], c Cache[P], h Hooks[P]) *Store[T, P] {
	return &Store[T, P]{kind: k, cache: c, hooks: h, ReadyWait: 10 * time.Second}
}

// New returns an empty object of the kind.
func (s *Store[T, P]) New() runtime.Object { return P(new(T)) }

// NewList returns an empty list of the kind.
func (s *Store[T, P]) NewList() runtime.Object { return s.kind.NewList(nil, metav1.ListMeta{}) }

// Destroy releases nothing: the cache is the server's.
func (s *Store[T, P]) Destroy() {}

// NamespaceScoped is true: objects are keyed namespace/name.
func (s *Store[T, P]) NamespaceScoped() bool { return true }

// redactor is the request's Redact function, or nil.
func (s *Store[T, P]) redactor(ctx context.Context) func(P) P {
	if s.hooks.Redact == nil {
		return nil
	}
	return s.hooks.Redact(ctx)
}

func (s *Store[T, P]) served(n int) {
	if s.hooks.Served != nil {
		s.hooks.Served(n)
	}
}

// waitReady never answers from a half-filled cache: it waits briefly for the first build,
// then refuses with 503 and Retry-After.
func (s *Store[T, P]) waitReady(ctx context.Context) error {
	wctx, cancel := context.WithTimeout(ctx, s.ReadyWait)
	defer cancel()
	if err := s.cache.WaitReady(wctx); err != nil {
		return apierrors.NewServiceUnavailable("backupview is still syncing its caches; retry shortly")
	}
	if s.hooks.Missing != nil {
		if m := s.hooks.Missing(); len(m) > 0 {
			warning.AddWarning(ctx, "", fmt.Sprintf("KubeStash CRDs are not installed (%s): %s appear once they are", strings.Join(m, ", "), s.kind.Noun))
		}
	}
	if s.hooks.NotSynced != nil {
		if m := s.hooks.NotSynced(); len(m) > 0 {
			warning.AddWarning(ctx, "", fmt.Sprintf("backupview cannot list %s yet: %s do not reflect them until it can", strings.Join(m, ", "), s.kind.Noun))
		}
	}
	return nil
}

// Get returns one object.
func (s *Store[T, P]) Get(ctx context.Context, name string, _ *metav1.GetOptions) (runtime.Object, error) {
	if err := s.waitReady(ctx); err != nil {
		return nil, err
	}
	ns, _ := genericapirequest.NamespaceFrom(ctx)
	e := s.cache.Get(ns + "/" + name)
	if e == nil {
		return nil, apierrors.NewNotFound(s.kind.Resource, name)
	}
	s.served(1)
	if redact := s.redactor(ctx); redact != nil {
		if o := redact(e.Object); o != e.Object {
			return o, nil
		}
	}
	o := *e.Object // shallow copy: the cached object is shared and must not be touched
	return P(&o), nil
}

// continueToken pins a page walk to one snapshot.
type continueToken struct {
	RV    uint64 `json:"rv"`
	Start string `json:"start"` // the last key returned
}

func encodeContinue(t continueToken) string {
	b, _ := json.Marshal(t)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeContinue(s string) (continueToken, error) {
	var t continueToken
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		err = json.Unmarshal(b, &t)
	}
	if err != nil || t.RV == 0 {
		return t, apierrors.NewBadRequest("invalid continue token")
	}
	return t, nil
}

// List returns the objects of the request's namespace (all with -A), filtered by label and
// field selectors, a page at a time when limit is set. Every page of a walk comes from the
// same snapshot; a walk outliving its snapshot gets 410 Gone.
func (s *Store[T, P]) List(ctx context.Context, options *metainternalversion.ListOptions) (runtime.Object, error) {
	if err := s.waitReady(ctx); err != nil {
		return nil, err
	}
	ns, _ := genericapirequest.NamespaceFrom(ctx)
	match, err := s.matcher(options)
	if err != nil {
		return nil, err
	}
	snap, after, err := s.snapshotFor(ctx, options)
	if err != nil {
		return nil, err
	}
	var limit int64
	if options != nil {
		limit = options.Limit
	}
	entries := snap.Range(ns, after)
	redact := s.redactor(ctx)
	meta := metav1.ListMeta{ResourceVersion: strconv.FormatUint(snap.RV, 10)}
	var items []T
	if limit > 0 && int64(len(entries)) > limit {
		items = make([]T, 0, limit)
	} else {
		items = make([]T, 0, len(entries))
	}
	for i, e := range entries {
		if match != nil && !match(e.Object) {
			continue
		}
		if limit > 0 && int64(len(items)) == limit {
			// More may match: hand out a token for the rest of this snapshot.
			meta.Continue = encodeContinue(continueToken{RV: snap.RV, Start: entries[i-1].Key})
			if match == nil { // with a selector, how many more match is unknown
				rem := int64(len(entries) - i)
				meta.RemainingItemCount = &rem
			}
			break
		}
		if redact != nil {
			items = append(items, *redact(e.Object))
		} else {
			items = append(items, *e.Object)
		}
	}
	s.served(len(items))
	return s.kind.NewList(items, meta), nil
}

func (s *Store[T, P]) snapshotFor(ctx context.Context, o *metainternalversion.ListOptions) (*viewcache.Snapshot[P], string, error) {
	if o == nil {
		return s.cache.Current(), "", nil
	}
	if o.Continue != "" {
		t, err := decodeContinue(o.Continue)
		if err != nil {
			return nil, "", err
		}
		snap := s.cache.SnapshotAt(t.RV)
		if snap == nil {
			return nil, "", apierrors.NewResourceExpired(fmt.Sprintf("the continue token has expired: the %s changed since the list began; restart the list without continue", s.kind.Noun))
		}
		return snap, t.Start, nil
	}
	if o.ResourceVersion == "" || o.ResourceVersion == "0" {
		return s.cache.Current(), "", nil
	}
	rv, err := strconv.ParseUint(o.ResourceVersion, 10, 64)
	if err != nil {
		return nil, "", apierrors.NewBadRequest(fmt.Sprintf("invalid resourceVersion %q", o.ResourceVersion))
	}
	if o.ResourceVersionMatch == metav1.ResourceVersionMatchExact {
		if snap := s.cache.SnapshotAt(rv); snap != nil {
			return snap, "", nil
		}
		return nil, "", apierrors.NewResourceExpired(fmt.Sprintf("resourceVersion %d is not available any more", rv))
	}
	// NotOlderThan (the default for a set resourceVersion): wait briefly to catch up.
	snap, err := s.cache.Reach(ctx, rv)
	return snap, "", err
}

// Watch streams changes; see viewcache.Cache.Watch for the resume rules.
func (s *Store[T, P]) Watch(ctx context.Context, options *metainternalversion.ListOptions) (watch.Interface, error) {
	if err := s.waitReady(ctx); err != nil {
		return nil, err
	}
	ns, _ := genericapirequest.NamespaceFrom(ctx)
	match, err := s.matcher(options)
	if err != nil {
		return nil, err
	}
	o := viewcache.WatchOptions[P]{}
	if options != nil {
		o.Bookmarks = options.AllowWatchBookmarks
		rv := options.ResourceVersion
		switch {
		case options.SendInitialEvents != nil && *options.SendInitialEvents:
			// The server defaults legacy watches (resourceVersion "" or "0") to
			// sendInitialEvents=true; like the watch cache, the initial-events-end bookmark
			// goes only to clients that asked for bookmarks (WatchList clients do).
			o.Initial, o.InitialEnd = true, options.AllowWatchBookmarks
		case options.SendInitialEvents != nil:
			// No initial events: from rv, or from now.
		case rv == "" || rv == "0":
			o.Initial = true
		}
		if rv != "" && rv != "0" {
			n, err := strconv.ParseUint(rv, 10, 64)
			if err != nil {
				return nil, apierrors.NewBadRequest(fmt.Sprintf("invalid resourceVersion %q", rv))
			}
			o.ResourceVersion = n
		}
	} else {
		o.Initial = true
	}
	o.Filter = match // nil: every object; the namespace is the cache's to scope (o.Namespace)
	o.Namespace = ns
	// Every watcher gets its own copy of each object: the cached objects are shared, and the
	// codec sets the kind on the object it encodes (docs/design.md, "API types").
	redact := s.redactor(ctx)
	o.Transform = func(p P) P {
		if redact != nil {
			if r := redact(p); r != p {
				return r
			}
		}
		c := *p
		return &c
	}
	if u, ok := genericapirequest.UserFrom(ctx); ok {
		o.User = u.GetName()
	}
	return s.cache.Watch(ctx, o, s.hooks.WatcherDropped)
}

// matcher builds the label and field filter, nil when there is none (an unfiltered LIST
// allocates no closure); an unsupported field is a 400 naming the supported ones.
func (s *Store[T, P]) matcher(o *metainternalversion.ListOptions) (func(P) bool, error) {
	var lsel labels.Selector
	var fmatch func(P) bool
	if o != nil && o.LabelSelector != nil && !o.LabelSelector.Empty() {
		lsel = o.LabelSelector
	}
	if o != nil && o.FieldSelector != nil && !o.FieldSelector.Empty() {
		var err error
		if fmatch, err = s.kind.Fields.Matcher(o.FieldSelector); err != nil {
			if u := (*selectable.UnsupportedError)(nil); errors.As(err, &u) {
				return nil, apierrors.NewBadRequest(fmt.Sprintf("field selector %q is not supported for %s; supported fields: %s", u.Field, s.kind.Resource.Resource, strings.Join(u.Supported, ", ")))
			}
			return nil, apierrors.NewBadRequest(err.Error())
		}
	}
	switch {
	case lsel == nil:
		return fmatch, nil
	case fmatch == nil:
		return func(o P) bool { return lsel.Matches(labels.Set(o.GetLabels())) }, nil
	}
	return func(o P) bool { return lsel.Matches(labels.Set(o.GetLabels())) && fmatch(o) }, nil
}
