// Package backupconfigurationview is the read-only REST storage of BackupConfigurationViews,
// served from the materialised views of package viewcache by a cached.Store.
package backupconfigurationview

import (
	"context"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/registry/rest"

	ui "github.com/kubestash/backupview/pkg/apis/ui/v1alpha1"
	"github.com/kubestash/backupview/pkg/registry/cached"
)

// Cache is what the storage reads.
type Cache = cached.Cache[*ui.BackupConfigurationView]

// Hooks connect the storage to the rest of the server (warnings, metrics, redaction).
type Hooks = cached.Hooks[*ui.BackupConfigurationView]

// Resource is the views' resource.
var Resource = ui.ViewsResource

var kind = cached.Kind[ui.BackupConfigurationView, *ui.BackupConfigurationView]{
	Resource: Resource,
	Noun:     "views",
	Fields:   ui.ViewFields,
	NewList: func(items []ui.BackupConfigurationView, meta metav1.ListMeta) runtime.Object {
		return &ui.BackupConfigurationViewList{ListMeta: meta, Items: items}
	},
}

// REST implements the read-only storage.
type REST struct {
	*cached.Store[ui.BackupConfigurationView, *ui.BackupConfigurationView]
	table tableConvertor
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
	return &REST{Store: cached.New(kind, c, h), table: tableConvertor{now: time.Now}}
}

func (r *REST) Kind() string            { return "BackupConfigurationView" }
func (r *REST) GetSingularName() string { return "backupconfigurationview" }
func (r *REST) ShortNames() []string    { return []string{"bcv"} }
func (r *REST) Categories() []string    { return []string{"kubestash"} }

// GroupVersionKind is for the storage's kind in discovery.
func (r *REST) GroupVersionKind(gv schema.GroupVersion) schema.GroupVersionKind {
	return gv.WithKind(r.Kind())
}

// ConvertToTable renders views as the console's list columns.
func (r *REST) ConvertToTable(ctx context.Context, obj runtime.Object, opts runtime.Object) (*metav1.Table, error) {
	return r.table.ConvertToTable(ctx, obj, opts)
}
