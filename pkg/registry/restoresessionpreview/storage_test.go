package restoresessionpreview

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
	"github.com/kubestash/backupview/pkg/kubestash"
	"github.com/kubestash/backupview/pkg/render"
)

type warnings struct {
	mu sync.Mutex
	w  []string
}

func (r *warnings) AddWarning(_, text string) { r.mu.Lock(); r.w = append(r.w, text); r.mu.Unlock() }

// facts knows the Repository demo/mongodb-repo, in demo and prod, with one snapshot each, the
// BackupConfiguration demo/mongodb-backup (two repositories) and demo/single (one).
type facts struct{}

var mongo = &kubestash.TypedRef{APIGroup: "kubedb.com", Kind: "MongoDB", Namespace: "demo", Name: "mongodb"}

func (facts) Repository(ns, name string) (*kubestash.TypedRef, bool) {
	if name == "mongodb-repo" && (ns == "demo" || ns == "prod") {
		return mongo, true
	}
	return nil, false
}
func (facts) Snapshots(ns, repo string) ([]render.SnapshotFact, bool) {
	if repo == "mongodb-repo" && (ns == "demo" || ns == "prod") {
		return []render.SnapshotFact{{Name: "snap-1", Repository: repo, Phase: "Succeeded", Size: "1 MiB"}}, true
	}
	return nil, true
}
func (facts) Snapshot(ns, name string) (render.SnapshotFact, bool, bool) {
	if name == "snap-1" && (ns == "demo" || ns == "prod") {
		return render.SnapshotFact{Name: name, Repository: "mongodb-repo", Phase: "Succeeded"}, true, true
	}
	return render.SnapshotFact{}, false, true
}
func (facts) Addon(name string) ([]string, []string, bool) {
	return []string{"logical-backup", "manifest-backup"}, []string{"logical-backup-restore", "manifest-restore"}, name == "mongodb-addon"
}
func (facts) Target(_, _, _, _, _ string) render.TargetState { return render.TargetFound }
func (facts) Secret(_, _ string) (bool, bool)                { return false, true }
func (facts) View(ns, name string) (View, bool) {
	backup := ViewSession{Addon: "mongodb-addon", Tasks: []string{"logical-backup"}, Repositories: []string{"mongodb-repo"}}
	switch ns + "/" + name {
	case "demo/mongodb-backup":
		manifests := ViewSession{Addon: "mongodb-addon", Tasks: []string{"manifest-backup"}, Repositories: []string{"manifest-repo"}}
		return View{Sessions: []ViewSession{backup, manifests}, Target: mongo}, true
	case "demo/single":
		return View{Sessions: []ViewSession{backup}, Target: mongo}, true
	case "demo/none":
		return View{}, true
	}
	return View{}, false
}

// authz allows the user "admin" everything, anyone else nothing, and counts the questions.
func checker(calls *int) *access.Checker {
	return access.New(authorizer.AuthorizerFunc(func(_ context.Context, at authorizer.Attributes) (authorizer.Decision, string, error) {
		*calls++
		if at.GetUser().GetName() == "admin" {
			return authorizer.DecisionAllow, "", nil
		}
		return authorizer.DecisionNoOpinion, "", nil
	}), access.Options{})
}

func form() *ui.RestoreSessionPreview {
	return &ui.RestoreSessionPreview{
		ObjectMeta: metav1.ObjectMeta{Name: "mongodb-restore", Namespace: "demo", ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl"}}},
		Spec: ui.RestorePreviewSpec{
			Repository: ui.ObjectReference{Name: "mongodb-repo"},
			Snapshot:   "latest",
			Addon:      ui.RestoreAddon{Name: "mongodb-addon", Tasks: []ui.RestoreTask{{Name: "logical-backup-restore"}}},
			Target:     ui.TypedObjectReference{APIGroup: "kubedb.com", Kind: "MongoDB", Name: "mongodb"},
		},
	}
}

func ctxAs(ns, u string) (context.Context, *warnings) {
	w := &warnings{}
	ctx := genericapirequest.WithNamespace(context.Background(), ns)
	ctx = genericapirequest.WithUser(ctx, &user.DefaultInfo{Name: u, Groups: []string{"system:authenticated"}})
	return warning.WithWarningRecorder(ctx, w), w
}

func TestCreateRenders(t *testing.T) {
	calls := 0
	r := NewREST(facts{}, checker(&calls))
	ctx, w := ctxAs("demo", "admin")
	out, err := r.Create(ctx, form(), nil, &metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p := out.(*ui.RestoreSessionPreview)
	if p.Status.Manifest == nil || !strings.Contains(p.Status.YAML, "kind: RestoreSession\n") || !strings.Contains(p.Status.JSON, `"snapshot": "latest"`) {
		t.Errorf("status = %+v", p.Status)
	}
	if p.Status.Snapshot == nil || p.Status.Snapshot.Name != "snap-1" || p.Status.Snapshot.Size != "1 MiB" {
		t.Errorf("resolved snapshot = %+v", p.Status.Snapshot)
	}
	if p.ManagedFields != nil {
		t.Error("managedFields returned")
	}
	if want := "target MongoDB.kubedb.com demo/mongodb exists: the restore overwrites its data"; !strings.Contains(strings.Join(w.w, "\n"), want) {
		t.Errorf("warnings %q lack %q", w.w, want)
	}
}

func TestCreateErrors(t *testing.T) {
	calls := 0
	r := NewREST(facts{}, checker(&calls))
	ctx, _ := ctxAs("prod", "admin")
	if _, err := r.Create(ctx, form(), nil, nil); !apierrors.IsBadRequest(err) {
		t.Errorf("namespace mismatch: %v", err)
	}
	bad := form()
	bad.Spec.Repository.Name = ""
	bad.Spec.Addon.Tasks[0].Name = ""
	ctx, _ = ctxAs("demo", "admin")
	_, err := r.Create(ctx, bad, nil, nil)
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "spec.repository.name") || !strings.Contains(err.Error(), "spec.addon.tasks[0].name") {
		t.Errorf("want 422 with both paths, got %v", err)
	}
	denied := apierrors.NewForbidden(ui.RestorePreviewsResource, "mongodb-restore", nil)
	if _, err := r.Create(ctx, form(), func(context.Context, runtime.Object) error { return denied }, nil); err != denied {
		t.Errorf("createValidation error not returned: %v", err)
	}
	if _, err := r.Create(ctx, &ui.BackupConfigurationPreview{}, nil, nil); !apierrors.IsBadRequest(err) {
		t.Errorf("not a restore preview: %v", err)
	}
}

func TestGetFindsNothing(t *testing.T) {
	r := NewREST(facts{}, nil)
	ctx, _ := ctxAs("demo", "admin")
	obj, err := r.Get(ctx, "mongodb-restore", &metav1.GetOptions{})
	if !apierrors.IsNotFound(err) || obj != nil || !strings.Contains(err.Error(), `restoresessionpreviews.ui.kubestash.com "mongodb-restore" not found`) {
		t.Errorf("Get = %v, %v; want 404", obj, err)
	}
}

func TestUpdateRendersAsCreate(t *testing.T) {
	calls := 0
	r := NewREST(facts{}, checker(&calls))
	ctx, _ := ctxAs("demo", "admin")
	created, err := r.Create(ctx, form(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var old runtime.Object
	info := rest.DefaultUpdatedObjectInfo(form(), func(_ context.Context, newObj, oldObj runtime.Object) (runtime.Object, error) {
		old = oldObj
		return newObj, nil
	})
	out, isNew, err := r.Update(ctx, "mongodb-restore", info, nil, nil, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !isNew || out.(*ui.RestoreSessionPreview).Status.YAML != created.(*ui.RestoreSessionPreview).Status.YAML {
		t.Errorf("update: created=%v, status differs from create's", isNew)
	}
	if o, ok := old.(*ui.RestoreSessionPreview); !ok || o.Name != "" {
		t.Errorf("the current object must be an empty preview, got %#v", old)
	}
	f := form()
	f.UID = "5f9d2c1e-0000-4000-8000-000000000001"
	if _, _, err := r.Update(ctx, "mongodb-restore", rest.DefaultUpdatedObjectInfo(f), nil, nil, false, nil); !apierrors.IsConflict(err) {
		t.Errorf("uid precondition: %v", err)
	}
	if _, _, err := r.Update(ctx, "mongodb-restore", rest.DefaultUpdatedObjectInfo(nil, func(context.Context, runtime.Object, runtime.Object) (runtime.Object, error) {
		return nil, fmt.Errorf(".spec.colour: field not declared in schema")
	}), nil, nil, false, nil); !apierrors.IsBadRequest(err) {
		t.Errorf("a plain transformer error: %v", err)
	}
}

// TestSubresource: the repository and the target come from the view.
func TestSubresource(t *testing.T) {
	calls := 0
	sub := NewPreviewREST(NewREST(facts{}, checker(&calls)), facts{})
	ctx, _ := ctxAs("demo", "admin")
	create := func(view string, mutate func(*ui.RestoreSessionPreview)) (*ui.RestoreSessionPreview, error) {
		f := form()
		f.Spec.Repository, f.Spec.Target = ui.ObjectReference{}, ui.TypedObjectReference{}
		if mutate != nil {
			mutate(f)
		}
		out, err := sub.Create(ctx, view, f, nil, nil)
		if err != nil {
			return nil, err
		}
		return out.(*ui.RestoreSessionPreview), nil
	}

	p, err := create("single", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{"repository: mongodb-repo\n", "kind: MongoDB\n", "name: mongodb-restore\n"} {
		if !strings.Contains(p.Status.YAML, line) {
			t.Errorf("lacks %q:\n%s", line, p.Status.YAML)
		}
	}
	// Another target of the form's choosing.
	p, err = create("single", func(f *ui.RestoreSessionPreview) {
		f.Spec.Target = ui.TypedObjectReference{APIGroup: "kubedb.com", Kind: "MongoDB", Name: "mongodb-copy"}
	})
	if err != nil || !strings.Contains(p.Status.YAML, "name: mongodb-copy\n") {
		t.Errorf("a chosen target: %v", err)
	}
	// Two repositories: the form names one of them.
	if _, err := create("mongodb-backup", nil); !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "spec.repository.name: Required value: the view has several repositories: one of manifest-repo, mongodb-repo") {
		t.Errorf("several repositories, none named: %v", err)
	}
	if p, err := create("mongodb-backup", func(f *ui.RestoreSessionPreview) { f.Spec.Repository.Name = "manifest-repo" }); err != nil || !strings.Contains(p.Status.YAML, "repository: manifest-repo\n") {
		t.Errorf("one of two named: %v", err)
	}
	// A repository that is not the view's, in another namespace, and other bad fields: one 422.
	_, err = create("mongodb-backup", func(f *ui.RestoreSessionPreview) {
		f.Spec.Repository = ui.ObjectReference{Namespace: "prod", Name: "other"}
		f.Spec.Addon.Name = ""
	})
	for _, path := range []string{"spec.repository.namespace", `spec.repository.name: Unsupported value: "other"`, "spec.addon.name"} {
		if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), path) {
			t.Errorf("want a 422 naming %s: %v", path, err)
		}
	}
	if _, err := create("none", nil); !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "names no repository") || strings.Count(err.Error(), "spec.repository.name") != 1 {
		t.Errorf("a view without repositories: %v", err)
	}
	if _, err := create("missing", nil); !apierrors.IsNotFound(err) || !strings.Contains(err.Error(), `backupconfigurationviews.ui.kubestash.com "missing" not found`) {
		t.Errorf("no such view: %v", err)
	}
}

// TestSubresourceDefaultsTheAddon: an empty addon is the Addon of the sessions that write to
// the repository, and empty tasks their backup tasks' restore tasks, for a caller who may get
// Addons; anyone else is asked for the tasks.
func TestSubresourceDefaultsTheAddon(t *testing.T) {
	calls := 0
	sub := NewPreviewREST(NewREST(facts{}, checker(&calls)), facts{})
	create := func(user, repo string) (string, error) {
		f := form()
		f.Spec.Repository, f.Spec.Addon = ui.ObjectReference{Name: repo}, ui.RestoreAddon{}
		ctx, _ := ctxAs("demo", user)
		out, err := sub.Create(ctx, "mongodb-backup", f, nil, nil)
		if err != nil {
			return "", err
		}
		return out.(*ui.RestoreSessionPreview).Status.YAML, nil
	}
	for repo, task := range map[string]string{"mongodb-repo": "logical-backup-restore", "manifest-repo": "manifest-restore"} {
		y, err := create("admin", repo)
		if err != nil || !strings.Contains(y, "name: mongodb-addon\n") || !strings.Contains(y, "- name: "+task+"\n") {
			t.Errorf("%s: %v\n%s", repo, err, y)
		}
	}
	_, err := create("alice", "mongodb-repo")
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "spec.addon.tasks: Required value") || strings.Contains(err.Error(), "spec.addon.name") {
		t.Errorf("a caller who may not get Addons: %v", err)
	}
}

// TestWarningsFollowTheCaller: a caller who may get nothing outside demo learns nothing of
// prod's repositories and snapshots: the same warnings, and no resolved snapshot, whether
// they exist or not. The admin is told. The authorizer is asked a bounded number of times.
func TestWarningsFollowTheCaller(t *testing.T) {
	calls := 0
	r := NewREST(facts{}, checker(&calls))
	run := func(u, repo, snapshot string) (string, *ui.ResolvedSnapshot) {
		f := form()
		f.Spec.Repository = ui.ObjectReference{Namespace: "prod", Name: repo}
		f.Spec.Snapshot = snapshot
		ctx, w := ctxAs("demo", u)
		out, err := r.Create(ctx, f, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		norm := strings.NewReplacer(repo, "REPO", snapshot, "SNAP").Replace
		return norm(strings.Join(w.w, "\n")), out.(*ui.RestoreSessionPreview).Status.Snapshot
	}
	for _, snapshot := range []string{"latest", "snap-1"} {
		exists, s1 := run("alice", "mongodb-repo", snapshot)
		missing, s2 := run("alice", "no-repo", snapshot+"x")
		if exists != missing || s1 != nil || s2 != nil {
			t.Errorf("%s: alice tells existing from missing:\n%s\n--\n%s\n%v %v", snapshot, exists, missing, s1, s2)
		}
		if !strings.Contains(exists, "cannot check Repository prod/REPO: you cannot get repositories in namespace prod") {
			t.Errorf("%s: alice's warnings:\n%s", snapshot, exists)
		}
		adminExists, s3 := run("admin", "mongodb-repo", snapshot)
		adminMissing, _ := run("admin", "no-repo", snapshot+"x")
		if adminExists == adminMissing || s3 == nil {
			t.Errorf("%s: the admin is not told:\n%s\n--\n%s", snapshot, adminExists, adminMissing)
		}
	}
	calls = 0
	f := form()
	f.Spec.Repository.Namespace = "ns-1"
	f.Spec.Target.Namespace = "ns-2"
	f.Spec.EncryptionSecret = &ui.ObjectReference{Namespace: "ns-3", Name: "enc"}
	ctx, _ := ctxAs("demo", "mallory")
	if _, err := r.Create(ctx, f, nil, nil); err != nil {
		t.Fatal(err)
	}
	if calls == 0 || calls > maxAccessChecks {
		t.Errorf("one preview asked the authorizer %d times, bound %d", calls, maxAccessChecks)
	}
}
