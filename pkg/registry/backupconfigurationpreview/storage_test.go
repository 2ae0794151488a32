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
	"k8s.io/apiserver/pkg/warning"

	"github.com/kubestash/backupview/pkg/access"
	"github.com/kubestash/backupview/pkg/apis/ui"
	"github.com/kubestash/backupview/pkg/render"
)

type warnings struct {
	mu sync.Mutex
	w  []string
}

func (r *warnings) AddWarning(_, text string) { r.mu.Lock(); r.w = append(r.w, text); r.mu.Unlock() }

// cluster knows one storage and policy, nothing else.
type cluster struct{}

func (cluster) BackupStorage(ns, name, _ string) (bool, string) {
	return ns == "stash" && name == "default", ""
}
func (cluster) RetentionPolicy(ns, name, _ string) (bool, string) {
	return ns == "stash" && name == "default", ""
}
func (cluster) Addon(name string) ([]string, []string, bool) {
	return []string{"logical-backup"}, []string{"logical-backup-restore"}, name == "mongodb-addon"
}
func (cluster) Target(_, _, _, _, _ string) render.TargetState { return render.TargetFound }
func (cluster) BackupConfigurationExists(_, _ string) bool     { return false }
func (secretsNone) SecretExists(_, _ string) (bool, bool)      { return false, true }

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

type secretsNone struct{}

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
	r := NewREST(cluster{}, allowAll())
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
	r := NewREST(cluster{}, allowAll())
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
	sub := NewPreviewREST(NewREST(cluster{}, allowAll()))
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
	r := NewREST(cluster{}, allowAll())
	r.CheckSecrets(secretsNone{})
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
	r := NewREST(cluster{}, authz{calls: &calls}.checker())
	r.CheckSecrets(secretsNone{})
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
