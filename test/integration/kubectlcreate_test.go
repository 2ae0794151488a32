package integration

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/kubestash/backupview/pkg/apis/ui/v1alpha1"
	"github.com/kubestash/backupview/test/harness"
)

// namespaceEditor makes the user NAME, bound to the built-in edit ClusterRole in demo only (as
// a cluster admin would bind a team), with deploy/rbac-aggregate.yaml applied so that
// backupview:edit reaches edit through ClusterRole aggregation. It returns the user's
// kubeconfig once kube-apiserver's authorizer lets the user create previews in demo.
func namespaceEditor(t *testing.T, name string) string {
	t.Helper()
	if err := c.MintCert("ca", name, name); err != nil {
		t.Fatal(err)
	}
	kc, err := c.UserKubeconfig(name)
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"apply", "-f", filepath.Join(root, "deploy", "rbac-aggregate.yaml")},
		{"create", "rolebinding", name + "-edit", "-n", "demo", "--clusterrole=edit", "--user=" + name},
	} {
		if out, err := kubectl(args...); err != nil && !strings.Contains(out, "AlreadyExists") {
			t.Fatal(args, err, out)
		}
	}
	// kube-controller-manager aggregates the role, then kube-apiserver's authorizer sees it.
	if err := harness.Eventually(60*time.Second, func() error {
		for _, verb := range []string{"create", "patch"} {
			if out, err := kubectlAs(kc, "auth", "can-i", verb, "backupconfigurationpreviews.ui.kubestash.com", "-n", "demo"); err != nil {
				return fmt.Errorf("%s cannot %s previews in demo yet: %v %s", name, verb, err, out)
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return kc
}

// TestKubectlCreateAsNamespaceUser: the README's preview commands work for a user bound only
// to edit in demo, with no extra flags and no wider rights. kubectl's default strict
// validation finds server-side field validation in the OpenAPI (the preview's PATCH operation,
// docs/design.md "Preview: every write renders") instead of listing CRDs, which this user may
// not; the server then decodes the form strictly.
func TestKubectlCreateAsNamespaceUser(t *testing.T) {
	need(t)
	kc := namespaceEditor(t, "erin")
	cache := t.TempDir() // a first run: nothing discovered before
	// as runs kubectl as the user: stdout only on success (warnings go to stderr).
	as := func(args ...string) (string, error) {
		return c.KubectlStdoutAs(kc, "", append([]string{"--cache-dir", cache}, args...)...)
	}
	// asAll runs kubectl as the user, stdout and stderr together.
	asAll := func(args ...string) (string, error) {
		return kubectlAs(kc, append([]string{"--cache-dir", cache}, args...)...)
	}
	if out, err := asAll("auth", "can-i", "list", "customresourcedefinitions.apiextensions.k8s.io"); err == nil {
		t.Fatalf("the user may list CRDs (%s): the test needs a user who may not", out)
	}
	for _, ns := range []string{"prod", "default"} {
		if out, err := asAll("auth", "can-i", "create", "backupconfigurationpreviews.ui.kubestash.com", "-n", ns); err == nil {
			t.Fatalf("the user may create previews in %s (%s): the test needs a user bound in demo only", ns, out)
		}
	}

	// What the form renders to, asked by the admin through the clientset: the manifest does
	// not depend on the caller (only the warnings do).
	form := filepath.Join(root, "examples/preview-mongodb.yaml")
	ref, err := bv.UiV1alpha1().BackupConfigurationPreviews("demo").Create(context.Background(), readForm(t, "examples/preview-mongodb.yaml"), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := ref.Status.YAML
	for _, line := range []string{"kind: BackupConfiguration\n", "name: mongodb-backup\n", "runAsUser: 999\n", "directory: demo/mongodb\n", "schedule: '*/30 * * * *'\n"} {
		if !strings.Contains(want, line) {
			t.Fatalf("the rendered manifest lacks %q:\n%s", line, want)
		}
	}
	notLocal := func(t *testing.T, out string) {
		t.Helper()
		if strings.Contains(out, "failed to check CRD") || strings.Contains(out, "customresourcedefinitions") {
			t.Errorf("kubectl validated on the client (listing CRDs):\n%s", out)
		}
	}

	t.Run("create -o yaml, with and without --dry-run=server", func(t *testing.T) {
		for _, extra := range [][]string{nil, {"--dry-run=server"}} {
			out, err := as(append([]string{"create", "-f", form, "-o", "yaml"}, extra...)...)
			notLocal(t, out)
			if err != nil {
				t.Fatalf("create %v -o yaml: %v\n%s", extra, err, out)
			}
			var got v1alpha1.BackupConfigurationPreview
			if err := yaml.UnmarshalStrict([]byte(out), &got); err != nil {
				t.Fatalf("create %v -o yaml printed no preview: %v\n%s", extra, err, out)
			}
			if got.Kind != "BackupConfigurationPreview" || got.Status.YAML != want || got.Status.Manifest == nil {
				t.Errorf("create %v -o yaml: kind %q, status.yaml:\n%s\nwant:\n%s", extra, got.Kind, got.Status.YAML, want)
			}
		}
	})

	t.Run("create -o jsonpath={.status.yaml}", func(t *testing.T) {
		out, err := as("create", "-f", form, "-o", "jsonpath={.status.yaml}")
		notLocal(t, out)
		if err != nil || out != want {
			t.Errorf("jsonpath: %v\n%s\nwant:\n%s", err, out, want)
		}
	})

	t.Run("kubectl asks the server to validate strictly", func(t *testing.T) {
		out, err := asAll("create", "-f", form, "-o", "name", "-v=6")
		if err != nil {
			t.Fatal(err, out)
		}
		if !strings.Contains(out, `verb="POST"`) || !strings.Contains(out, "/namespaces/demo/backupconfigurationpreviews?fieldManager=kubectl-create&fieldValidation=Strict") {
			t.Errorf("the POST does not carry fieldValidation=Strict:\n%s", out)
		}
	})

	// A form with a field the kind does not have: --validate=strict (the default) is a 400
	// naming it, warn renders with a warning naming it, false (Ignore) renders silently.
	data, err := os.ReadFile(form)
	if err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(t.TempDir(), "unknown-field.yaml")
	if err := os.WriteFile(bad, []byte(strings.Replace(string(data), "\nspec:\n", "\nspec:\n  colour: blue\n", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	const unknown = `unknown field "spec.colour"`
	t.Run("an unknown field, by --validate", func(t *testing.T) {
		out, err := asAll("create", "-f", bad, "-o", "name")
		notLocal(t, out)
		if err == nil || !strings.Contains(out, "BadRequest") || !strings.Contains(out, "strict decoding error: "+unknown) {
			t.Errorf("strict: want a 400 naming the field: %v\n%s", err, out)
		}
		out, err = asAll("create", "-f", bad, "--validate=warn", "-o", "jsonpath={.status.yaml}")
		if err != nil || !strings.Contains(out, "Warning: "+unknown) || !strings.Contains(out, want) {
			t.Errorf("warn: want the manifest and a warning naming the field: %v\n%s", err, out)
		}
		out, err = asAll("create", "-f", bad, "--validate=false", "-o", "jsonpath={.status.yaml}")
		if err != nil || strings.Contains(out, "colour") || !strings.Contains(out, want) {
			t.Errorf("false: want the manifest, nothing about the field: %v\n%s", err, out)
		}
	})

	t.Run("no preview in another namespace", func(t *testing.T) {
		prod := filepath.Join(t.TempDir(), "prod.yaml")
		if err := os.WriteFile(prod, []byte(strings.Replace(string(data), "  namespace: demo\nspec:", "  namespace: prod\nspec:", 1)), 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := asAll("create", "-f", prod, "-o", "yaml")
		if err == nil || !strings.Contains(out, "Forbidden") || !strings.Contains(out, `cannot create resource "backupconfigurationpreviews" in API group "ui.kubestash.com" in the namespace "prod"`) {
			t.Errorf("want 403 in prod: %v\n%s", err, out)
		}
	})

	// PUT and PATCH render as POST does and store nothing.
	t.Run("apply --server-side and replace render the same", func(t *testing.T) {
		for _, args := range [][]string{
			{"apply", "--server-side", "-f", form},
			{"apply", "--server-side", "--dry-run=server", "-f", form},
			{"replace", "-f", form},
		} {
			out, err := as(append(args, "-o", "jsonpath={.status.yaml}")...)
			if err != nil || out != want {
				t.Errorf("%v: %v\n%s\nwant:\n%s", args, err, out, want)
			}
		}
		// Server-side apply refuses an unknown field whatever --validate says: a 400 naming it.
		for _, v := range []string{"strict", "false"} {
			out, err := asAll("apply", "--server-side", "--validate="+v, "-f", bad, "-o", "name")
			if err == nil || !strings.Contains(out, "BadRequest") || !strings.Contains(out, ".spec.colour: field not declared in schema") {
				t.Errorf("apply --server-side --validate=%s of an unknown field: %v\n%s", v, err, out)
			}
		}
		out, err := asAll("get", "backupconfigurationpreviews", "-n", "demo", "mongodb-backup")
		if err == nil || !strings.Contains(out, "NotFound") {
			t.Errorf("a preview must never be stored: %v\n%s", err, out)
		}
	})
}
