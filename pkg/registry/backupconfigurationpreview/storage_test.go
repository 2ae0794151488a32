package backupconfigurationpreview

import (
	"context"
	"strings"
	"sync"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/warning"

	"github.com/kubestash/backupview/pkg/apis/ui"
)

type warnings struct {
	mu sync.Mutex
	w  []string
}

func (r *warnings) AddWarning(_, text string) { r.mu.Lock(); r.w = append(r.w, text); r.mu.Unlock() }

// cluster knows one storage and policy, nothing else.
type cluster struct{}

func (cluster) BackupStorageExists(ns, name string) bool   { return ns == "stash" && name == "default" }
func (cluster) RetentionPolicyExists(ns, name string) bool { return ns == "stash" && name == "default" }
func (cluster) Addon(name string) ([]string, []string, bool) {
	return []string{"logical-backup"}, []string{"logical-backup-restore"}, name == "mongodb-addon"
}
func (cluster) Target(_, _, _, _ string) (bool, bool)      { return true, true }
func (cluster) BackupConfigurationExists(_, _ string) bool { return false }
func (secretsNone) SecretExists(_, _ string) (bool, bool)  { return false, true }

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
	return warning.WithWarningRecorder(ctx, w), w
}

func TestCreateRenders(t *testing.T) {
	r := NewREST(cluster{})
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
	r := NewREST(cluster{})
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
	sub := NewPreviewREST(NewREST(cluster{}))
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
	r := NewREST(cluster{})
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
