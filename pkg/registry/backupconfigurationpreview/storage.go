// Package backupconfigurationpreview is the storage that renders a BackupConfiguration from the
// console's create form. One storage serves both the top-level resource
// backupconfigurationpreviews (for `kubectl create -f form.yaml`) and the subresource
// backupconfigurationviews/{name}/preview (for UIs, create only). Nothing is persisted: every
// write renders, and a read finds nothing.
//
// Why the top-level resource also takes PUT and PATCH (docs/design.md, "Preview: every write
// renders"): kubectl's default --validate=strict asks the OpenAPI whether the kind supports
// server-side field validation, by looking for a PATCH operation of that kind with a
// fieldValidation query parameter (OpenAPI v3, then v2). A create-only kind has no PATCH
// operation, so kubectl takes it for a CRD it cannot find in the OpenAPI and lists
// CustomResourceDefinitions to check, which a namespace user may not: `kubectl create -f`
// failed before sending anything. The installer emits PUT and PATCH operations (with
// fieldValidation) for a storage that is a rest.Updater and a rest.Patcher (Getter + Updater),
// so REST is both, honestly: Get always answers 404 (nothing is stored), and Update is
// create-on-update from an empty object, rendering exactly as Create (created=true, 201).
// kubectl then sends fieldValidation=Strict with its POST, and the create handler decodes the
// form strictly: an unknown field is a 400 naming it. PUT and PATCH go through the same
// handler chain (body limit, filters.PreviewBodies) and the same render gate as POST; the
// handlers authorize them as update or patch and, because they create, as create too.
package backupconfigurationpreview

import (
	"context"
	"errors"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/rest"
	"k8s.io/apiserver/pkg/warning"

	"github.com/kubestash/backupview/pkg/access"
	ui "github.com/kubestash/backupview/pkg/apis/ui/v1alpha1"
	"github.com/kubestash/backupview/pkg/render"
)

// REST is the top-level resource: create, and create-on-update by PUT and PATCH.
type REST struct {
	facts  render.Facts
	access *access.Checker
}

// maxAccessChecks bounds the authorization questions one preview may cause (each distinct
// resource and namespace it names outside its own: storage, policy, target, Secrets).
const maxAccessChecks = 16

var (
	_ rest.Storage              = &REST{}
	_ rest.Creater              = &REST{}
	_ rest.Scoper               = &REST{}
	_ rest.KindProvider         = &REST{}
	_ rest.SingularNameProvider = &REST{}
	_ rest.CategoriesProvider   = &REST{}
	_ rest.Getter               = &REST{}
	_ rest.Updater              = &REST{}
	_ rest.Patcher              = &REST{}
)

// NewREST returns the storage; facts answers the warnings from the informers' caches (nil:
// no warnings), and checker tells what the caller may see of other namespaces (nil: nothing).
func NewREST(facts render.Facts, checker *access.Checker) *REST {
	if checker == nil {
		checker = access.New(nil, access.Options{})
	}
	return &REST{facts: facts, access: checker}
}

func (r *REST) New() runtime.Object     { return &ui.BackupConfigurationPreview{} }
func (r *REST) Destroy()                {}
func (r *REST) NamespaceScoped() bool   { return true }
func (r *REST) Kind() string            { return "BackupConfigurationPreview" }
func (r *REST) GetSingularName() string { return "backupconfigurationpreview" }
func (r *REST) Categories() []string    { return []string{"kubestash"} }

// Create renders the form. dryRun gives the same answer: nothing is ever stored.
func (r *REST) Create(ctx context.Context, obj runtime.Object, createValidation rest.ValidateObjectFunc, _ *metav1.CreateOptions) (runtime.Object, error) {
	p, ok := obj.(*ui.BackupConfigurationPreview)
	if !ok {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("not a BackupConfigurationPreview: %T", obj))
	}
	return r.render(ctx, p, createValidation)
}

// Get finds nothing: a preview is never stored. It makes REST a rest.Patcher (see the package
// comment); the patch handler reads the current object through Update, not Get.
func (r *REST) Get(_ context.Context, name string, _ *metav1.GetOptions) (runtime.Object, error) {
	return nil, apierrors.NewNotFound(ui.PreviewsResource, name)
}

// Update renders the form that objInfo makes of an empty preview, as Create does: there is no
// current object, so every PUT and PATCH creates (created=true) and nothing is stored. A merge,
// JSON or strategic-merge patch has nothing to apply to and is a 404 (the patch handler's own
// answer for a missing object); a server-side apply builds the form from the patch alone. A
// uid precondition cannot hold for an object that does not exist: 409, as for any kind.
func (r *REST) Update(ctx context.Context, name string, objInfo rest.UpdatedObjectInfo, createValidation rest.ValidateObjectFunc, _ rest.ValidateObjectUpdateFunc, _ bool, _ *metav1.UpdateOptions) (runtime.Object, bool, error) {
	if pre := objInfo.Preconditions(); pre != nil && pre.UID != nil && *pre.UID != "" {
		return nil, false, apierrors.NewConflict(ui.PreviewsResource, name,
			fmt.Errorf("precondition failed: uid %s: previews are never stored", *pre.UID))
	}
	obj, err := objInfo.UpdatedObject(ctx, &ui.BackupConfigurationPreview{})
	if err != nil {
		// The handler's transformers only apply the request to an empty object, so an error
		// that is not already a Status is about the request: server-side apply's "field not
		// declared in schema" for an unknown field (whatever fieldValidation says) is a 400
		// naming it, not a 500.
		var status apierrors.APIStatus
		if !errors.As(err, &status) {
			err = apierrors.NewBadRequest(err.Error())
		}
		return nil, false, err
	}
	p, ok := obj.(*ui.BackupConfigurationPreview)
	if !ok {
		return nil, false, apierrors.NewBadRequest(fmt.Sprintf("not a BackupConfigurationPreview: %T", obj))
	}
	out, err := r.render(ctx, p, createValidation)
	if err != nil {
		return nil, false, err
	}
	return out, true, nil
}

func (r *REST) render(ctx context.Context, p *ui.BackupConfigurationPreview, createValidation rest.ValidateObjectFunc) (runtime.Object, error) {
	if ns, ok := genericapirequest.NamespaceFrom(ctx); ok && ns != "" {
		if p.Namespace == "" {
			p.Namespace = ns
		} else if p.Namespace != ns {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("the namespace of the form (%q) does not match the namespace of the request (%q)", p.Namespace, ns))
		}
	}
	if createValidation != nil {
		if err := createValidation(ctx, p); err != nil {
			return nil, err
		}
	}
	m, errs, err := render.RenderContext(ctx, p)
	if err != nil {
		return nil, err // 429: the server is busy with other large params
	}
	if len(errs) > 0 {
		return nil, apierrors.NewInvalid(ui.Kind("BackupConfigurationPreview"), p.Name, errs)
	}
	caller := r.access.For(ctx).Limit(maxAccessChecks)
	if r.facts != nil {
		for _, w := range render.Warnings(p, render.ForCaller(r.facts, caller)) {
			warning.AddWarning(ctx, "", w)
		}
	}
	// The write handlers add managedFields; a preview is not an object anyone manages.
	p.ManagedFields = nil
	p.Status = ui.PreviewStatus{Manifest: &runtime.RawExtension{Raw: m.JSON}, YAML: m.YAML, JSON: m.IndentedJSON}
	return p, nil
}

// PreviewREST is the subresource backupconfigurationviews/{name}/preview: {name} is the
// BackupConfiguration to render, which need not exist.
type PreviewREST struct {
	rest *REST
}

var (
	_ rest.Storage                        = &PreviewREST{}
	_ rest.NamedCreater                   = &PreviewREST{}
	_ rest.GroupVersionKindProvider       = &PreviewREST{}
	_ rest.SubresourceObjectMetaPreserver = &PreviewREST{}
)

// NewPreviewREST returns the subresource storage, sharing r's rendering.
func NewPreviewREST(r *REST) *PreviewREST { return &PreviewREST{rest: r} }

func (r *PreviewREST) New() runtime.Object { return &ui.BackupConfigurationPreview{} }
func (r *PreviewREST) Destroy()            {}

// GroupVersionKind: the subresource takes and returns a BackupConfigurationPreview, not a view.
func (r *PreviewREST) GroupVersionKind(gv schema.GroupVersion) schema.GroupVersionKind {
	return gv.WithKind("BackupConfigurationPreview")
}

// PreserveRequestObjectMetaSystemFieldsOnSubresourceCreate keeps the form's labels and
// annotations: the handler would otherwise wipe the object's metadata for a subresource.
func (r *PreviewREST) PreserveRequestObjectMetaSystemFieldsOnSubresourceCreate() bool { return true }

// Create renders the form for the BackupConfiguration named in the URL.
func (r *PreviewREST) Create(ctx context.Context, name string, obj runtime.Object, createValidation rest.ValidateObjectFunc, _ *metav1.CreateOptions) (runtime.Object, error) {
	p, ok := obj.(*ui.BackupConfigurationPreview)
	if !ok {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("not a BackupConfigurationPreview: %T", obj))
	}
	switch p.Name {
	case "":
		p.Name = name
	case name:
	default:
		return nil, apierrors.NewBadRequest(fmt.Sprintf("the name of the form (%q) does not match the name in the URL (%q)", p.Name, name))
	}
	return r.rest.render(ctx, p, createValidation)
}
