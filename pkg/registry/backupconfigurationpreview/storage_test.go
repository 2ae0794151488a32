package backupconfigurationpreview

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/rest"
	"k8s.io/apiserver/pkg/warning"

	"github.com/kubestash/backupview/pkg/access"
	ui "github.com/kubestash/backupview/pkg/apis/ui/v1alpha1"
	"github.com/kubestash/backupview/pkg/render"
)

type warnings struct {
	mu sync.Mutex
	w  []string
}

func (r *warnings) AddWarning(_, text string) { r.mu.Lock(); r.w = append(r.w, text); r.mu.Unlock() }

// facts knows one storage and policy, nothing else; with checkSecrets, it watches Secrets
// and finds none.
type facts struct{ checkSecrets bool }

func (facts) BackupStorage(ns, name, _ string) (bool, string) {
	return ns == "stash" && name == "default", ""
}
func (facts) RetentionPolicy(ns, name, _ string) (bool, string) {
	return ns == "stash" && name == "default", ""
}
func (facts) Addon(name string) ([]string, []string, bool) {
	return []string{"logical-backup"}, []string{"logical-backup-restore"}, name == "mongodb-addon"
}
func (facts) Target(_, _, _, _, _ string) render.TargetState { return render.TargetFound }
func (facts) BackupConfigurationExists(_, _ string) bool     { return false }
func (f facts) Secret(_, _ string) (bool, bool)              { return false, f.checkSecrets }

// authz allows the user "admin" everything, anyone else nothing, and counts the questions.
type authz struct{ calls *int }

func (a authz) checker() *access.Checker {
	return access.New(authorizer.AuthorizerFunc(func(_ context.Context, at authorizer.Attributes) (authorizer.Decision, string, error) {
		*a.calls++
		if at.GetUser().GetName() == "admin" {
			return authorizer.DecisionAllow, "", nil
		}
		return authorizer.DecisionNoOpinion, "", nil
	}), access.Options{})
}

func allowAll() *access.Checker { return authz{calls: new(int)}.checker() }

func form() *ui.BackupConfigurationPreview {
	zero := int64(0)
	return &ui.BackupConfigurationPreview{
		ObjectMeta: metav1.ObjectMeta{Name: "mongodb-backup", Namespace: "demo", ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl"}}},
		Spec: ui.PreviewSpec{
			StorageRef:      ui.ObjectReference{Namespace: "stash", Name: "default"},
			RetentionPolicy: ui.ObjectReference{Namespace: "stash", Name: "default"},
			Sessions: []ui.PreviewSession{{Name: "full-backup", Schedule: "*/30 * * * *", RunAsUser: &zero, Addon: "mongodb-addon",
				Tasks: []ui.PreviewTask{{Name: "logical-backup", RepoName: "repo", EncryptionSecret: &ui.ObjectReference{Namespace: "demo", Name: "enc"}}}}},
			Target: ui.TypedObjectReference{APIGroup: "kubedb.com", Kind: "MongoDB", Namespace: "demo", Name: "mongodb"},
		},
	}
}

func ctxFor(ns string) (context.Context, *warnings) {
	w := &warnings{}
	ctx := genericapirequest.WithNamespace(context.Background(), ns)
	ctx = genericapirequest.WithUser(ctx, &user.DefaultInfo{Name: "admin"})
	return warning.WithWarningRecorder(ctx, w), w
}

func TestCreateRenders(t *testing.T) {
	r := NewREST(facts{}, allowAll())
	ctx, w := ctxFor("demo")
	out, err := r.Create(ctx, form(), nil, &metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p := out.(*ui.BackupConfigurationPreview)
	if p.Status.Manifest == nil || !strings.Contains(p.Status.YAML, "runAsUser: 0") || !strings.Contains(p.Status.JSON, `"kind": "BackupConfiguration"`) {
		t.Errorf("status = %+v", p.Status)
	}
	if p.ManagedFields != nil {
		t.Error("managedFields returned")
	}
	if len(w.w) != 0 {
		t.Errorf("unexpected warnings %v (secrets are not checked by default)", w.w)
	}
	// dryRun gives the same answer.
	ctx2, _ := ctxFor("demo")
	dry, err := r.Create(ctx2, form(), nil, &metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
	if err != nil || dry.(*ui.BackupConfigurationPreview).Status.YAML != p.Status.YAML {
		t.Errorf("dry run differs: %v", err)
	}
}

func TestCreateErrors(t *testing.T) {
	r := NewREST(facts{}, allowAll())
	ctx, _ := ctxFor("prod")
	if _, err := r.Create(ctx, form(), nil, nil); !apierrors.IsBadRequest(err) {
		t.Errorf("namespace mismatch: %v", err)
	}
	bad := form()
	bad.Spec.Sessions[0].Schedule = "nope"
	bad.Spec.Sessions[0].Tasks[0].Name = ""
	ctx, _ = ctxFor("demo")
	_, err := r.Create(ctx, bad, nil, nil)
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "spec.sessions[0].schedule") || !strings.Contains(err.Error(), "spec.sessions[0].tasks[0].name") {
		t.Errorf("want 422 with both paths, got %v", err)
	}
	// createValidation runs and its error is returned.
	denied := apierrors.NewForbidden(ui.Resource("backupconfigurationpreviews"), "mongodb-backup", nil)
	if _, err := r.Create(ctx, form(), func(context.Context, runtime.Object) error { return denied }, nil); err != denied {
		t.Errorf("createValidation error not returned: %v", err)
	}
}

func TestSubresourceName(t *testing.T) {
	sub := NewPreviewREST(NewREST(facts{}, allowAll()))
	ctx, _ := ctxFor("demo")
	if _, err := sub.Create(ctx, "other", form(), nil, nil); !apierrors.IsBadRequest(err) {
		t.Errorf("name mismatch: %v", err)
	}
	f := form()
	f.Name = ""
	out, err := sub.Create(ctx, "from-url", f, nil, nil)
	if err != nil || !strings.Contains(out.(*ui.BackupConfigurationPreview).Status.YAML, "name: from-url") {
		t.Errorf("name from the URL: %v", err)
	}
}

func TestWarnings(t *testing.T) {
	r := NewREST(facts{checkSecrets: true}, allowAll())
	f := form()
	f.Spec.StorageRef.Name = "missing"
	f.Spec.Sessions[0].Tasks[0].Name = "logical-backup-restore"
	ctx, w := ctxFor("demo")
	if _, err := r.Create(ctx, f, nil, nil); err != nil {
		t.Fatal(err)
	}
	all := strings.Join(w.w, "\n")
	for _, want := range []string{"BackupStorage stash/missing not found", "restore task", "encryption Secret demo/enc not found"} {
		if !strings.Contains(all, want) {
			t.Errorf("warnings lack %q:\n%s", want, all)
		}
	}
}

// TestWarningsFollowTheCaller: a caller who may not get BackupStorages in stash, nor Secrets
// in demo, gets the same warnings whether the storage and the Secret exist or not; the
// admin is told. A form naming many namespaces asks the authorizer a bounded number of times.
func TestWarningsFollowTheCaller(t *testing.T) {
	calls := 0
	r := NewREST(facts{checkSecrets: true}, authz{calls: &calls}.checker())
	run := func(u string, storage string) []string {
		f := form()
		f.Spec.StorageRef.Name = storage
		ctx, w := ctxFor("demo")
		ctx = genericapirequest.WithUser(ctx, &user.DefaultInfo{Name: u, Groups: []string{"system:authenticated"}})
		if _, err := r.Create(ctx, f, nil, nil); err != nil {
			t.Fatal(err)
		}
		return w.w
	}
	exists, missing := run("alice", "default"), run("alice", "missing")
	want := []string{
		"cannot check BackupStorage stash/default: you cannot get backupstorages in namespace stash",
		"cannot check RetentionPolicy stash/default: you cannot get retentionpolicies in namespace stash",
		"cannot check Addon mongodb-addon: you cannot get addons (cluster-scoped)",
		"cannot check encryption Secret demo/enc: you cannot get secrets in namespace demo",
	}
	if strings.Join(exists, "\n") != strings.Join(want, "\n") {
		t.Errorf("alice, storage exists:\n%s", strings.Join(exists, "\n"))
	}
	want[0] = "cannot check BackupStorage stash/missing: you cannot get backupstorages in namespace stash"
	if strings.Join(missing, "\n") != strings.Join(want, "\n") {
		t.Errorf("alice, storage missing:\n%s", strings.Join(missing, "\n"))
	}
	admin := strings.Join(run("admin", "missing"), "\n")
	for _, w := range []string{"BackupStorage stash/missing not found", "encryption Secret demo/enc not found"} {
		if !strings.Contains(admin, w) {
			t.Errorf("admin lacks %q:\n%s", w, admin)
		}
	}

	// 200 encryption Secrets in 200 namespaces: at most maxAccessChecks questions.
	calls = 0
	f := form()
	for i := range 200 {
		f.Spec.Sessions[0].Tasks = append(f.Spec.Sessions[0].Tasks, ui.PreviewTask{Name: "logical-backup", RepoName: fmt.Sprintf("repo-%d", i),
			EncryptionSecret: &ui.ObjectReference{Namespace: fmt.Sprintf("ns-%d", i), Name: "enc"}})
	}
	f.Spec.Sessions[0].Tasks = f.Spec.Sessions[0].Tasks[:64]
	ctx, _ := ctxFor("demo")
	ctx = genericapirequest.WithUser(ctx, &user.DefaultInfo{Name: "mallory"})
	if _, err := r.Create(ctx, f, nil, nil); err != nil {
		t.Fatal(err)
	}
	if calls > maxAccessChecks {
		t.Errorf("one preview asked the authorizer %d times, bound %d", calls, maxAccessChecks)
	}
}

func TestGetFindsNothing(t *testing.T) {
	r := NewREST(facts{}, allowAll())
	ctx, _ := ctxFor("demo")
	obj, err := r.Get(ctx, "mongodb-backup", &metav1.GetOptions{})
	if !apierrors.IsNotFound(err) || obj != nil || !strings.Contains(err.Error(), `backupconfigurationpreviews.ui.kubestash.com "mongodb-backup" not found`) {
		t.Errorf("Get = %v, %v; want 404", obj, err)
	}
}

// TestUpdateRendersAsCreate: a PUT or PATCH renders from an empty current object, exactly as
// a POST, and always creates.
func TestUpdateRendersAsCreate(t *testing.T) {
	r := NewREST(facts{checkSecrets: true}, allowAll())
	ctx, cw := ctxFor("demo")
	created, err := r.Create(ctx, form(), nil, &metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := created.(*ui.BackupConfigurationPreview).Status

	var old runtime.Object
	validated := 0
	info := rest.DefaultUpdatedObjectInfo(form(), func(_ context.Context, newObj, oldObj runtime.Object) (runtime.Object, error) {
		old = oldObj
		return newObj, nil
	})
	for _, opts := range []*metav1.UpdateOptions{{}, {DryRun: []string{metav1.DryRunAll}}} {
		ctx, uw := ctxFor("demo")
		out, isNew, err := r.Update(ctx, "mongodb-backup", info, func(context.Context, runtime.Object) error { validated++; return nil }, nil, false, opts)
		if err != nil {
			t.Fatal(err)
		}
		p := out.(*ui.BackupConfigurationPreview)
		if !isNew || p.Status.YAML != want.YAML || p.Status.JSON != want.JSON || p.ManagedFields != nil {
			t.Errorf("update %v: created=%v managedFields=%v status:\n%s\nwant:\n%s", opts.DryRun, isNew, p.ManagedFields, p.Status.YAML, want.YAML)
		}
		if strings.Join(uw.w, "\n") != strings.Join(cw.w, "\n") || len(uw.w) == 0 {
			t.Errorf("update warnings %q, create warnings %q", uw.w, cw.w)
		}
		if o, ok := old.(*ui.BackupConfigurationPreview); !ok || o.Name != "" || o.UID != "" || o.ResourceVersion != "" {
			t.Errorf("the current object handed to the update must be an empty preview, got %#v", old)
		}
	}
	if validated != 2 {
		t.Errorf("createValidation ran %d times for 2 updates", validated)
	}
}

func TestUpdateErrors(t *testing.T) {
	r := NewREST(facts{}, allowAll())
	ctx, _ := ctxFor("demo")
	update := func(info rest.UpdatedObjectInfo, v rest.ValidateObjectFunc) error {
		out, isNew, err := r.Update(ctx, "mongodb-backup", info, v, nil, false, &metav1.UpdateOptions{})
		if err != nil && (out != nil || isNew) {
			t.Errorf("an error with an object (%v) or created=%v", out, isNew)
		}
		return err
	}
	// A patch that needs a current object (merge, JSON, strategic) fails in the transformer.
	notFound := apierrors.NewNotFound(ui.Resource("backupconfigurationpreviews"), "mongodb-backup")
	if err := update(rest.DefaultUpdatedObjectInfo(nil, func(context.Context, runtime.Object, runtime.Object) (runtime.Object, error) { return nil, notFound }), nil); err != notFound {
		t.Errorf("transformer error not returned: %v", err)
	}
	// Any other error of the request's transformation (server-side apply of an unknown field)
	// is the request's fault: 400 with the message.
	if err := update(rest.DefaultUpdatedObjectInfo(nil, func(context.Context, runtime.Object, runtime.Object) (runtime.Object, error) {
		return nil, fmt.Errorf(".spec.colour: field not declared in schema")
	}), nil); !apierrors.IsBadRequest(err) || !strings.Contains(err.Error(), ".spec.colour") {
		t.Errorf("a plain transformer error: %v", err)
	}
	// createValidation (the create authorization of a create-on-update) is enforced.
	denied := apierrors.NewForbidden(ui.Resource("backupconfigurationpreviews"), "mongodb-backup", nil)
	if err := update(rest.DefaultUpdatedObjectInfo(form()), func(context.Context, runtime.Object) error { return denied }); err != denied {
		t.Errorf("createValidation error not returned: %v", err)
	}
	// Nothing has a uid: such a precondition fails.
	f := form()
	f.UID = "5f9d2c1e-0000-4000-8000-000000000001"
	if err := update(rest.DefaultUpdatedObjectInfo(f), nil); !apierrors.IsConflict(err) {
		t.Errorf("uid precondition: %v", err)
	}
	bad := form()
	bad.Spec.Sessions[0].Schedule = "nope"
	if err := update(rest.DefaultUpdatedObjectInfo(bad), nil); !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "spec.sessions[0].schedule") {
		t.Errorf("invalid form: %v", err)
	}
	ctx, _ = ctxFor("prod")
	if _, _, err := r.Update(ctx, "mongodb-backup", rest.DefaultUpdatedObjectInfo(form()), nil, nil, false, nil); !apierrors.IsBadRequest(err) {
		t.Errorf("namespace mismatch: %v", err)
	}
	if err := update(rest.DefaultUpdatedObjectInfo(&metav1.Status{}), nil); !apierrors.IsBadRequest(err) {
		t.Errorf("not a preview: %v", err)
	}
}
