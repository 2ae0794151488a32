package integration

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/kubestash/backupview/pkg/apis/ui/v1alpha1"
	"github.com/kubestash/backupview/pkg/kubestash"
	"github.com/kubestash/backupview/test/harness"
)

// optionsObjects is a namespace of its own (labelled tier=gold) and storages and policies
// in kubestash with each usagePolicy rule, so the options of "forms" admit exactly: the demo's
// shared s3 (All), sel-gold (Selector tier=gold) and forms/own (Same); not same-only (Same,
// kubestash) nor sel-silver (Selector tier=silver).
const optionsObjects = `
apiVersion: v1
kind: Namespace
metadata: {name: forms, labels: {tier: gold}}
---
apiVersion: storage.kubestash.com/v1alpha1
kind: BackupStorage
metadata: {name: sel-gold, namespace: kubestash}
spec: {storage: {provider: gcs, gcs: {bucket: b}}, usagePolicy: {allowedNamespaces: {from: Selector, selector: {matchLabels: {tier: gold}}}}}
---
apiVersion: storage.kubestash.com/v1alpha1
kind: BackupStorage
metadata: {name: sel-silver, namespace: kubestash}
spec: {storage: {provider: gcs, gcs: {bucket: b}}, usagePolicy: {allowedNamespaces: {from: Selector, selector: {matchLabels: {tier: silver}}}}}
---
apiVersion: storage.kubestash.com/v1alpha1
kind: BackupStorage
metadata: {name: same-only, namespace: kubestash}
spec: {storage: {provider: local, local: {mountPath: /b, hostPath: {path: /b}}}, usagePolicy: {allowedNamespaces: {from: Same}}}
---
apiVersion: storage.kubestash.com/v1alpha1
kind: BackupStorage
metadata: {name: own, namespace: forms}
spec: {storage: {provider: local, local: {mountPath: /b, hostPath: {path: /b}}}}
---
apiVersion: storage.kubestash.com/v1alpha1
kind: RetentionPolicy
metadata: {name: gold-only, namespace: kubestash}
spec: {maxRetentionPeriod: 7d, usagePolicy: {allowedNamespaces: {from: Selector, selector: {matchLabels: {tier: gold}}}}}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data, namespace: forms}
spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
`

func refs(o *v1alpha1.BackupConfigurationOptions) (storages, policies []string) {
	for _, s := range o.Storages {
		storages = append(storages, s.Ref)
	}
	for _, p := range o.RetentionPolicies {
		policies = append(policies, p.Ref)
	}
	return storages, policies
}

// The form options of a namespace: storages and policies admitted by their usagePolicy
// (Same, All, Selector), defaults first; the Addons' backup tasks with parameters and no
// restore task; the namespace's targets; following changes on watch; and, for a namespace
// user, only what they may get.
func TestFormOptions(t *testing.T) {
	need(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if out, err := c.KubectlStdout(optionsObjects, "apply", "-f", "-"); err != nil {
		t.Fatal(err, out)
	}
	opts := bv.UiV1alpha1().BackupConfigurationOptionses("forms")
	var o *v1alpha1.BackupConfigurationOptions
	wantStorages := []string{"kubestash/s3-shared", "forms/own", "kubestash/sel-gold"}
	if err := harness.Eventually(30*time.Second, func() (err error) {
		o, err = opts.Get(ctx, "default", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if s, _ := refs(o); !slices.Equal(s, wantStorages) || len(o.Targets) == 0 {
			return fmt.Errorf("storages %v (want %v), targets %v", s, wantStorages, o.Targets)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, p := refs(o); !slices.Equal(p, []string{"kubestash/keep-1mo", "kubestash/gold-only"}) {
		t.Errorf("retention policies %v", p)
	}
	if !o.Storages[0].Default || o.Storages[0].AllowedNamespaces != "All" || o.Storages[1].AllowedNamespaces != "Same" || o.Storages[2].AllowedNamespaces != "Selector" {
		t.Errorf("storages: %+v", o.Storages)
	}
	if !slices.Contains(o.Targets, v1alpha1.TargetOption{Kind: "PersistentVolumeClaim", Name: "data"}) {
		t.Errorf("targets %+v lack the PVC", o.Targets)
	}
	var mongo *v1alpha1.AddonOption
	for i := range o.Addons {
		if o.Addons[i].Name == "mongodb-addon" {
			mongo = &o.Addons[i]
		}
	}
	if mongo == nil {
		t.Fatalf("no mongodb-addon in %+v", o.Addons)
	}
	for _, task := range mongo.BackupTasks {
		if strings.HasSuffix(task.Name, "-restore") {
			t.Errorf("restore task %s offered", task.Name)
		}
	}
	if len(mongo.BackupTasks) == 0 || mongo.BackupTasks[0].Name != "logical-backup" || len(mongo.BackupTasks[0].Parameters) == 0 {
		t.Errorf("mongodb-addon tasks: %+v", mongo.BackupTasks)
	}

	// kubectl: the Table shows counts and defaults; -o yaml the lists; explain the schema.
	out, err := kubectl("get", "backupconfigurationoptions", "-n", "forms")
	if err != nil || !strings.Contains(out, "DEFAULT-STORAGE") || !strings.Contains(out, "kubestash/s3-shared") {
		t.Errorf("kubectl get backupconfigurationoptions: %v\n%s", err, out)
	}
	// kube-apiserver fetches the aggregated OpenAPI v3 asynchronously once the APIService is
	// available: explain may need a moment after start.
	if err := harness.Eventually(30*time.Second, func() error {
		if out, err := kubectl("explain", "backupconfigurationoptions.storages.allowedNamespaces"); err != nil || !strings.Contains(out, "Selector") {
			return fmt.Errorf("kubectl explain: %v\n%s", err, out)
		}
		return nil
	}); err != nil {
		t.Error(err)
	}

	// A watch sees a new admitted storage, and one no longer admitted when its namespace's
	// labels change.
	w, err := opts.Watch(ctx, metav1.ListOptions{ResourceVersion: o.ResourceVersion})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	start := time.Now()
	if out, err := kubectl("label", "namespace", "forms", "tier=silver", "--overwrite"); err != nil {
		t.Fatal(err, out)
	}
	waitOptions(t, w, 10*time.Second, func(o *v1alpha1.BackupConfigurationOptions) bool {
		s, _ := refs(o)
		return slices.Equal(s, []string{"kubestash/s3-shared", "forms/own", "kubestash/sel-silver"})
	})
	t.Logf("namespace label change reflected after %s", time.Since(start))
	start = time.Now()
	if err := dyn.Resource(kubestash.BackupStorages).Namespace("kubestash").Delete(ctx, "sel-silver", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitOptions(t, w, 10*time.Second, func(o *v1alpha1.BackupConfigurationOptions) bool {
		s, _ := refs(o)
		return slices.Equal(s, []string{"kubestash/s3-shared", "forms/own"})
	})
	t.Logf("BackupStorage deletion reflected after %s", time.Since(start))

	// The preview applies the same rule: a storage whose usagePolicy does not admit the form's
	// namespace gets a warning naming it.
	form, err := os.ReadFile(filepath.Join(root, "examples", "preview-mongodb.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Replace(strings.Replace(string(form), "namespace: demo", "namespace: forms", -1), "name: s3-shared", "name: same-only", 1)
	if out, err := kubectl("create", "-f", writeTemp(t, f), "-o", "name"); err != nil || !strings.Contains(out, "BackupStorage kubestash/same-only may not be used from namespace forms: its usagePolicy.allowedNamespaces.from is Same") {
		t.Errorf("no usagePolicy warning for kubestash/same-only: %v\n%s", err, out)
	}

	// A namespace user sees only what they may get: alice may read the options and the
	// storages of forms, not those of kubestash, nor Addons or PVCs.
	rbac := `
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: form-user, namespace: forms}
rules:
- {apiGroups: [ui.kubestash.com], resources: [backupconfigurationoptions], verbs: [get, list, watch]}
- {apiGroups: [storage.kubestash.com], resources: [backupstorages, retentionpolicies], verbs: [get]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: form-user, namespace: forms}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: form-user}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: alice}]
`
	if out, err := c.KubectlStdout(rbac, "apply", "-f", "-"); err != nil {
		t.Fatal(err, out)
	}
	alice := filepath.Join(dir, "kubeconfig-alice")
	if err := harness.Eventually(30*time.Second, func() error {
		out, err := kubectlAs(alice, "get", "backupconfigurationoptions", "default", "-n", "forms", "-o", "jsonpath={.storages[*].ref}|{.addons}|{.targets}")
		if err != nil {
			return fmt.Errorf("%v: %s", err, out)
		}
		if out != "forms/own||" {
			return fmt.Errorf("alice sees %q, want only forms/own", out)
		}
		return nil
	}); err != nil {
		t.Error(err)
	}
	if out, err := kubectlAs(alice, "get", "backupconfigurationoptions", "-n", "demo"); err == nil || !strings.Contains(out, "Forbidden") {
		t.Errorf("alice may not list demo's options: %v %s", err, out)
	}
}

func writeTemp(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "form.yaml")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func waitOptions(t *testing.T, w watch.Interface, timeout time.Duration, ok func(*v1alpha1.BackupConfigurationOptions) bool) {
	t.Helper()
	deadline := time.After(timeout)
	var last *v1alpha1.BackupConfigurationOptions
	for {
		select {
		case e := <-w.ResultChan():
			if o, is := e.Object.(*v1alpha1.BackupConfigurationOptions); is && e.Type == watch.Modified {
				if ok(o) {
					return
				}
				last = o
			}
		case <-deadline:
			t.Fatalf("no matching MODIFIED event within %s; last %+v", timeout, last)
		}
	}
}
