package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/yaml"

	"github.com/kubestash/backupview/pkg/apis/ui/v1alpha1"
	clientset "github.com/kubestash/backupview/pkg/generated/clientset/versioned"
	"github.com/kubestash/backupview/test/harness"
)

func readRestoreForm(t *testing.T, file string) *v1alpha1.RestoreSessionPreview {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, file))
	if err != nil {
		t.Fatal(err)
	}
	p := &v1alpha1.RestoreSessionPreview{}
	if err := yaml.UnmarshalStrict(data, p); err != nil {
		t.Fatal(err)
	}
	return p
}

// restoreEditor is namespaceEditor, once the aggregated edit role also lets the user create
// restore previews in demo.
func restoreEditor(t *testing.T, name string) string {
	t.Helper()
	kc := namespaceEditor(t, name)
	if err := harness.Eventually(60*time.Second, func() error {
		for _, res := range []string{"restoresessionpreviews.ui.kubestash.com", "backupconfigurationviews.ui.kubestash.com/restore-preview"} {
			args := []string{"auth", "can-i", "create", res, "-n", "demo"}
			if sub, ok := strings.CutSuffix(res, "/restore-preview"); ok {
				args = []string{"auth", "can-i", "create", sub, "--subresource=restore-preview", "-n", "demo"}
			}
			if out, err := kubectlAs(kc, args...); err != nil {
				return fmt.Errorf("%s cannot create %s in demo yet: %v %s", name, res, err, out)
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return kc
}

// needRestoreCRD skips the manifest's CRD check when the upstream CRDs (with RestoreSession)
// are not installed: the project's own CRDs (hack/crds) have no RestoreSession.
func needRestoreCRD(t *testing.T) {
	t.Helper()
	if _, upstream := c.CRDDir(); !upstream {
		t.Skip("../shared/kubestash-crds absent: the RestoreSession CRD is not installed, so the rendered manifest cannot be checked against it")
	}
}

// TestRestorePreviewAsNamespaceUser: `kubectl create -f examples/restore-preview-*.yaml -o
// yaml` as a user bound to edit in demo only renders a RestoreSession that the upstream CRD
// accepts with strict field validation (docs/design.md, "Restore preview").
func TestRestorePreviewAsNamespaceUser(t *testing.T) {
	need(t)
	needRestoreCRD(t)
	kc := restoreEditor(t, "rita")
	cache := t.TempDir()
	files, err := filepath.Glob(filepath.Join(root, "examples", "restore-preview-*.yaml"))
	if err != nil || len(files) < 2 {
		t.Fatalf("examples/restore-preview-*.yaml: %v %v", files, err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			out, err := c.KubectlStdoutAs(kc, "", "--cache-dir", cache, "create", "-f", file, "-o", "yaml")
			if err != nil {
				t.Fatalf("create -o yaml: %v\n%s", err, out)
			}
			var got v1alpha1.RestoreSessionPreview
			if err := yaml.UnmarshalStrict([]byte(out), &got); err != nil {
				t.Fatalf("create -o yaml printed no preview: %v\n%s", err, out)
			}
			if got.Kind != "RestoreSessionPreview" || got.Status.Manifest == nil || !strings.Contains(got.Status.YAML, "kind: RestoreSession\n") || strings.Contains(out, "managedFields") {
				t.Fatalf("the preview:\n%s", out)
			}
			applyDryRun(t, got.Status.YAML)
			dry, err := c.KubectlStdoutAs(kc, "", "--cache-dir", cache, "create", "--dry-run=server", "-f", file, "-o", "jsonpath={.status.yaml}")
			if err != nil || dry != got.Status.YAML {
				t.Errorf("--dry-run=server differs: %v\n%s", err, dry)
			}
		})
	}

	// The warnings, as kubectl prints them, for the demo samples.
	all, err := kubectlAs(kc, "--cache-dir", cache, "create", "-f", filepath.Join(root, "examples/restore-preview-mongodb.yaml"), "-o", "name")
	if err != nil {
		t.Fatal(err, all)
	}
	if want := "Warning: target MongoDB.kubedb.com demo/mongodb exists: the restore overwrites its data"; !strings.Contains(all, want) || strings.Contains(all, "Snapshot") {
		t.Errorf("kubectl create: want %q and no warning about the (verified, Succeeded) snapshot:\n%s", want, all)
	}
	// The demo's mongodb-repo holds two Snapshots: "latest" is the newest (verified); a point
	// in time between them is the older one, which failed verification; before both, none.
	for _, tc := range []struct{ at, want, warning string }{
		{"", "mongodb-repo-mongodb-backup-full-backup-1795752000 Verified", ""},
		{"2026-11-26T00:00:00Z", "mongodb-repo-mongodb-backup-full-backup-1795579200 VerificationFailed",
			"Warning: Snapshot demo/mongodb-repo-mongodb-backup-full-backup-1795579200 failed verification"},
		{"2026-11-01T00:00:00Z", "", "Warning: Repository demo/mongodb-repo has no snapshot at or before 2026-11-01T00:00:00Z"},
	} {
		form := filepath.Join(root, "examples/restore-preview-mongodb.yaml")
		if tc.at != "" {
			data, err := os.ReadFile(form)
			if err != nil {
				t.Fatal(err)
			}
			form = filepath.Join(t.TempDir(), "pitr.yaml")
			pitr := strings.Replace(string(data), "snapshot: latest", "pitr:\n    targetTime: \""+tc.at+"\"", 1)
			if err := os.WriteFile(form, []byte(pitr), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		out, err := kubectlAs(kc, "--cache-dir", cache, "create", "-f", form, "-o", "jsonpath={.status.snapshot.name} {.status.snapshot.verificationStatus}")
		resolved := strings.Contains(out, tc.want)
		if tc.want == "" {
			resolved = !strings.Contains(out, "mongodb-repo-mongodb-backup")
		}
		if err != nil || !resolved || !strings.Contains(out, tc.warning) {
			t.Errorf("at %q: %v\n%s\nwant the snapshot %q and the warning %q", tc.at, err, out, tc.want, tc.warning)
		}
	}
	// kubectl explain reads the kind's OpenAPI.
	out, err := kubectlAs(kc, "--cache-dir", cache, "explain", "restoresessionpreviews.spec.pitr")
	if err != nil || !strings.Contains(out, "targetTime") || !strings.Contains(out, "exclusive") {
		t.Errorf("kubectl explain: %v\n%s", err, out)
	}
}

// TestRestorePreviewSubresource: a UI posts the form to the view's restore-preview; the
// repository, the target, the Addon and its restore task come from the view.
func TestRestorePreviewSubresource(t *testing.T) {
	need(t)
	p := &v1alpha1.RestoreSessionPreview{
		TypeMeta:   metav1.TypeMeta{APIVersion: "ui.kubestash.com/v1alpha1", Kind: "RestoreSessionPreview"},
		ObjectMeta: metav1.ObjectMeta{Name: "from-the-view"},
		Spec:       v1alpha1.RestorePreviewSpec{Snapshot: "latest"},
	}
	body, _ := json.Marshal(p)
	f := filepath.Join(t.TempDir(), "form.json")
	if err := os.WriteFile(f, body, 0o600); err != nil {
		t.Fatal(err)
	}
	path := "/apis/ui.kubestash.com/v1alpha1/namespaces/demo/backupconfigurationviews/%s/restore-preview"
	out, err := kubectlStdout("create", "--raw", fmt.Sprintf(path, "mongodb-backup"), "-f", f)
	if err != nil {
		t.Fatal(err, out)
	}
	var got v1alpha1.RestoreSessionPreview
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err, out)
	}
	for _, line := range []string{"name: from-the-view\n", "repository: mongodb-repo\n", "kind: MongoDB\n", "    name: mongodb\n", "name: mongodb-addon\n", "- name: logical-backup-restore\n"} {
		if !strings.Contains(got.Status.YAML, line) {
			t.Errorf("the subresource's manifest lacks %q:\n%s", line, got.Status.YAML)
		}
	}
	if _, upstream := c.CRDDir(); upstream {
		applyDryRun(t, got.Status.YAML)
	}
	out, err = kubectl("create", "--raw", fmt.Sprintf(path, "no-such-view"), "-f", f)
	if err == nil || !strings.Contains(out, "NotFound") {
		t.Errorf("a missing view must be a 404: %v %s", err, out)
	}
}

// TestRestorePreviewInvalidIs422WithEveryPath: one 422 names every bad field of the form.
func TestRestorePreviewInvalidIs422WithEveryPath(t *testing.T) {
	need(t)
	_, err := bv.UiV1alpha1().RestoreSessionPreviews("demo").Create(context.Background(), readRestoreForm(t, "examples/restore-invalid.yaml"), metav1.CreateOptions{})
	if !apierrors.IsInvalid(err) {
		t.Fatalf("want 422 Invalid, got %v", err)
	}
	for _, path := range []string{"spec.repository.name", "spec.components[1]", "spec.target.name", "spec.addon.tasks[0].name", "spec.addon.tasks[0].paramsText", "spec.restoreTimeout"} {
		if !strings.Contains(err.Error(), path) {
			t.Errorf("422 does not name %s: %v", path, err)
		}
	}
	// snapshot and pitr: neither, then both.
	p := readRestoreForm(t, "examples/restore-preview-mongodb.yaml")
	p.Spec.Snapshot = ""
	if _, err := bv.UiV1alpha1().RestoreSessionPreviews("demo").Create(context.Background(), p, metav1.CreateOptions{}); !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "spec.snapshot: Required value") {
		t.Errorf("no snapshot: %v", err)
	}
	p.Spec.Snapshot, p.Spec.PITR = "latest", &v1alpha1.PointInTime{TargetTime: &metav1.Time{Time: time.Now()}}
	if _, err := bv.UiV1alpha1().RestoreSessionPreviews("demo").Create(context.Background(), p, metav1.CreateOptions{}); !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "spec.pitr: Forbidden") {
		t.Errorf("snapshot and pitr: %v", err)
	}
	out, err := kubectl("create", "-f", filepath.Join(root, "examples/restore-invalid.yaml"))
	if err == nil || !strings.Contains(out, "is invalid") || !strings.Contains(out, "spec.addon.tasks[0].name") {
		t.Errorf("kubectl create of the invalid form: %v\n%s", err, out)
	}
}

// warningsOf collects the warnings of one client's requests.
type warningsOf struct {
	mu sync.Mutex
	w  []string
}

func (r *warningsOf) HandleWarningHeader(_ int, _ string, text string) {
	r.mu.Lock()
	r.w = append(r.w, text)
	r.mu.Unlock()
}

// TestRestorePreviewRevealsNothingAcrossNamespaces: a user bound in demo who restores from,
// into or with a Secret of prod gets the same answer whether prod's repository, target and
// Secret exist or not (docs/design.md, "Authorization follows the caller"); the admin, asked
// the same, is told the difference.
func TestRestorePreviewRevealsNothingAcrossNamespaces(t *testing.T) {
	need(t)
	kc := restoreEditor(t, "rosa")
	userCfg, err := clientcmd.BuildConfigFromFlags("", kc)
	if err != nil {
		t.Fatal(err)
	}
	preview := func(admin bool, repo, target, secret string) string {
		cfg := *userCfg
		if admin {
			cfg = *c.Config
		}
		w := &warningsOf{}
		cfg.WarningHandler = w
		client, err := clientset.NewForConfig(&cfg)
		if err != nil {
			t.Fatal(err)
		}
		p := &v1alpha1.RestoreSessionPreview{
			ObjectMeta: metav1.ObjectMeta{Name: "steal", Namespace: "demo"},
			Spec: v1alpha1.RestorePreviewSpec{
				Repository:       v1alpha1.ObjectReference{Namespace: "prod", Name: repo},
				Snapshot:         "latest",
				Target:           v1alpha1.TypedObjectReference{APIGroup: "kubedb.com", Kind: "Postgres", Namespace: "prod", Name: target},
				Addon:            v1alpha1.RestoreAddon{Name: "postgres-addon", Tasks: []v1alpha1.RestoreTask{{Name: "logical-backup-restore"}}},
				EncryptionSecret: &v1alpha1.ObjectReference{Namespace: "prod", Name: secret},
			},
		}
		out, err := client.UiV1alpha1().RestoreSessionPreviews("demo").Create(context.Background(), p, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		// Whole references only ("postgres" is also in "postgres-addon"); the longest first.
		norm := strings.NewReplacer("prod/"+repo, "prod/REPO", "prod/"+secret, "prod/SECRET", "prod/"+target, "prod/TARGET").Replace
		slices.Sort(w.w)
		return norm(fmt.Sprintf("%q snapshot=%+v", w.w, out.Status.Snapshot))
	}
	// prod/postgres-s3-repo and the Postgres prod/postgres exist in the demo samples.
	exists := preview(false, "postgres-s3-repo", "postgres", "prod-encryption")
	missing := preview(false, "no-such-repo", "no-such-db", "no-such-secret")
	if exists != missing {
		t.Errorf("a demo user tells prod's objects from missing ones:\n%s\n%s", exists, missing)
	}
	for _, want := range []string{"cannot check Repository prod/REPO: ", "cannot check target Postgres.kubedb.com prod/TARGET: "} {
		if !strings.Contains(exists, want) {
			t.Errorf("the demo user's answer lacks %q: %s", want, exists)
		}
	}
	if strings.Contains(exists, "not found") || strings.Contains(exists, "exists") {
		t.Errorf("the demo user learns something: %s", exists)
	}
	if a, b := preview(true, "postgres-s3-repo", "postgres", "prod-encryption"), preview(true, "no-such-repo", "no-such-db", "no-such-secret"); a == b {
		t.Errorf("the admin gets the same answer for existing and missing objects (the comparison above proves nothing):\n%s", a)
	}
}

// TestPluginRestore: kubectl backupview restore on the demo: the preview of the view's
// restore (repository, target, Addon and restore task from the view), the 422 with flags,
// and --dry-run=server and --submit against the upstream RestoreSession CRD.
func TestPluginRestore(t *testing.T) {
	need(t)
	ctx := context.Background()
	out, errOut, err := admin(t, "restore", "-n", "demo", "mongodb-backup", "--snapshot", "latest", "--name", "plugin-restore")
	if err != nil {
		t.Fatalf("restore: %v %s", err, errOut)
	}
	for _, line := range []string{"kind: RestoreSession\n", "  name: plugin-restore\n", "repository: mongodb-repo\n", "snapshot: latest\n", "- name: logical-backup-restore\n", "kind: MongoDB\n"} {
		if !strings.Contains(out, line) {
			t.Errorf("the manifest lacks %q:\n%s", line, out)
		}
	}
	if !strings.Contains(errOut, "Warning: target MongoDB.kubedb.com demo/mongodb exists: the restore overwrites its data") {
		t.Errorf("stderr lacks the server's warning:\n%s", errOut)
	}
	// A namespace user, who may not get Addons, names the restore task (the default needs the
	// Addon's restore tasks, docs/design.md "Restore preview") and gets the same manifest.
	kc := restoreEditor(t, "ruth")
	_, errOut, err = plugin(t, kc, nil, "restore", "-n", "demo", "mongodb-backup", "--snapshot", "latest", "--name", "plugin-restore")
	if err == nil || !strings.Contains(errOut, "* spec.addon.tasks: Required value") || !strings.Contains(errOut, "(--task)") {
		t.Errorf("as a namespace user without --task: %v\n%s", err, errOut)
	}
	userOut, errOut, err := plugin(t, kc, nil, "restore", "-n", "demo", "mongodb-backup", "--snapshot", "latest", "--name", "plugin-restore", "--task", "name=logical-backup-restore")
	if err != nil || userOut != out {
		t.Errorf("as a namespace user: %v %s\n%s", err, errOut, userOut)
	}

	_, errOut, err = admin(t, "restore", "-n", "demo", "mongodb-backup", "--task", "name=logical-backup-restore,params-file=/dev/null", "--restore-timeout", "-5m")
	if err == nil || !strings.Contains(errOut, "* spec.snapshot: Required value") || !strings.Contains(errOut, "(--snapshot or --at)") || !strings.Contains(errOut, "(--restore-timeout)") {
		t.Errorf("a 422 names the flags: %v\n%s", err, errOut)
	}

	// Completion: the view's repositories, and the restore tasks from the form options.
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"__complete", "restore", "-n", "demo", "mongodb-backup", "--repository", ""}, "mongodb-repo\t"},
		{[]string{"__complete", "restore", "-n", "demo", "mongodb-backup", "--task", "name=log"}, "name=logical-backup-restore\tmongodb-addon\n"},
	} {
		out, errOut, err := admin(t, tc.args...)
		if err != nil || !strings.HasPrefix(out, tc.want) {
			t.Errorf("%v: %v %s\n%s", tc.args, err, errOut, out)
		}
	}

	needRestoreCRD(t)
	restores := schema.GroupVersionResource{Group: "core.kubestash.com", Version: "v1alpha1", Resource: "restoresessions"}
	args := []string{"restore", "-n", "demo", "mongodb-backup", "--at", "2026-12-07T10:00:00Z", "--exclusive", "--target", "MongoDB.kubedb.com/mongodb-copy", "--name", "plugin-restore"}
	out, errOut, err = admin(t, append(args, "--dry-run=server")...)
	if err != nil || out != "restoresession.core.kubestash.com/plugin-restore serverside-applied (server dry run)\n" {
		t.Fatalf("--dry-run=server: %v %s\n%s", err, errOut, out)
	}
	if _, err := dyn.Resource(restores).Namespace("demo").Get(ctx, "plugin-restore", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("a dry run persisted the RestoreSession: %v", err)
	}
	t.Cleanup(func() {
		_ = dyn.Resource(restores).Namespace("demo").Delete(context.Background(), "plugin-restore", metav1.DeleteOptions{})
	})
	out, errOut, err = admin(t, append(args, "--submit")...)
	if err != nil || out != "restoresession.core.kubestash.com/plugin-restore serverside-applied\n" {
		t.Fatalf("--submit: %v %s\n%s", err, errOut, out)
	}
	rs, err := dyn.Resource(restores).Namespace("demo").Get(ctx, "plugin-restore", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if at, _, _ := unstructured.NestedString(rs.Object, "spec", "dataSource", "pitr", "targetTime"); at != "2026-12-07T10:00:00Z" {
		t.Errorf("the RestoreSession's pitr.targetTime: %q", at)
	}
	if m := rs.GetManagedFields(); len(m) != 1 || m[0].Manager != "kubectl-backupview" {
		t.Errorf("managed fields %v", m)
	}
}

// TestFormOptionsRestoreTasks: the form options offer each Addon's restore tasks with their
// parameters (the restore form's dropdown and Params editor), to a caller who may get Addons,
// as they do its backup tasks. The Addons are the demo's (hack/demo/samples.yaml).
func TestFormOptionsRestoreTasks(t *testing.T) {
	need(t)
	ctx := context.Background()
	var opts *v1alpha1.BackupConfigurationOptions
	if err := harness.Eventually(30*time.Second, func() error {
		var err error
		opts, err = bv.UiV1alpha1().BackupConfigurationOptionses("demo").Get(ctx, v1alpha1.OptionsName, metav1.GetOptions{})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	var mongo *v1alpha1.AddonOption
	for i := range opts.Addons {
		if opts.Addons[i].Name == "mongodb-addon" {
			mongo = &opts.Addons[i]
		}
	}
	want := []v1alpha1.TaskOption{
		{Name: "logical-backup-restore", Parameters: []v1alpha1.TaskParameter{{Name: "args", Usage: "Arguments to be passed to the restore command."}}},
		{Name: "manifest-restore"},
	}
	if mongo == nil || !reflect.DeepEqual(mongo.RestoreTasks, want) {
		t.Errorf("mongodb-addon's restore tasks: %+v", mongo)
	}
	kc := restoreEditor(t, "rhea")
	userCfg, err := clientcmd.BuildConfigFromFlags("", kc)
	if err != nil {
		t.Fatal(err)
	}
	user, err := clientset.NewForConfig(userCfg)
	if err != nil {
		t.Fatal(err)
	}
	mine, err := user.UiV1alpha1().BackupConfigurationOptionses("demo").Get(ctx, v1alpha1.OptionsName, metav1.GetOptions{})
	if err != nil || len(mine.Addons) != 0 {
		t.Errorf("a user who may not get Addons is offered them: %v %+v", err, mine)
	}
}

// TestRestorePreviewBadInput: bad bodies get a 4xx each, on both write paths; PUT and
// server-side apply render as POST does; GET finds nothing.
func TestRestorePreviewBadInput(t *testing.T) {
	need(t)
	ctx := context.Background()
	huge := strings.Repeat("x", 2<<20)
	deep := strings.Repeat(`{"a":`, 40) + "1" + strings.Repeat("}", 40)
	for _, tc := range []struct {
		name, body string
		want       int
	}{
		{"malformed JSON", `{"apiVersion":`, 400},
		{"wrong kind", `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"x"}}`, 400},
		{"unknown field", `{"apiVersion":"ui.kubestash.com/v1alpha1","kind":"RestoreSessionPreview","metadata":{"name":"x"},"spec":{"snapshto":"latest"}}`, 400},
		{"body over 1 MiB", `{"apiVersion":"ui.kubestash.com/v1alpha1","kind":"RestoreSessionPreview","metadata":{"name":"x","annotations":{"a":"` + huge + `"}}}`, 413},
		{"params too deep", `{"apiVersion":"ui.kubestash.com/v1alpha1","kind":"RestoreSessionPreview","metadata":{"name":"x"},"spec":{"repository":{"name":"mongodb-repo"},"snapshot":"latest","addon":{"name":"mongodb-addon","tasks":[{"name":"logical-backup-restore","params":` + deep + `}]}}}`, 422},
	} {
		for _, post := range []func() (int, string){
			func() (int, string) {
				res := bv.UiV1alpha1().RESTClient().Post().Namespace("demo").Resource("restoresessionpreviews").Param("fieldValidation", "Strict").
					SetHeader("Content-Type", "application/json").Body([]byte(tc.body)).Do(ctx)
				var code int
				res.StatusCode(&code)
				raw, _ := res.Raw()
				return code, "restoresessionpreviews: " + string(raw)
			},
			func() (int, string) {
				res := bv.UiV1alpha1().RESTClient().Post().Namespace("demo").Resource("backupconfigurationviews").Name("mongodb-backup").SubResource("restore-preview").
					Param("fieldValidation", "Strict").SetHeader("Content-Type", "application/json").Body([]byte(tc.body)).Do(ctx)
				var code int
				res.StatusCode(&code)
				raw, _ := res.Raw()
				return code, "restore-preview: " + string(raw)
			},
		} {
			if code, body := post(); code != tc.want {
				t.Errorf("%s: got %d, want %d: %.300s", tc.name, code, tc.want, body)
			}
		}
	}
	form := filepath.Join(root, "examples/restore-preview-mongodb.yaml")
	want, err := kubectlStdout("create", "-f", form, "-o", "jsonpath={.status.yaml}")
	if err != nil {
		t.Fatal(err, want)
	}
	for _, args := range [][]string{{"apply", "--server-side"}, {"replace"}} {
		out, err := kubectlStdout(append(args, "-f", form, "-o", "jsonpath={.status.yaml}")...)
		if err != nil || out != want {
			t.Errorf("kubectl %v: %v\n%s", args, err, out)
		}
	}
	if _, err := bv.UiV1alpha1().RESTClient().Get().Namespace("demo").Resource("restoresessionpreviews").Name("mongodb-restore").Do(ctx).Raw(); !apierrors.IsNotFound(err) {
		t.Errorf("GET of a restore preview: %v, want 404", err)
	}
	if out, err := kubectl("get", "bcv", "-n", "demo"); err != nil {
		t.Errorf("server unhealthy after bad input: %v %s", err, out)
	}
}
