package integration

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/kubestash/backupview/pkg/apis/ui/v1alpha1"
	"github.com/kubestash/backupview/pkg/kubestash"
	"github.com/kubestash/backupview/test/harness"
)

var samples = []string{
	"analytics/clickstream-backup", "analytics/events-db-backup", "demo/app-data-backup", "demo/mongodb-backup",
	"prod/inventory-service-mongodb-replicaset-nightly-backup", "prod/orders-db-backup", "prod/postgres-backup",
}

func TestAPIServiceAvailable(t *testing.T) {
	need(t)
	out, err := kubectl("get", "apiservice", "v1alpha1.ui.kubestash.com", "-o", "jsonpath={.status.conditions[?(@.type=='Available')].status}")
	if err != nil || out != "True" {
		t.Fatalf("APIService not Available: %q %v", out, err)
	}
	out, err = kubectl("get", "apiservice", "v1alpha1.ui.kubestash.com", "-o", "jsonpath={.spec.insecureSkipTLSVerify}")
	if err != nil || out == "true" {
		t.Fatalf("APIService must verify TLS with a caBundle, got insecureSkipTLSVerify=%q", out)
	}
}

func TestDiscovery(t *testing.T) {
	need(t)
	out, err := kubectl("api-resources", "--api-group=ui.kubestash.com", "-o", "wide")
	if err != nil {
		t.Fatal(err, out)
	}
	var line string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "backupconfigurationviews ") {
			line = l
		}
	}
	for _, want := range []string{"bcv", "ui.kubestash.com/v1alpha1", "true", "BackupConfigurationView", "get", "list", "watch", "kubestash"} {
		if !strings.Contains(line, want) {
			t.Errorf("api-resources line %q lacks %q\n%s", line, want, out)
		}
	}
	out, err = kubectl("explain", "bcv.summary.schedule")
	if err != nil || !strings.Contains(out, "every session's cron schedule") {
		t.Errorf("kubectl explain bcv.summary.schedule: %v\n%s", err, out)
	}
}

func TestListAllNamespaces(t *testing.T) {
	need(t)
	out, err := kubectl("get", "bcv", "-A")
	if err != nil {
		t.Fatal(err, out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	header := strings.Fields(lines[0])
	want := []string{"NAMESPACE", "NAME", "SCHEDULE", "PAUSED", "REPOSITORY", "BACKUPSTORAGE", "TARGET", "TASK", "RETENTIONPOLICY", "PHASE", "HEALTH", "AGE"}
	if strings.Join(header, " ") != strings.Join(want, " ") {
		t.Errorf("header = %v, want %v", header, want)
	}
	if len(lines)-1 != len(samples) {
		t.Errorf("got %d rows, want %d:\n%s", len(lines)-1, len(samples), out)
	}
	for _, s := range samples {
		ns, name, _ := strings.Cut(s, "/")
		if !strings.Contains(out, ns) || !strings.Contains(out, name) {
			t.Errorf("missing %s in\n%s", s, out)
		}
	}
	// The two-session, two-backend BC shows every session and backend, not only the first.
	if !strings.Contains(out, "0 */6 * * *, 30 1 * * *") || !strings.Contains(out, "kubestash/s3-shared, prod/gcs-prod") {
		t.Errorf("postgres-backup row does not show both sessions and backends:\n%s", out)
	}
}

func TestListOneNamespaceAndGet(t *testing.T) {
	need(t)
	ctx := context.Background()
	l, err := bv.UiV1alpha1().BackupConfigurationViews("demo").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, v := range l.Items {
		names = append(names, v.Namespace+"/"+v.Name)
	}
	if strings.Join(names, ",") != "demo/app-data-backup,demo/mongodb-backup" {
		t.Errorf("demo views = %v", names)
	}
	v, err := bv.UiV1alpha1().BackupConfigurationViews("demo").Get(ctx, "mongodb-backup", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if v.Basic.UID == "" || v.UID == v.Basic.UID {
		t.Errorf("view uid %q must be derived from, not equal to, the BC uid %q", v.UID, v.Basic.UID)
	}
	if v.Summary.Target != "MongoDB demo/mongodb" || !v.Target.Found {
		t.Errorf("target = %+v summary %q", v.Target, v.Summary.Target)
	}
	if len(v.BackupSessions) == 0 || v.BackupSessions[0].InvokerName != "mongodb-backup" {
		t.Errorf("sessions = %+v", v.BackupSessions)
	}
	for _, s := range v.BackupSessions {
		if s.Namespace != "demo" {
			t.Errorf("a BackupSession from namespace %s joined demo/mongodb-backup", s.Namespace)
		}
	}
	if len(v.CronJobs) != 1 || v.CronJobs[0].Session != "full-backup" {
		t.Errorf("cronJobs = %+v", v.CronJobs)
	}
	if len(v.BackupStorages) != 1 || v.BackupStorages[0].Namespace != "kubestash" || !v.BackupStorages[0].Found {
		t.Errorf("backupStorages = %+v", v.BackupStorages)
	}
	out, err := kubectl("get", "bcv", "-n", "demo", "mongodb-backup", "-o", "yaml")
	if err != nil || !strings.Contains(out, "kind: BackupConfigurationView") || !strings.Contains(out, "backupSessions:") {
		t.Errorf("kubectl get -o yaml: %v\n%s", err, out)
	}
}

func TestNotFound(t *testing.T) {
	need(t)
	_, err := bv.UiV1alpha1().BackupConfigurationViews("demo").Get(context.Background(), "no-such-bc", metav1.GetOptions{})
	if !apierrors.IsNotFound(err) {
		t.Fatalf("want 404, got %v", err)
	}
	out, err := kubectl("get", "bcv", "-n", "demo", "no-such-bc")
	if err == nil || !strings.Contains(out, "NotFound") {
		t.Errorf("kubectl get of a missing view: %v %s", err, out)
	}
}

func TestJoinedPanels(t *testing.T) {
	need(t)
	ctx := context.Background()
	get := func(ns, name string) *v1alpha1.BackupConfigurationView {
		v, err := bv.UiV1alpha1().BackupConfigurationViews(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	pg := get("prod", "postgres-backup")
	if len(pg.CronJobs) != 2 || len(pg.Repositories) != 2 || len(pg.BackupStorages) != 2 || len(pg.RetentionPolicies) != 2 {
		t.Errorf("postgres-backup panels: cron %d repos %d storages %d policies %d", len(pg.CronJobs), len(pg.Repositories), len(pg.BackupStorages), len(pg.RetentionPolicies))
	}
	if len(pg.BackupSessions) != 4 || pg.BackupSessions[0].Phase != "Running" || pg.BackupSessions[0].Duration != "" {
		t.Errorf("postgres-backup sessions (newest first, Running without duration) = %+v", pg.BackupSessions)
	}
	ev := get("analytics", "events-db-backup")
	if ev.Target.Found {
		t.Errorf("deleted target shows found: %+v", ev.Target)
	}
	od := get("prod", "orders-db-backup")
	missing := false
	for _, p := range od.RetentionPolicies {
		if p.Name == "orders-retention" && !p.Found {
			missing = true
		}
	}
	if !missing || len(od.Repositories) != 1 || od.Repositories[0].Found {
		t.Errorf("missing RetentionPolicy and Repository not shown with found=false: %+v %+v", od.RetentionPolicies, od.Repositories)
	}
	paused := get("demo", "app-data-backup")
	if !paused.Basic.Paused || len(paused.CronJobs) != 1 || !paused.CronJobs[0].Suspend || paused.Health.OverdueAfter != nil {
		t.Errorf("paused view: paused=%v cron=%+v overdueAfter=%v", paused.Basic.Paused, paused.CronJobs, paused.Health.OverdueAfter)
	}
	long := get("prod", "inventory-service-mongodb-replicaset-nightly-backup")
	if len(long.CronJobs) != 1 || long.CronJobs[0].Session == "" {
		t.Errorf("shortened CronJob not mapped to its session: %+v", long.CronJobs)
	}
}

func TestWideAndSelectors(t *testing.T) {
	need(t)
	out, err := kubectl("get", "bcv", "-A", "-o", "wide")
	if err != nil {
		t.Fatal(err, out)
	}
	for _, col := range []string{"HEALTH", "LAST-SESSION", "LAST-SUCCESS", "NEXT-RUN", "CRONJOBS", "LAST-SNAPSHOT"} {
		if !strings.Contains(strings.SplitN(out, "\n", 2)[0], col) {
			t.Errorf("-o wide lacks %s", col)
		}
	}
	// NEXT-RUN is never an age in the past, though the demo's nextSchedules are stale.
	if strings.Contains(out, " ago") {
		t.Errorf("-o wide shows a time in the past:\n%s", out)
	}
	// LAST-SNAPSHOT: the newest Snapshot's phase and age, none without one.
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) > 1 && f[1] == "mongodb-backup" && (f[len(f)-2] != "Succeeded" || !strings.HasSuffix(f[len(f)-1], "d")):
			t.Errorf("mongodb-backup's LAST-SNAPSHOT: %q", line)
		case len(f) > 1 && f[1] == "app-data-backup" && f[len(f)-1] != "<none>":
			t.Errorf("app-data-backup has no Snapshot: %q", line)
		}
	}
	out, err = kubectl("get", "bcv", "-A", "--field-selector", "basic.paused=true", "--no-headers")
	if err != nil || strings.Count(strings.TrimSpace(out), "\n") != 0 || !strings.Contains(out, "app-data-backup") {
		t.Errorf("field selector basic.paused=true: %v\n%s", err, out)
	}
	out, err = kubectl("get", "bcv", "-A", "--field-selector", "spec.foo=bar")
	if err == nil || !strings.Contains(out, "BadRequest") || !strings.Contains(out, "basic.phase") {
		t.Errorf("unsupported field selector must be a 400 naming the supported ones: %v\n%s", err, out)
	}
	out, err = kubectl("get", "bcv", "-A", "-l", "app.kubernetes.io/managed-by=Helm", "-o", "name")
	if err != nil {
		t.Fatal(err, out)
	}
	if n := len(strings.Fields(out)); n == 0 || n == len(samples) {
		t.Errorf("label selector should pick some views, got %d:\n%s", n, out)
	}
	// Paging: every view, a page at a time, equals one LIST.
	out, err = kubectl("get", "bcv", "-A", "--chunk-size=2", "-o", "name")
	if err != nil || len(strings.Fields(out)) != len(samples) {
		t.Errorf("--chunk-size=2: %v\n%s", err, out)
	}
	out, err = kubectl("get", "bcv", "-n", "nowhere")
	if err != nil || !strings.Contains(out, "No resources found") {
		t.Errorf("empty namespace: %v %s", err, out)
	}
}

// The demo's expected verdicts (hack/demo/samples.yaml): every one but Pending. Stuck,
// NeverSucceeded and Overdue depend on the clock: their stored verdict is Healthy.
var verdicts = map[string][2]string{ // view: {HEALTH now, stored health.verdict}
	"analytics/clickstream-backup":                             {"Overdue", "Healthy"},
	"analytics/events-db-backup":                               {"Failing", "Failing"},
	"demo/app-data-backup":                                     {"Paused", "Paused"},
	"demo/mongodb-backup":                                      {"Healthy", "Healthy"},
	"prod/inventory-service-mongodb-replicaset-nightly-backup": {"NeverSucceeded", "Healthy"},
	"prod/orders-db-backup":                                    {"Invalid", "Invalid"},
	"prod/postgres-backup":                                     {"Stuck", "Healthy"},
}

func TestHealth(t *testing.T) {
	need(t)
	// HEALTH is a default column.
	out, err := kubectlStdout("get", "bcv", "-A")
	if err != nil {
		t.Fatal(err, out)
	}
	t.Logf("kubectl get bcv -A:\n%s", out)
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	col := strings.Index(lines[0], "HEALTH")
	if col < 0 {
		t.Fatalf("no HEALTH column by default:\n%s", out)
	}
	got := map[string]string{}
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		if len(l) > col && len(f) > 1 {
			got[f[0]+"/"+f[1]] = strings.Fields(l[col:])[0]
		}
	}
	for view, want := range verdicts {
		if got[view] != want[0] {
			t.Errorf("%s: HEALTH %q, want %s:\n%s", view, got[view], want[0], out)
		}
	}
	// The stored verdict and its reasons, each naming an object and a field.
	l, err := bv.UiV1alpha1().BackupConfigurationViews("").List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range l.Items {
		want := verdicts[v.Namespace+"/"+v.Name]
		if v.Health.Verdict != want[1] {
			t.Errorf("%s/%s: health.verdict %q, want %s; reasons %+v", v.Namespace, v.Name, v.Health.Verdict, want[1], v.Health.Reasons)
		}
		supported := false
		for _, r := range v.Health.Reasons {
			if r.Object.Kind == "" || r.Object.Name == "" || r.Field == "" || r.Message == "" {
				t.Errorf("%s/%s: reason %+v does not name its object and field", v.Namespace, v.Name, r)
			}
			supported = supported || r.Type == want[0]
		}
		if want[0] != "Healthy" && !supported {
			t.Errorf("%s/%s is %s without a reason of that type: %+v", v.Namespace, v.Name, want[0], v.Health.Reasons)
		}
	}
	// The field selector, through kubectl, on the stored verdict.
	for sel, want := range map[string]string{
		"health.verdict!=Healthy":                        "analytics/events-db-backup demo/app-data-backup prod/orders-db-backup",
		"health.verdict=Failing":                         "analytics/events-db-backup",
		"health.verdict=Healthy,metadata.namespace=demo": "demo/mongodb-backup",
	} {
		out, err := kubectlStdout("get", "bcv", "-A", "--field-selector", sel, "--no-headers", "-o", "custom-columns=NS:.metadata.namespace,NAME:.metadata.name")
		if err != nil {
			t.Fatalf("--field-selector %s: %v %s", sel, err, out)
		}
		var names []string
		for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
			if f := strings.Fields(l); len(f) == 2 {
				names = append(names, f[0]+"/"+f[1])
			}
		}
		if strings.Join(names, " ") != want {
			t.Errorf("--field-selector %s: %v, want %s", sel, names, want)
		}
	}
	out, err = kubectl("explain", "bcv.health.verdict")
	if err != nil || !strings.Contains(out, "does not depend on the clock") {
		t.Errorf("kubectl explain bcv.health.verdict: %v\n%s", err, out)
	}
}

func TestAccess(t *testing.T) {
	need(t)
	out, err := kubectlAs(filepath.Join(dir, "kubeconfig-alice"), "get", "bcv", "-A")
	if err == nil || !strings.Contains(out, "Forbidden") {
		t.Errorf("a user without RBAC must get 403: %v %s", err, out)
	}
	// An anonymous request (no client certificate) is refused by kube-apiserver.
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	resp, err := c.Get(strings.TrimSuffix(cfg.Host, "/") + "/apis/ui.kubestash.com/v1alpha1/backupconfigurationviews")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized && resp.StatusCode != http.StatusForbidden {
		t.Errorf("anonymous list: %d %s", resp.StatusCode, body)
	}
}

func TestWatchSeesJoinedChanges(t *testing.T) {
	need(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	w, err := bv.UiV1alpha1().BackupConfigurationViews("demo").Watch(ctx, metav1.ListOptions{FieldSelector: "metadata.name=mongodb-backup"})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	// Drain the initial ADDED.
	select {
	case e := <-w.ResultChan():
		if e.Type != watch.Added {
			t.Fatalf("first event %s", e.Type)
		}
	case <-ctx.Done():
		t.Fatal("no initial event")
	}
	// Suspend the CronJob: the view must follow within a second.
	cj, err := kube.BatchV1().CronJobs("demo").Get(ctx, "trigger-mongodb-backup-full-backup", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	suspend := true
	cj.Spec.Suspend = &suspend
	start := time.Now()
	if _, err := kube.BatchV1().CronJobs("demo").Update(ctx, cj, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cj, err := kube.BatchV1().CronJobs("demo").Get(context.Background(), cj.Name, metav1.GetOptions{})
		if err == nil {
			cj.Spec.Suspend = nil
			_, err = kube.BatchV1().CronJobs("demo").Update(context.Background(), cj, metav1.UpdateOptions{})
		}
		if err != nil {
			t.Error(err)
		}
	})
	waitFor(t, w, time.Second, func(v *v1alpha1.BackupConfigurationView) bool {
		return len(v.CronJobs) == 1 && v.CronJobs[0].Suspend
	})
	t.Logf("CronJob suspend reflected after %s", time.Since(start))

	// A BackupSession phase change.
	gvr := kubestash.BackupSessions
	v, _ := bv.UiV1alpha1().BackupConfigurationViews("demo").Get(ctx, "mongodb-backup", metav1.GetOptions{})
	name := v.BackupSessions[0].Name
	bs, err := dyn.Resource(gvr).Namespace("demo").Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	status, _ := bs.Object["status"].(map[string]interface{})
	if status == nil {
		status = map[string]interface{}{}
	}
	oldPhase := status["phase"]
	status["phase"] = "Failed"
	bs.Object["status"] = status
	start = time.Now()
	if _, err := dyn.Resource(gvr).Namespace("demo").UpdateStatus(ctx, bs, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		bs, err := dyn.Resource(gvr).Namespace("demo").Get(context.Background(), name, metav1.GetOptions{})
		if err == nil {
			bs.Object["status"].(map[string]interface{})["phase"] = oldPhase
			_, err = dyn.Resource(gvr).Namespace("demo").UpdateStatus(context.Background(), bs, metav1.UpdateOptions{})
		}
		if err != nil {
			t.Error(err)
		}
	})
	waitFor(t, w, time.Second, func(v *v1alpha1.BackupConfigurationView) bool {
		return len(v.BackupSessions) > 0 && v.BackupSessions[0].Name == name && v.BackupSessions[0].Phase == "Failed"
	})
	t.Logf("BackupSession phase reflected after %s", time.Since(start))
}

func waitFor(t *testing.T, w watch.Interface, timeout time.Duration, ok func(*v1alpha1.BackupConfigurationView) bool) {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case e := <-w.ResultChan():
			v, isView := e.Object.(*v1alpha1.BackupConfigurationView)
			if e.Type == watch.Modified && isView && ok(v) {
				return
			}
		case <-deadline:
			t.Fatalf("no matching MODIFIED event within %s", timeout)
		}
	}
}

func TestDeployManifestsAreValid(t *testing.T) {
	need(t)
	if _, err := os.Stat(filepath.Join(root, "deploy", "kustomization.yaml")); err != nil {
		t.Fatal("deploy/kustomization.yaml is missing")
	}
	out, err := kubectl("kustomize", filepath.Join(root, "deploy"))
	if err != nil {
		t.Fatal(err, out)
	}
	// cert-manager kinds are not installed here; everything else must pass the server.
	var docs []string
	for _, d := range strings.Split(out, "\n---\n") {
		if !strings.Contains(d, "cert-manager.io/v1") || !strings.Contains(d, "kind: Certificate") && !strings.Contains(d, "kind: Issuer") {
			docs = append(docs, d)
		}
	}
	// A dry-run create of namespaced objects needs their namespace to exist.
	if out, err := kubectl("create", "namespace", "backupview"); err != nil && !strings.Contains(out, "AlreadyExists") {
		t.Fatal(err, out)
	}
	f := filepath.Join(t.TempDir(), "deploy.yaml")
	if err := os.WriteFile(f, []byte(strings.Join(docs, "\n---\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := kubectl("apply", "--dry-run=server", "-f", f); err != nil {
		t.Fatalf("deploy/ does not pass server-side validation: %v\n%s", err, out)
	}
}

// TestSnapshotsInTheView: the demo's mongodb-repo shows its Snapshots newest first, with their
// verification; a newer Snapshot that failed appears live (watch), makes the view Failing with
// a reason naming it, and goes with its deletion.
func TestSnapshotsInTheView(t *testing.T) {
	need(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	repo := func(v *v1alpha1.BackupConfigurationView) v1alpha1.RepositoryRef {
		for _, r := range v.Repositories {
			if r.Name == "mongodb-repo" {
				return r
			}
		}
		return v1alpha1.RepositoryRef{}
	}
	v, err := bv.UiV1alpha1().BackupConfigurationViews("demo").Get(ctx, "mongodb-backup", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	r := repo(v)
	if len(r.Snapshots) != 2 || r.SnapshotsTotal != 2 || r.Snapshots[0].Name != "mongodb-repo-mongodb-backup-full-backup-1795752000" ||
		r.Snapshots[0].VerificationStatus != "Verified" || r.Snapshots[1].VerificationStatus != "VerificationFailed" || r.Snapshots[0].Type != "FullBackup" {
		t.Fatalf("mongodb-repo's snapshots: %+v (total %d)", r.Snapshots, r.SnapshotsTotal)
	}
	w, err := bv.UiV1alpha1().BackupConfigurationViews("demo").Watch(ctx, metav1.ListOptions{FieldSelector: "metadata.name=mongodb-backup", ResourceVersion: v.ResourceVersion})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	failed := &unstructured.Unstructured{Object: map[string]interface{}{
		"apiVersion": "storage.kubestash.com/v1alpha1", "kind": "Snapshot",
		"metadata": map[string]interface{}{"name": "mongodb-repo-failed", "namespace": "demo"},
		"spec":     map[string]interface{}{"repository": "mongodb-repo", "type": "FullBackup", "backupSession": "mongodb-backup-full-backup-1795760000"},
	}}
	created, err := dyn.Resource(kubestash.Snapshots).Namespace("demo").Create(ctx, failed, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = dyn.Resource(kubestash.Snapshots).Namespace("demo").Delete(context.Background(), "mongodb-repo-failed", metav1.DeleteOptions{})
	})
	created.Object["status"] = map[string]interface{}{"phase": "Failed", "snapshotTime": "2026-11-28T04:00:00Z",
		"components": map[string]interface{}{"dump": map[string]interface{}{"phase": "Failed", "error": "mongodump: connection refused"}}}
	if _, err := dyn.Resource(kubestash.Snapshots).Namespace("demo").UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, w, 5*time.Second, func(v *v1alpha1.BackupConfigurationView) bool {
		r := repo(v)
		if len(r.Snapshots) == 0 || r.Snapshots[0].Name != "mongodb-repo-failed" || r.Snapshots[0].Phase != "Failed" || r.SnapshotsTotal != 3 {
			return false
		}
		for _, reason := range v.Health.Reasons {
			if reason.Object.Kind == "Snapshot" && reason.Object.Name == "mongodb-repo-failed" && reason.Field == "status.phase" &&
				strings.Contains(reason.Message, "mongodump: connection refused") && v.Health.Verdict == "Failing" {
				return true
			}
		}
		t.Errorf("the failed Snapshot is in the view without its reason: %+v", v.Health)
		return true
	})
	if err := dyn.Resource(kubestash.Snapshots).Namespace("demo").Delete(ctx, "mongodb-repo-failed", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, w, 5*time.Second, func(v *v1alpha1.BackupConfigurationView) bool {
		return repo(v).SnapshotsTotal == 2 && repo(v).Snapshots[0].Name == "mongodb-repo-mongodb-backup-full-backup-1795752000"
	})
}

// TestSnapshotsGoWithTheirRepository: a repository's Snapshots, bounded in the view to
// --view-snapshots (10) newest with their total, go when the Repository is deleted: their
// controller owner reference points at it, so kube-controller-manager's garbage collector
// deletes them, and the view follows (watch).
func TestSnapshotsGoWithTheirRepository(t *testing.T) {
	need(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	const bcName, repoName = "scratch-backup", "scratch-repo"
	bcs, repos, snaps := dyn.Resource(kubestash.BackupConfigurations).Namespace("demo"), dyn.Resource(kubestash.Repositories).Namespace("demo"),
		dyn.Resource(kubestash.Snapshots).Namespace("demo")
	// A BackupConfiguration like the demo's mongodb-backup, writing to a repository of its own.
	src, err := bcs.Get(ctx, "mongodb-backup", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	spec := src.Object["spec"].(map[string]interface{})
	sessions := spec["sessions"].([]interface{})
	sessions[0].(map[string]interface{})["repositories"] = []interface{}{map[string]interface{}{"name": repoName, "backend": "default-backend", "directory": "demo/scratch"}}
	bc := &unstructured.Unstructured{Object: map[string]interface{}{"apiVersion": "core.kubestash.com/v1alpha1", "kind": "BackupConfiguration",
		"metadata": map[string]interface{}{"name": bcName, "namespace": "demo"}, "spec": spec}}
	if _, err := bcs.Create(ctx, bc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = bcs.Delete(context.Background(), bcName, metav1.DeleteOptions{})
		_ = repos.Delete(context.Background(), repoName, metav1.DeleteOptions{})
	})
	repo, err := repos.Create(ctx, &unstructured.Unstructured{Object: map[string]interface{}{"apiVersion": "storage.kubestash.com/v1alpha1", "kind": "Repository",
		"metadata": map[string]interface{}{"name": repoName, "namespace": "demo"},
		"spec": map[string]interface{}{"appRef": map[string]interface{}{"apiGroup": "kubedb.com", "kind": "MongoDB", "namespace": "demo", "name": "mongodb"},
			"storageRef": map[string]interface{}{"namespace": "kubestash", "name": "s3-shared"}, "path": "demo/scratch", "deletionPolicy": "Delete"}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	owner := []interface{}{map[string]interface{}{"apiVersion": "storage.kubestash.com/v1alpha1", "kind": "Repository", "name": repoName,
		"uid": string(repo.GetUID()), "controller": true, "blockOwnerDeletion": true}}
	const n = 12
	for i := range n {
		name := fmt.Sprintf("%s-%s-full-backup-%d", repoName, bcName, 1795000000+3600*i)
		s, err := snaps.Create(ctx, &unstructured.Unstructured{Object: map[string]interface{}{"apiVersion": "storage.kubestash.com/v1alpha1", "kind": "Snapshot",
			"metadata": map[string]interface{}{"name": name, "namespace": "demo", "ownerReferences": owner},
			"spec":     map[string]interface{}{"repository": repoName, "type": "FullBackup", "session": "full-backup"}}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		s.Object["status"] = map[string]interface{}{"phase": "Succeeded", "snapshotTime": time.Unix(int64(1795000000+3600*i), 0).UTC().Format(time.RFC3339)}
		if _, err := snaps.UpdateStatus(ctx, s, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	scratch := func(v *v1alpha1.BackupConfigurationView) v1alpha1.RepositoryRef {
		for _, r := range v.Repositories {
			if r.Name == repoName {
				return r
			}
		}
		return v1alpha1.RepositoryRef{}
	}
	var v *v1alpha1.BackupConfigurationView
	if err := harness.Eventually(20*time.Second, func() (err error) {
		if v, err = bv.UiV1alpha1().BackupConfigurationViews("demo").Get(ctx, bcName, metav1.GetOptions{}); err != nil {
			return err
		}
		if r := scratch(v); !r.Found || r.SnapshotsTotal != n {
			return fmt.Errorf("%s: found %v, %d snapshots of %d", repoName, r.Found, len(r.Snapshots), r.SnapshotsTotal)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	r := scratch(v)
	if len(r.Snapshots) != 10 || r.Snapshots[0].Name != fmt.Sprintf("%s-%s-full-backup-%d", repoName, bcName, 1795000000+3600*(n-1)) {
		t.Fatalf("the view shows %d snapshots, newest %q; want the newest 10 of %d", len(r.Snapshots), r.Snapshots[0].Name, n)
	}
	w, err := bv.UiV1alpha1().BackupConfigurationViews("demo").Watch(ctx, metav1.ListOptions{FieldSelector: "metadata.name=" + bcName, ResourceVersion: v.ResourceVersion})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	background := metav1.DeletePropagationBackground
	if err := repos.Delete(ctx, repoName, metav1.DeleteOptions{PropagationPolicy: &background}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, w, 60*time.Second, func(v *v1alpha1.BackupConfigurationView) bool {
		r := scratch(v)
		return !r.Found && r.SnapshotsTotal == 0 && len(r.Snapshots) == 0
	})
	if l, err := snaps.List(ctx, metav1.ListOptions{}); err != nil {
		t.Fatal(err)
	} else {
		for _, s := range l.Items {
			if s.Object["spec"].(map[string]interface{})["repository"] == repoName {
				t.Errorf("Snapshot %s outlived its Repository", s.GetName())
			}
		}
	}
}
