package render

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	ui "github.com/kubestash/backupview/pkg/apis/ui/v1alpha1"
)

func i64(v int64) *int64 { return &v }

func raw(s string) *runtime.RawExtension { return &runtime.RawExtension{Raw: []byte(s)} }

// validForm is the example form of docs/design.md ("Preview rendering"): a fresh copy each call, so tests can mutate it.
func validForm() *ui.BackupConfigurationPreview {
	return &ui.BackupConfigurationPreview{
		ObjectMeta: metav1.ObjectMeta{Name: "mongodb-backup", Namespace: "demo"},
		Spec: ui.PreviewSpec{
			StorageRef:      ui.ObjectReference{Namespace: "stash", Name: "default"},
			RetentionPolicy: ui.ObjectReference{Namespace: "stash", Name: "default"},
			Labels:          map[string]string{"team": "db"},
			Annotations:     map[string]string{"example.com/owner": "alice"},
			Sessions: []ui.PreviewSession{{
				Name:      "full-backup",
				Schedule:  "*/30 * * * *",
				RunAsUser: i64(999),
				Addon:     "mongodb-addon",
				Tasks: []ui.PreviewTask{{
					Name:             "logical-backup",
					RepoName:         "mongodb-repo",
					EncryptionSecret: &ui.ObjectReference{Namespace: "demo", Name: "encrypt-secret"},
					Params:           raw(`{"args":"--db=testdb"}`),
				}},
			}},
			Target: ui.TypedObjectReference{APIGroup: "kubedb.com", Kind: "MongoDB", Namespace: "demo", Name: "mongodb"},
		},
	}
}

// twoTasks adds a second task (manifest-backup, same repository) to session 0.
func twoTasks(p *ui.BackupConfigurationPreview) {
	p.Spec.Sessions[0].Tasks = append(p.Spec.Sessions[0].Tasks, ui.PreviewTask{Name: "manifest-backup", RepoName: "mongodb-repo"})
}

// twoSessions adds a second valid session with its own repository.
func twoSessions(p *ui.BackupConfigurationPreview) {
	p.Spec.Sessions = append(p.Spec.Sessions, ui.PreviewSession{
		Name: "manifests", Schedule: "@daily", Addon: "mongodb-addon",
		Tasks: []ui.PreviewTask{{Name: "manifest-backup", RepoName: "manifest-repo"}},
	})
}

func task(p *ui.BackupConfigurationPreview, i, j int) *ui.PreviewTask {
	return &p.Spec.Sessions[i].Tasks[j]
}

// onlyAt asserts that errs is non-empty, contains path/typ, and that every error is at path:
// a rule must not drag unrelated errors along.
func onlyAt(t *testing.T, errs field.ErrorList, path string, typ field.ErrorType) {
	t.Helper()
	found := false
	for _, e := range errs {
		if e.Field == path && e.Type == typ {
			found = true
		}
		if e.Field != path {
			t.Errorf("unexpected error at another path: %v", e)
		}
	}
	if !found {
		t.Errorf("want %s at %s, got %v", typ, path, errs)
	}
}

func errString(errs field.ErrorList) string {
	var b strings.Builder
	for _, e := range errs {
		b.WriteString(e.Error() + "\n")
	}
	return b.String()
}
