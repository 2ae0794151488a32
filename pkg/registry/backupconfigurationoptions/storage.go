// Package backupconfigurationoptions is the read-only REST storage of
// BackupConfigurationOptions (docs/design.md, "Form options"), served by a cached.Store from
// the same kind of versioned store as the views.
package backupconfigurationoptions

import (
	"context"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/registry/rest"

	ui "github.com/kubestash/backupview/pkg/apis/ui/v1alpha1"
	"github.com/kubestash/backupview/pkg/registry/cached"
)

// Cache is what the storage reads.
type Cache = cached.Cache[*ui.BackupConfigurationOptions]

// Hooks connect the storage to the rest of the server (metrics, redaction).
type Hooks = cached.Hooks[*ui.BackupConfigurationOptions]

// Resource is the options' resource.
var Resource = ui.OptionsResource

var kind = cached.Kind[ui.BackupConfigurationOptions, *ui.BackupConfigurationOptions]{
	Resource: Resource,
	Noun:     "form options",
	Fields:   ui.OptionsFields,
	NewList: func(items []ui.BackupConfigurationOptions, meta metav1.ListMeta) runtime.Object {
		return &ui.BackupConfigurationOptionsList{ListMeta: meta, Items: items}
	},
}

// REST implements the read-only storage.
type REST struct {
	*cached.Store[ui.BackupConfigurationOptions, *ui.BackupConfigurationOptions]
	table tableConvertor
}

var (
	_ rest.Storage              = &REST{}
	_ rest.Scoper               = &REST{}
	_ rest.KindProvider         = &REST{}
	_ rest.SingularNameProvider = &REST{}
	_ rest.CategoriesProvider   = &REST{}
	_ rest.Getter               = &REST{}
	_ rest.Lister               = &REST{}
	_ rest.Watcher              = &REST{}
	_ rest.TableConvertor       = &REST{}
)

// NewREST returns the storage.
func NewREST(c Cache, h Hooks) *REST {
	return &REST{Store: cached.New(kind, c, h)}
}

func (r *REST) Kind() string            { return "BackupConfigurationOptions" }
func (r *REST) GetSingularName() string { return Resource.Resource }
func (r *REST) Categories() []string    { return []string{"kubestash"} }

// GroupVersionKind is for the storage's kind in discovery.
func (r *REST) GroupVersionKind(gv schema.GroupVersion) schema.GroupVersionKind {
	return gv.WithKind(r.Kind())
}

// ConvertToTable renders options as counts and defaults.
func (r *REST) ConvertToTable(ctx context.Context, obj runtime.Object, opts runtime.Object) (*metav1.Table, error) {
	return r.table.ConvertToTable(ctx, obj, opts)
}
