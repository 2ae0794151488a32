package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/kubestash/backupview/pkg/apis/ui/v1alpha1"
)

func readForm(t *testing.T, file string) *v1alpha1.BackupConfigurationPreview {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, file))
	if err != nil {
		t.Fatal(err)
	}
	p := &v1alpha1.BackupConfigurationPreview{}
	if err := yaml.UnmarshalStrict(data, p); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestPreviewWithKubectl: `kubectl create -f form.yaml -o yaml` prints the rendered manifest,
// and the manifest is accepted by the CRD through `kubectl apply --dry-run=server`.
func TestPreviewWithKubectl(t *testing.T) {
	need(t)
	out, err := kubectl("create", "-f", filepath.Join(root, "examples/preview-mongodb.yaml"), "-o", "yaml")
	if err != nil {
		t.Fatal(err, out)
	}
	for _, want := range []string{"kind: BackupConfigurationPreview", "status:", "kind: BackupConfiguration", "runAsUser: 999", "already exists"} {
		if !strings.Contains(out, want) {
			t.Errorf("preview output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "managedFields") {
		t.Error("a preview must not return managedFields")
	}
	manifest, err := kubectlStdout("create", "-f", filepath.Join(root, "examples/preview-mongodb.yaml"), "-o", "jsonpath={.status.yaml}")
	if err != nil {
		t.Fatal(err, manifest)
	}
	applyDryRun(t, manifest)
	// --dry-run=server gives the same manifest.
	dry, err := kubectlStdout("create", "--dry-run=server", "-f", filepath.Join(root, "examples/preview-mongodb.yaml"), "-o", "jsonpath={.status.yaml}")
	if err != nil || dry != manifest {
		t.Errorf("dry run differs: %v\n%s", err, dry)
	}
}

func applyDryRun(t *testing.T, manifest string) {
	t.Helper()
	out, err := c.KubectlStdout(manifest, "apply", "--dry-run=server", "--validate=strict", "-f", "-")
	if err != nil || strings.Contains(out, "unknown field") {
		t.Fatalf("the rendered manifest is refused by the CRD: %v\n%s\n%s", err, out, manifest)
	}
}

func TestPreviewSubresourceRaw(t *testing.T) {
	need(t)
	p := readForm(t, "examples/preview-mongodb.yaml")
	p.Name = "brand-new"
	body, _ := json.Marshal(p)
	f := filepath.Join(t.TempDir(), "form.json")
	if err := os.WriteFile(f, body, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := kubectl("create", "--raw", "/apis/ui.kubestash.com/v1alpha1/namespaces/demo/backupconfigurationviews/brand-new/preview", "-f", f)
	if err != nil {
		t.Fatal(err, out)
	}
	var got v1alpha1.BackupConfigurationPreview
	if err := json.Unmarshal([]byte(out), &got); err != nil || got.Status.YAML == "" || !strings.Contains(got.Status.YAML, "name: brand-new") {
		t.Fatalf("raw preview: %v\n%s", err, out)
	}
	// The name in the URL and in the body must agree.
	out, err = kubectl("create", "--raw", "/apis/ui.kubestash.com/v1alpha1/namespaces/demo/backupconfigurationviews/other/preview", "-f", f)
	if err == nil || !strings.Contains(out, "BadRequest") {
		t.Errorf("name mismatch must be a 400: %v %s", err, out)
	}
	// So must the namespace.
	out, err = kubectl("create", "--raw", "/apis/ui.kubestash.com/v1alpha1/namespaces/prod/backupconfigurationviews/brand-new/preview", "-f", f)
	if err == nil || !strings.Contains(out, "BadRequest") {
		t.Errorf("namespace mismatch must be a 400: %v %s", err, out)
	}
}

func TestPreviewInvalidIs422WithEveryPath(t *testing.T) {
	need(t)
	p := readForm(t, "examples/preview-invalid.yaml")
	_, err := bv.UiV1alpha1().BackupConfigurationPreviews("demo").Create(context.Background(), p, metav1.CreateOptions{})
	if !apierrors.IsInvalid(err) {
		t.Fatalf("want 422 Invalid, got %v", err)
	}
	msg := err.Error()
	for _, path := range []string{"spec.sessions[0].schedule", "spec.sessions[0].tasks[0].name", "spec.sessions[1].name", "spec.sessions[1].tasks[0].encryptionSecret.namespace", "spec.sessions[1].tasks[1]"} {
		if !strings.Contains(msg, path) {
			t.Errorf("422 does not name %s: %s", path, msg)
		}
	}
	out, err := kubectl("create", "-f", filepath.Join(root, "examples/preview-invalid.yaml"))
	if err == nil || !strings.Contains(out, "is invalid") || !strings.Contains(out, "spec.sessions[0].tasks[0].name") {
		t.Errorf("kubectl create of the invalid form: %v\n%s", err, out)
	}
}

func TestPreviewBadInput(t *testing.T) {
	need(t)
	post := func(body []byte, contentType string) (int, string) {
		res := bv.UiV1alpha1().RESTClient().Post().Namespace("demo").Resource("backupconfigurationpreviews").
			SetHeader("Content-Type", contentType).Body(body).Do(context.Background())
		var code int
		res.StatusCode(&code)
		raw, _ := res.Raw()
		return code, string(raw)
	}
	huge := bytes.Repeat([]byte("x"), 2<<20)
	cases := []struct {
		name string
		body []byte
		ct   string
		want int
	}{
		{"malformed JSON", []byte(`{"apiVersion":`), "application/json", 400},
		{"malformed YAML", []byte("apiVersion: [\n"), "application/yaml", 400},
		{"wrong kind", []byte(`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"x"}}`), "application/json", 400},
		{"body over 1 MiB", append(append([]byte(`{"apiVersion":"ui.kubestash.com/v1alpha1","kind":"BackupConfigurationPreview","metadata":{"name":"x","annotations":{"a":"`), huge...), []byte(`"}}}`)...), "application/json", 413},
	}
	for _, tc := range cases {
		if code, body := post(tc.body, tc.ct); code != tc.want {
			t.Errorf("%s: got %d, want %d: %.300s", tc.name, code, tc.want, body)
		}
	}
	// Unknown fields are rejected under strict field validation, with their path.
	res := bv.UiV1alpha1().RESTClient().Post().Namespace("demo").Resource("backupconfigurationpreviews").Param("fieldValidation", "Strict").
		SetHeader("Content-Type", "application/json").
		Body([]byte(`{"apiVersion":"ui.kubestash.com/v1alpha1","kind":"BackupConfigurationPreview","metadata":{"name":"x"},"spec":{"sessions":[{"nmae":"typo"}]}}`)).
		Do(context.Background())
	if err := res.Error(); err == nil || !strings.Contains(err.Error(), "spec.sessions[0].nmae") {
		t.Errorf("unknown field under strict validation: %v", err)
	}
	// The server is still healthy.
	if out, err := kubectl("get", "bcv", "-n", "demo"); err != nil {
		t.Errorf("server unhealthy after bad input: %v %s", err, out)
	}
}

// TestPreviewConformance renders forms and applies every manifest against the upstream
// KubeStash CRD with strict validation.
func TestPreviewConformance(t *testing.T) {
	need(t)
	if _, err := os.Stat(filepath.Join(shared, "kubestash-crds")); err != nil {
		t.Skipf("conformance needs the upstream CRDs in %s/kubestash-crds (absent here)", shared)
	}
	base := readForm(t, "examples/preview-mongodb.yaml")
	forms := []*v1alpha1.BackupConfigurationPreview{base, readFormJSON(t, "examples/preview-postgres.json")}
	zero := int64(0)
	f := base.DeepCopy()
	f.Name = "root-user"
	f.Spec.Sessions[0].RunAsUser = &zero
	f.Spec.Target.APIGroup = "core"
	f.Spec.Target.Kind = "PersistentVolumeClaim"
	f.Spec.Annotations = map[string]string{"note": "kept"}
	forms = append(forms, f)
	f = base.DeepCopy()
	f.Name = "two-sessions"
	s := *f.Spec.Sessions[0].DeepCopy()
	s.Name, s.Schedule = "hourly", "@hourly"
	s.Tasks[0].RepoName = "hourly-repo"
	s.Tasks = append(s.Tasks, v1alpha1.PreviewTask{Name: "manifest-backup", RepoName: "second-repo", ParamsText: `{"enableCache": true, "nested": {"a": [1, 2]}}`})
	f.Spec.Sessions = append(f.Spec.Sessions, s)
	forms = append(forms, f)
	for _, form := range forms {
		got, err := bv.UiV1alpha1().BackupConfigurationPreviews(form.Namespace).Create(context.Background(), form, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("%s: %v", form.Name, err)
		}
		applyDryRun(t, got.Status.YAML)
	}
}

func readFormJSON(t *testing.T, file string) *v1alpha1.BackupConfigurationPreview {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, file))
	if err != nil {
		t.Fatal(err)
	}
	p := &v1alpha1.BackupConfigurationPreview{}
	if err := json.Unmarshal(data, p); err != nil {
		t.Fatal(err)
	}
	return p
}
