// Package restoresessionpreview is the storage that renders a KubeStash RestoreSession from a
// restore form (docs/design.md, "Restore preview"). One renderer serves the top-level resource
// restoresessionpreviews (for `kubectl create -f form.yaml`) and the subresource
// backupconfigurationviews/{name}/restore-preview (for UIs, create only), which takes the
// repository and the target from the view. Nothing is persisted: every write renders, and a
// read finds nothing. The top-level resource takes PUT and PATCH for the reason the
// BackupConfiguration preview does (docs/design.md, "Preview: every write renders"):
// kubectl's strict validation needs a PATCH operation in the OpenAPI.
package restoresessionpreview

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/rest"
	"k8s.io/apiserver/pkg/warning"

	"github.com/kubestash/backupview/pkg/access"
	ui "github.com/kubestash/backupview/pkg/apis/ui/v1alpha1"
	"github.com/kubestash/backupview/pkg/kubestash"
	"github.com/kubestash/backupview/pkg/render"
)

// Kind is the kind the storage takes and returns.
const Kind = "RestoreSessionPreview"

// maxAccessChecks bounds the authorization questions one preview may cause (repositories,
// snapshots, the target's kind and Secrets in another namespace, and Addons).
const maxAccessChecks = 16

// Views tells the subresource what a view restores from and into.
type Views interface {
	// View returns the view's sessions and target; found is false when there is no such view.
	View(ns, name string) (v View, found bool)
}

// View is what the subresource reads of a view: the BackupConfiguration's sessions and target.
type View struct {
	Sessions []ViewSession
	Target   *kubestash.TypedRef
}

// ViewSession is one session of the view's BackupConfiguration.
type ViewSession struct {
	Addon        string
	Tasks        []string // backup tasks
	Repositories []string // in the view's namespace
}

// Repositories lists the view's repositories, each once, by name.
func (v View) Repositories() []string {
	var out []string
	for _, s := range v.Sessions {
		for _, r := range s.Repositories {
			if r != "" && !slices.Contains(out, r) {
				out = append(out, r)
			}
		}
	}
	slices.Sort(out)
	return out
}

// REST is the top-level resource: create, and create-on-update by PUT and PATCH.
type REST struct {
	facts  render.RestoreFacts
	access *access.Checker
}

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
func NewREST(facts render.RestoreFacts, checker *access.Checker) *REST {
	if checker == nil {
		checker = access.New(nil, access.Options{})
	}
	return &REST{facts: facts, access: checker}
}

func (r *REST) New() runtime.Object     { return &ui.RestoreSessionPreview{} }
func (r *REST) Destroy()                {}
func (r *REST) NamespaceScoped() bool   { return true }
func (r *REST) Kind() string            { return Kind }
func (r *REST) GetSingularName() string { return "restoresessionpreview" }
func (r *REST) Categories() []string    { return []string{"kubestash"} }

// Create renders the form. dryRun gives the same answer: nothing is ever stored.
func (r *REST) Create(ctx context.Context, obj runtime.Object, createValidation rest.ValidateObjectFunc, _ *metav1.CreateOptions) (runtime.Object, error) {
	p, ok := obj.(*ui.RestoreSessionPreview)
	if !ok {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("not a %s: %T", Kind, obj))
	}
	return r.render(ctx, p, createValidation, nil)
}

// Get finds nothing: a preview is never stored.
func (r *REST) Get(_ context.Context, name string, _ *metav1.GetOptions) (runtime.Object, error) {
	return nil, apierrors.NewNotFound(ui.RestorePreviewsResource, name)
}

// Update renders the form that objInfo makes of an empty preview, as Create does (see the
// BackupConfiguration preview's Update: the same rules, for the same reasons).
func (r *REST) Update(ctx context.Context, name string, objInfo rest.UpdatedObjectInfo, createValidation rest.ValidateObjectFunc, _ rest.ValidateObjectUpdateFunc, _ bool, _ *metav1.UpdateOptions) (runtime.Object, bool, error) {
	if pre := objInfo.Preconditions(); pre != nil && pre.UID != nil && *pre.UID != "" {
		return nil, false, apierrors.NewConflict(ui.RestorePreviewsResource, name,
			fmt.Errorf("precondition failed: uid %s: previews are never stored", *pre.UID))
	}
	obj, err := objInfo.UpdatedObject(ctx, &ui.RestoreSessionPreview{})
	if err != nil {
		var status apierrors.APIStatus
		if !errors.As(err, &status) {
			err = apierrors.NewBadRequest(err.Error())
		}
		return nil, false, err
	}
	p, ok := obj.(*ui.RestoreSessionPreview)
	if !ok {
		return nil, false, apierrors.NewBadRequest(fmt.Sprintf("not a %s: %T", Kind, obj))
	}
	out, err := r.render(ctx, p, createValidation, nil)
	if err != nil {
		return nil, false, err
	}
	return out, true, nil
}

// render validates and renders the form; viewErrs are the subresource's own findings, reported
// in the same 422 (a path there replaces the renderer's error at that path).
func (r *REST) render(ctx context.Context, p *ui.RestoreSessionPreview, createValidation rest.ValidateObjectFunc, viewErrs field.ErrorList) (runtime.Object, error) {
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
	m, errs, err := render.RenderRestoreContext(ctx, p)
	if err != nil {
		return nil, err // 429: the server is busy with other large params
	}
	if len(viewErrs) > 0 {
		taken := map[string]bool{}
		for _, e := range viewErrs {
			taken[e.Field] = true
		}
		for _, e := range errs {
			if !taken[e.Field] {
				viewErrs = append(viewErrs, e)
			}
		}
		errs = viewErrs
	}
	if len(errs) > 0 {
		return nil, apierrors.NewInvalid(ui.Kind(Kind), p.Name, errs)
	}
	var resolved *ui.ResolvedSnapshot
	if r.facts != nil {
		caller := r.access.For(ctx).Limit(maxAccessChecks)
		var ws []string
		ws, resolved = render.RestoreWarnings(p, render.RestoreForCaller(r.facts, caller))
		for _, w := range ws {
			warning.AddWarning(ctx, "", w)
		}
	}
	// The write handlers add managedFields; a preview is not an object anyone manages.
	p.ManagedFields = nil
	p.Status = ui.RestorePreviewStatus{
		Manifest: &runtime.RawExtension{Raw: m.JSON}, YAML: m.YAML, JSON: m.IndentedJSON, Snapshot: resolved,
	}
	return p, nil
}

// PreviewREST is the subresource backupconfigurationviews/{name}/restore-preview: it renders a
// restore of the view's data, taking the repository and, by default, the target from the view.
type PreviewREST struct {
	rest  *REST
	views Views
}

var (
	_ rest.Storage                        = &PreviewREST{}
	_ rest.NamedCreater                   = &PreviewREST{}
	_ rest.GroupVersionKindProvider       = &PreviewREST{}
	_ rest.SubresourceObjectMetaPreserver = &PreviewREST{}
)

// NewPreviewREST returns the subresource storage, sharing r's rendering.
func NewPreviewREST(r *REST, views Views) *PreviewREST { return &PreviewREST{rest: r, views: views} }

func (r *PreviewREST) New() runtime.Object { return &ui.RestoreSessionPreview{} }
func (r *PreviewREST) Destroy()            {}

// GroupVersionKind: the subresource takes and returns a RestoreSessionPreview, not a view.
func (r *PreviewREST) GroupVersionKind(gv schema.GroupVersion) schema.GroupVersionKind {
	return gv.WithKind(Kind)
}

// PreserveRequestObjectMetaSystemFieldsOnSubresourceCreate keeps the form's name, labels and
// annotations: the handler would otherwise wipe the object's metadata for a subresource.
func (r *PreviewREST) PreserveRequestObjectMetaSystemFieldsOnSubresourceCreate() bool { return true }

// Create renders a restore from the view named in the URL. The form's metadata.name is the
// RestoreSession's, not the view's. The repository must be one of the view's (the only one
// when the form names none); an empty target is the view's, an empty addon and tasks are
// defaulted by defaultAddon.
func (r *PreviewREST) Create(ctx context.Context, name string, obj runtime.Object, createValidation rest.ValidateObjectFunc, _ *metav1.CreateOptions) (runtime.Object, error) {
	p, ok := obj.(*ui.RestoreSessionPreview)
	if !ok {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("not a %s: %T", Kind, obj))
	}
	ns, _ := genericapirequest.NamespaceFrom(ctx)
	var view View
	found := false
	if r.views != nil {
		view, found = r.views.View(ns, name)
	}
	if !found {
		return nil, apierrors.NewNotFound(ui.ViewsResource, name)
	}
	repos := view.Repositories()
	var errs field.ErrorList
	rp := field.NewPath("spec", "repository")
	repo := &p.Spec.Repository
	if repo.Namespace != "" && repo.Namespace != ns {
		errs = append(errs, field.Invalid(rp.Child("namespace"), repo.Namespace,
			fmt.Sprintf("the view's repositories are in its namespace %s", ns)))
	}
	switch {
	case repo.Name == "" && len(repos) == 1:
		repo.Name = repos[0]
	case repo.Name == "" && len(repos) == 0:
		errs = append(errs, field.Required(rp.Child("name"), fmt.Sprintf("BackupConfiguration %s/%s names no repository", ns, name)))
	case repo.Name == "":
		errs = append(errs, field.Required(rp.Child("name"), "the view has several repositories: one of "+strings.Join(repos, ", ")))
	case !slices.Contains(repos, repo.Name):
		errs = append(errs, field.NotSupported(rp.Child("name"), repo.Name, repos))
	}
	if t := view.Target; p.Spec.Target == (ui.TypedObjectReference{}) && t != nil {
		p.Spec.Target = ui.TypedObjectReference{APIGroup: t.APIGroup, Kind: t.Kind, Namespace: t.Namespace, Name: t.Name}
	}
	if len(errs) == 0 {
		r.defaultAddon(ctx, p, view)
	}
	return r.rest.render(ctx, p, createValidation, errs)
}

// defaultAddon fills an empty addon from the sessions that write to the form's repository,
// when they share one Addon; and empty tasks with the restore task of each of their backup
// tasks, when the caller may get Addons (the same rule as the warnings) and the Addon has one:
// <task>-restore, or X-restore for X-backup (logical-backup-restore, manifest-restore). What
// cannot be told is left empty, and the 422 asks for it.
func (r *PreviewREST) defaultAddon(ctx context.Context, p *ui.RestoreSessionPreview, view View) {
	a := &p.Spec.Addon
	var addon string
	var backupTasks []string
	for _, s := range view.Sessions {
		if !slices.Contains(s.Repositories, p.Spec.Repository.Name) {
			continue
		}
		if addon != "" && s.Addon != addon {
			return // sessions with different Addons write to it: the form must say
		}
		addon = s.Addon
		backupTasks = append(backupTasks, s.Tasks...)
	}
	if a.Name == "" {
		a.Name = addon
	}
	if len(a.Tasks) > 0 || a.Name == "" || a.Name != addon || r.rest.facts == nil {
		return
	}
	if ok, _ := r.rest.access.For(ctx).MayGet(kubestash.AddonsGroup, kubestash.Addons.Resource, ""); !ok {
		return
	}
	_, restoreTasks, found := r.rest.facts.Addon(a.Name)
	if !found {
		return
	}
	for _, t := range backupTasks {
		for _, cand := range []string{t + "-restore", strings.TrimSuffix(t, "-backup") + "-restore"} {
			if slices.Contains(restoreTasks, cand) && !slices.ContainsFunc(a.Tasks, func(x ui.RestoreTask) bool { return x.Name == cand }) {
				a.Tasks = append(a.Tasks, ui.RestoreTask{Name: cand})
				break
			}
		}
	}
}
