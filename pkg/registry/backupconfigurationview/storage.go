// Package backupconfigurationview is the read-only REST storage of BackupConfigurationViews,
// served from the materialised views of package viewcache.
package backupconfigurationview

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
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/rest"
	"k8s.io/apiserver/pkg/warning"

	"github.com/kubestash/backupview/pkg/apis/selectable"
	"github.com/kubestash/backupview/pkg/apis/ui"
	"github.com/kubestash/backupview/pkg/viewcache"
)

// Cache is what the storage reads.
type Cache interface {
	WaitReady(ctx context.Context) error
	WaitFor(ctx context.Context, rv uint64) (*viewcache.Snapshot[*ui.BackupConfigurationView], error)
	Current() *viewcache.Snapshot[*ui.BackupConfigurationView]
	SnapshotAt(rv uint64) *viewcache.Snapshot[*ui.BackupConfigurationView]
	Get(key string) *viewcache.Entry[*ui.BackupConfigurationView]
	Watch(ctx context.Context, o viewcache.WatchOptions[*ui.BackupConfigurationView], onDrop func()) (watch.Interface, error)
}

// Hooks connect the storage to the rest of the server (warnings, metrics); all optional.
type Hooks struct {
	// Missing names the KubeStash resources the cluster does not serve, for a Warning.
	Missing func() []string
	// NotSynced names the KubeStash resources that are served but not listed yet (a CRD
	// installed after start that cannot be listed), for a Warning.
	NotSynced func() []string
	// Served counts views returned.
	Served func(n int)
	// WatcherDropped counts watchers closed for being slow.
	WatcherDropped func()
	// Redact returns, for the caller of one request, the function that turns a cached view
	// into what that caller may see (docs/design.md, "Authorization follows the caller"). It
	// may return the view itself when nothing is hidden; it must never modify it. Nil: views
	// are served as cached.
	Redact func(ctx context.Context) func(*ui.BackupConfigurationView) *ui.BackupConfigurationView
}

// redactor is the request's Redact function, or the identity.
func (r *REST) redactor(ctx context.Context) func(*ui.BackupConfigurationView) *ui.BackupConfigurationView {
	if r.hooks.Redact == nil {
		return nil
	}
	return r.hooks.Redact(ctx)
}

// REST implements the read-only storage.
type REST struct {
	cache Cache
	hooks Hooks
	// readyWait is how long a request waits for the first sync before a 503.
	readyWait time.Duration
	table     tableConvertor
}

var (
	_ rest.Storage              = &REST{}
	_ rest.Scoper               = &REST{}
	_ rest.KindProvider         = &REST{}
	_ rest.SingularNameProvider = &REST{}
	_ rest.ShortNamesProvider   = &REST{}
	_ rest.CategoriesProvider   = &REST{}
	_ rest.Getter               = &REST{}
	_ rest.Lister               = &REST{}
	_ rest.Watcher              = &REST{}
	_ rest.TableConvertor       = &REST{}
)

// NewREST returns the storage.
func NewREST(c Cache, h Hooks) *REST {
	return &REST{cache: c, hooks: h, readyWait: 10 * time.Second, table: tableConvertor{now: time.Now}}
}

var resource = ui.Resource("backupconfigurationviews")

func (r *REST) New() runtime.Object     { return &ui.BackupConfigurationView{} }
func (r *REST) NewList() runtime.Object { return &ui.BackupConfigurationViewList{} }
func (r *REST) Destroy()                {}
func (r *REST) NamespaceScoped() bool   { return true }
func (r *REST) Kind() string            { return "BackupConfigurationView" }
func (r *REST) GetSingularName() string { return "backupconfigurationview" }
func (r *REST) ShortNames() []string    { return []string{"bcv"} }
func (r *REST) Categories() []string    { return []string{"kubestash"} }

// waitReady never answers from a half-filled cache: it waits briefly for the first build,
// then refuses with 503 and Retry-After.
func (r *REST) waitReady(ctx context.Context) error {
	wctx, cancel := context.WithTimeout(ctx, r.readyWait)
	defer cancel()
	if err := r.cache.WaitReady(wctx); err != nil {
		return apierrors.NewServiceUnavailable("backupview is still syncing its caches; retry shortly")
	}
	if r.hooks.Missing != nil {
		if m := r.hooks.Missing(); len(m) > 0 {
			warning.AddWarning(ctx, "", fmt.Sprintf("KubeStash CRDs are not installed (%s): views appear once they are", strings.Join(m, ", ")))
		}
	}
	if r.hooks.NotSynced != nil {
		if m := r.hooks.NotSynced(); len(m) > 0 {
			warning.AddWarning(ctx, "", fmt.Sprintf("backupview cannot list %s yet: views do not reflect them until it can", strings.Join(m, ", ")))
		}
	}
	return nil
}

// Get returns one view.
func (r *REST) Get(ctx context.Context, name string, _ *metav1.GetOptions) (runtime.Object, error) {
	if err := r.waitReady(ctx); err != nil {
		return nil, err
	}
	ns, _ := genericapirequest.NamespaceFrom(ctx)
	e := r.cache.Get(ns + "/" + name)
	if e == nil {
		return nil, apierrors.NewNotFound(resource, name)
	}
	r.served(1)
	if redact := r.redactor(ctx); redact != nil {
		if v := redact(e.Object); v != e.Object {
			return v, nil
		}
	}
	v := *e.Object // shallow copy: the cached view is shared and must not be touched
	return &v, nil
}

func (r *REST) served(n int) {
	if r.hooks.Served != nil {
		r.hooks.Served(n)
	}
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

// List returns the views of the request's namespace (all with -A), filtered by label and
// field selectors, a page at a time when limit is set. Every page of a walk comes from the
// same snapshot; a walk outliving its snapshot gets 410 Gone.
func (r *REST) List(ctx context.Context, options *metainternalversion.ListOptions) (runtime.Object, error) {
	if err := r.waitReady(ctx); err != nil {
		return nil, err
	}
	ns, _ := genericapirequest.NamespaceFrom(ctx)
	match, err := matcher(options)
	if err != nil {
		return nil, err
	}
	snap, after, err := r.snapshotFor(ctx, options)
	if err != nil {
		return nil, err
	}
	var limit int64
	if options != nil {
		limit = options.Limit
	}
	entries := snap.Range(ns, after)
	redact := r.redactor(ctx)
	list := &ui.BackupConfigurationViewList{}
	list.ResourceVersion = strconv.FormatUint(snap.RV, 10)
	if limit > 0 && int64(len(entries)) > limit {
		list.Items = make([]ui.BackupConfigurationView, 0, limit)
	} else {
		list.Items = make([]ui.BackupConfigurationView, 0, len(entries))
	}
	for i, e := range entries {
		if !match(e.Object) {
			continue
		}
		if limit > 0 && int64(len(list.Items)) == limit {
			// More may match: hand out a token for the rest of this snapshot.
			list.Continue = encodeContinue(continueToken{RV: snap.RV, Start: entries[i-1].Key})
			if !filtered(options) {
				rem := int64(len(entries) - i)
				list.RemainingItemCount = &rem
			}
			break
		}
		if redact != nil {
			list.Items = append(list.Items, *redact(e.Object))
		} else {
			list.Items = append(list.Items, *e.Object)
		}
	}
	r.served(len(list.Items))
	return list, nil
}

func (r *REST) snapshotFor(ctx context.Context, o *metainternalversion.ListOptions) (*viewcache.Snapshot[*ui.BackupConfigurationView], string, error) {
	if o == nil {
		return r.cache.Current(), "", nil
	}
	if o.Continue != "" {
		t, err := decodeContinue(o.Continue)
		if err != nil {
			return nil, "", err
		}
		s := r.cache.SnapshotAt(t.RV)
		if s == nil {
			return nil, "", apierrors.NewResourceExpired("the continue token has expired: the views changed since the list began; restart the list without continue")
		}
		return s, t.Start, nil
	}
	if o.ResourceVersion == "" || o.ResourceVersion == "0" {
		return r.cache.Current(), "", nil
	}
	rv, err := strconv.ParseUint(o.ResourceVersion, 10, 64)
	if err != nil {
		return nil, "", apierrors.NewBadRequest(fmt.Sprintf("invalid resourceVersion %q", o.ResourceVersion))
	}
	if o.ResourceVersionMatch == metav1.ResourceVersionMatchExact {
		if s := r.cache.SnapshotAt(rv); s != nil {
			return s, "", nil
		}
		return nil, "", apierrors.NewResourceExpired(fmt.Sprintf("resourceVersion %d is not available any more", rv))
	}
	// NotOlderThan (the default for a set resourceVersion): wait briefly to catch up.
	wctx, cancel := context.WithTimeout(ctx, viewcache.WaitForRV)
	defer cancel()
	snap, err := r.cache.WaitFor(wctx, rv)
	if err != nil {
		if ctx.Err() != nil {
			return nil, "", ctx.Err()
		}
		return nil, "", viewcache.TooLarge(rv, r.cache.Current().RV)
	}
	return snap, "", nil
}

// Watch streams view changes; see viewcache.Cache.Watch for the resume rules.
func (r *REST) Watch(ctx context.Context, options *metainternalversion.ListOptions) (watch.Interface, error) {
	if err := r.waitReady(ctx); err != nil {
		return nil, err
	}
	ns, _ := genericapirequest.NamespaceFrom(ctx)
	match, err := matcher(options)
	if err != nil {
		return nil, err
	}
	o := viewcache.WatchOptions[*ui.BackupConfigurationView]{}
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
	o.Filter = match // the namespace is the cache's to scope (o.Namespace)
	o.Namespace = ns
	o.Transform = r.redactor(ctx)
	return r.cache.Watch(ctx, o, r.hooks.WatcherDropped)
}

// ConvertToTable renders views as the console's list columns.
func (r *REST) ConvertToTable(ctx context.Context, obj runtime.Object, opts runtime.Object) (*metav1.Table, error) {
	return r.table.ConvertToTable(ctx, obj, opts)
}

// GroupVersionKind is for the storage's kind in discovery.
func (r *REST) GroupVersionKind(gv schema.GroupVersion) schema.GroupVersionKind {
	return gv.WithKind("BackupConfigurationView")
}

// matcher builds the label and field filter; an unsupported field is a 400 naming the
// supported ones.
func matcher(o *metainternalversion.ListOptions) (func(*ui.BackupConfigurationView) bool, error) {
	lsel, fsel := labels.Everything(), fields.Everything()
	if o != nil && o.LabelSelector != nil {
		lsel = o.LabelSelector
	}
	if o != nil && o.FieldSelector != nil {
		fsel = o.FieldSelector
	}
	fmatch, err := ui.ViewFields.Matcher(fsel)
	if u := (*selectable.UnsupportedError)(nil); errors.As(err, &u) {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("field selector %q is not supported for backupconfigurationviews; supported fields: %s", u.Field, strings.Join(u.Supported, ", ")))
	}
	if err != nil {
		return nil, apierrors.NewBadRequest(err.Error())
	}
	if lsel.Empty() && fsel.Empty() {
		return func(*ui.BackupConfigurationView) bool { return true }, nil
	}
	return func(v *ui.BackupConfigurationView) bool { return lsel.Matches(labels.Set(v.Labels)) && fmatch(v) }, nil
}

// filtered reports whether the list has a label or field selector.
func filtered(o *metainternalversion.ListOptions) bool {
	return o != nil && (o.LabelSelector != nil && !o.LabelSelector.Empty() || o.FieldSelector != nil && !o.FieldSelector.Empty())
}
