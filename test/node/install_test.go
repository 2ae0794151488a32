package node

import (
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kubestash/backupview/test/harness"
)

// TestInstall runs in order on one node: each step starts from the state the one before left.
func TestInstall(t *testing.T) {
	if !enabled() {
		t.Skip("node e2e: run `make test-node`")
	}
	t.Logf("node start to Ready (control plane included): %s; helm install to Available: %s",
		nodeUp.Round(100*time.Millisecond), installed.Round(100*time.Millisecond))
	steps := []struct {
		name string
		f    func(*testing.T)
	}{
		{"Installed", installedAsPromised},
		{"NamespaceUsers", namespaceUsers},
		{"PodDeletedUnderLoad", podDeletedUnderLoad},
		{"RollingUpdateUnderLoad", rollingUpdateUnderLoad},
		{"DisruptionBudget", disruptionBudget},
		{"BothPodsKilled", bothPodsKilled},
		{"Uninstall", uninstall},
		{"KustomizeWithCertManager", kustomizeWithCertManager},
	}
	for _, s := range steps {
		if !t.Run(s.name, s.f) {
			t.Fatalf("%s failed: the steps after it start from its state", s.name)
		}
	}
}

// installedAsPromised: two pods Ready through their real probes, the APIService Available
// through the Service, views served through that path, and each container as the chart says:
// in-cluster configuration, non-root, read-only root filesystem, its memory limit in force.
func installedAsPromised(t *testing.T) {
	ctx := context.Background()
	d, err := waitRolledOut(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if *d.Spec.Replicas != 2 {
		t.Fatalf("replicas = %d, want the chart's default 2", *d.Spec.Replicas)
	}
	ctr := d.Spec.Template.Spec.Containers[0]
	for _, a := range append(ctr.Args, ctr.Command...) {
		if strings.Contains(a, "kubeconfig") {
			t.Errorf("the container is given %q: it must use the in-cluster configuration", a)
		}
	}
	if ctr.ReadinessProbe == nil || ctr.ReadinessProbe.HTTPGet == nil || ctr.ReadinessProbe.HTTPGet.Path != "/readyz" {
		t.Errorf("readiness probe %+v, want GET /readyz", ctr.ReadinessProbe)
	}
	out, err := c.KubectlStdout("", "get", "bcv", "-A")
	if err != nil {
		t.Fatalf("kubectl get bcv -A: %v\n%s", err, out)
	}
	for _, want := range []string{"mongodb-backup", "postgres-backup", "events-db-backup"} {
		if !strings.Contains(out, want) {
			t.Errorf("kubectl get bcv -A lacks %s:\n%s", want, out)
		}
	}
	limit := ctr.Resources.Limits.Memory().Value()
	pids := serverProcs(t)
	if len(pids) != 2 {
		t.Fatalf("%d backupview-apiserver processes on the node, want 2", len(pids))
	}
	for _, pid := range pids {
		status := procFile(t, pid, "status")
		if m := regexp.MustCompile(`(?m)^Uid:\s+(\d+)`).FindStringSubmatch(status); m == nil || m[1] != "65532" {
			t.Errorf("pid %d runs as uid %v, want 65532", pid, m)
		}
		if cmdline := strings.ReplaceAll(procFile(t, pid, "cmdline"), "\x00", " "); !strings.Contains(cmdline, fmt.Sprintf("--memory-limit=%d ", limit)) {
			t.Errorf("pid %d: %q lacks --memory-limit=%d (the limit, through the Downward API)", pid, cmdline, limit)
		}
		rootRO := false
		for _, line := range strings.Split(procFile(t, pid, "mountinfo"), "\n") {
			f := strings.Fields(line)
			if len(f) > 5 && f[4] == "/" {
				rootRO = strings.HasPrefix(f[5], "ro")
			}
		}
		if !rootRO {
			t.Errorf("pid %d: the root filesystem is writable", pid)
		}
		if got := cgroupMemoryLimit(t, pid); got != limit {
			t.Errorf("pid %d: cgroup memory limit %d, want the Deployment's %d", pid, got, limit)
		}
	}
}

// cgroupMemoryLimit reads the memory limit of a process's cgroup (v1 or v2).
func cgroupMemoryLimit(t *testing.T, pid int) int64 {
	t.Helper()
	for _, line := range strings.Split(procFile(t, pid, "cgroup"), "\n") {
		f := strings.SplitN(line, ":", 3)
		if len(f) != 3 {
			continue
		}
		var file string
		switch {
		case strings.Contains(","+f[1]+",", ",memory,"):
			file = filepath.Join("/sys/fs/cgroup/memory", f[2], "memory.limit_in_bytes")
		case f[0] == "0" && f[1] == "":
			file = filepath.Join("/sys/fs/cgroup", f[2], "memory.max")
		default:
			continue
		}
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var v int64
		fmt.Sscan(string(b), &v)
		return v
	}
	t.Fatalf("pid %d has no memory cgroup", pid)
	return 0
}

// namespaceUsers: a user bound to the built-in view role in one namespace lists that
// namespace's views and nothing else, and may not preview; one with edit previews there.
func namespaceUsers(t *testing.T) {
	users := map[string]string{"viewer": "view", "editor": "edit"}
	kc := map[string]string{}
	for user, role := range users {
		if err := c.MintCert("ca", user, user); err != nil {
			t.Fatal(err)
		}
		f, err := c.UserKubeconfig(user)
		if err != nil {
			t.Fatal(err)
		}
		kc[user] = f
		if out, err := c.Kubectl("create", "rolebinding", user, "-n", "demo", "--clusterrole="+role, "--user="+user); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
	}
	// kube-controller-manager aggregates the chart's roles into view and edit.
	if err := harness.Eventually(30*time.Second, func() error {
		out, err := c.KubectlAs(kc["editor"], "auth", "can-i", "create", "backupconfigurationpreviews.ui.kubestash.com", "-n", "demo")
		if err != nil || strings.TrimSpace(out) != "yes" {
			return fmt.Errorf("editor can-i create previews: %q %v", out, err)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	out, err := c.KubectlStdoutAs(kc["viewer"], "", "get", "bcv", "-n", "demo", "-o", "name")
	if err != nil || !strings.Contains(out, "mongodb-backup") {
		t.Errorf("viewer: get bcv -n demo: %v\n%s", err, out)
	}
	for _, args := range [][]string{
		{"get", "bcv", "-A"},
		{"get", "bcv", "-n", "prod"},
		{"create", "-f", filepath.Join(harness.RepoRoot(), "examples", "preview-mongodb.yaml"), "-o", "name"},
	} {
		if out, err := c.KubectlAs(kc["viewer"], args...); err == nil || !strings.Contains(out, "forbidden") {
			t.Errorf("viewer: kubectl %s: want forbidden, got %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	out, err = c.KubectlStdoutAs(kc["editor"], "", "create", "-f", filepath.Join(harness.RepoRoot(), "examples", "preview-mongodb.yaml"), "-o", "jsonpath={.kind}")
	if err != nil || out != "BackupConfigurationPreview" {
		t.Errorf("editor: preview in demo: %v\n%s", err, out)
	}
}

// podDeletedUnderLoad: one pod deleted (the default grace period) while clients read; no GET
// fails, the informer converges, the replacement becomes Ready.
func podDeletedUnderLoad(t *testing.T) {
	ctx := context.Background()
	l := startLoad(t)
	time.Sleep(2 * time.Second)
	victim := serverPods(ctx, t)[0].Name
	if err := c.Kube.CoreV1().Pods(namespace).Delete(ctx, victim, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	tctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	if err := waitSettled(tctx); err != nil {
		t.Fatal(err)
	}
	if _, failed := l.stop(t, "pod deleted"); failed != 0 {
		t.Errorf("%d GETs failed while a pod was deleted", failed)
	}
}

// rollingUpdateUnderLoad: helm upgrade to another image tag (maxUnavailable 0) while clients
// read: zero failed requests; the serving CA and certificate are kept.
func rollingUpdateUnderLoad(t *testing.T) {
	ctx := context.Background()
	caBefore := apiServiceCA(ctx, t)
	secretBefore, err := c.Kube.CoreV1().Secrets(namespace).Get(ctx, "backupview-serving-cert", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	l := startLoad(t)
	time.Sleep(2 * time.Second)
	t0 := time.Now()
	if out, err := helm("upgrade", release, chartDir(), "--namespace", namespace, "--reuse-values",
		"--set", "image.digest=", "--set", "image.tag="+nextTag, "--wait", "--timeout", "3m"); err != nil {
		t.Fatalf("helm upgrade: %v\n%s", err, out)
	}
	tctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	d, err := waitRolledOut(tctx)
	if err != nil {
		t.Fatal(err)
	}
	if img := d.Spec.Template.Spec.Containers[0].Image; !strings.HasSuffix(img, ":"+nextTag) {
		t.Fatalf("image after the upgrade: %s", img)
	}
	for _, p := range serverPods(ctx, t) {
		if p.DeletionTimestamp == nil && !strings.HasSuffix(p.Spec.Containers[0].Image, ":"+nextTag) {
			t.Errorf("pod %s still runs %s", p.Name, p.Spec.Containers[0].Image)
		}
	}
	if err := waitSettled(tctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("rolling update done in %s (old pods gone)", time.Since(t0).Round(100*time.Millisecond))
	if _, failed := l.stop(t, "rolling update"); failed != 0 {
		t.Errorf("%d requests failed during the rolling update", failed)
	}
	if caAfter := apiServiceCA(ctx, t); caAfter != caBefore {
		t.Error("helm upgrade changed the APIService's caBundle")
	}
	secretAfter, err := c.Kube.CoreV1().Secrets(namespace).Get(ctx, "backupview-serving-cert", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if string(secretAfter.Data["tls.crt"]) != string(secretBefore.Data["tls.crt"]) {
		t.Error("helm upgrade changed the serving certificate")
	}
}

func apiServiceCA(ctx context.Context, t *testing.T) string {
	t.Helper()
	u, err := c.Dyn.Resource(gvrAPIService).Get(ctx, apiServiceName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ca, _, _ := unstructured.NestedString(u.Object, "spec", "caBundle")
	if b, err := base64.StdEncoding.DecodeString(ca); err != nil || !strings.Contains(string(b), "BEGIN CERTIFICATE") {
		t.Fatalf("the APIService's caBundle is no certificate: %q", ca)
	}
	return ca
}

// disruptionBudget: a voluntary disruption (an eviction, as kubectl drain makes) may take one
// pod, never both.
func disruptionBudget(t *testing.T) {
	ctx := context.Background()
	pods := serverPods(ctx, t)
	if len(pods) != 2 {
		t.Fatalf("%d pods, want 2", len(pods))
	}
	evict := func(name string) error {
		return c.Kube.CoreV1().Pods(namespace).EvictV1(ctx, &policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace}})
	}
	// The disruption controller computes what the budget allows from the pods' readiness.
	if err := harness.Eventually(30*time.Second, func() error {
		pdb, err := c.Kube.PolicyV1().PodDisruptionBudgets(namespace).Get(ctx, release, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if pdb.Status.ExpectedPods != 2 || pdb.Status.DisruptionsAllowed < 1 {
			return fmt.Errorf("the disruption controller has not counted the pods: %+v", pdb.Status)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := evict(pods[0].Name); err != nil {
		t.Fatalf("evicting the first pod: %v", err)
	}
	err := evict(pods[1].Name)
	if !apierrors.IsTooManyRequests(err) {
		t.Errorf("evicting the second pod at once: %v, want 429 (the budget allows one)", err)
	}
	tctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	if err := waitSettled(tctx); err != nil {
		t.Fatal(err)
	}
}

// bothPodsKilled: both servers crash at once. The APIService turns Unavailable and back; a
// namespace deletion started meanwhile completes once the API is back.
func bothPodsKilled(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	if _, err := c.Kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "doomed"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Kube.CoreV1().ConfigMaps("doomed").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "x"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	unavailable := make(chan error, 1)
	go func() { unavailable <- waitAPIService(ctx, false) }()
	pids := serverProcs(t)
	if len(pids) != 2 {
		t.Fatalf("%d server processes, want 2", len(pids))
	}
	t0 := time.Now()
	for _, pid := range pids {
		p, _ := os.FindProcess(pid)
		if err := p.Kill(); err != nil {
			t.Fatal(err)
		}
	}
	if err := <-unavailable; err != nil {
		t.Fatal(err)
	}
	t.Logf("APIService Unavailable %s after both servers were killed", time.Since(t0).Round(100*time.Millisecond))
	if err := c.Kube.CoreV1().Namespaces().Delete(ctx, "doomed", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := waitAPIService(ctx, true); err != nil {
		t.Fatal(err)
	}
	t.Logf("APIService Available again %s after the kill", time.Since(t0).Round(100*time.Millisecond))
	gone := until(ctx, schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}, "", "doomed",
		func(u *unstructured.Unstructured) bool { return u == nil })
	if gone != nil {
		ns, _ := c.Kube.CoreV1().Namespaces().Get(ctx, "doomed", metav1.GetOptions{})
		t.Fatalf("namespace doomed not deleted: %v (status %+v)", gone, ns.Status)
	}
	t.Logf("namespace deletion completed %s after the kill", time.Since(t0).Round(100*time.Millisecond))
	if err := waitSettled(ctx); err != nil {
		t.Fatal(err)
	}
}

// uninstall: helm uninstall removes the APIService, and discovery is clean afterwards.
func uninstall(t *testing.T) {
	ctx := context.Background()
	if out, err := helm("uninstall", release, "--namespace", namespace, "--wait", "--timeout", "2m"); err != nil {
		t.Fatalf("helm uninstall: %v\n%s", err, out)
	}
	if _, err := c.Dyn.Resource(gvrAPIService).Get(ctx, apiServiceName, metav1.GetOptions{}); !notFound(err) {
		t.Errorf("apiservice %s after uninstall: %v, want NotFound", apiServiceName, err)
	}
	for _, args := range [][]string{{"api-resources"}, {"get", "ns"}} {
		out, err := c.Kubectl(args...)
		if err != nil || strings.Contains(out, "unable to retrieve the complete list of server APIs") || strings.Contains(out, "ui.kubestash.com") {
			t.Errorf("kubectl %s after uninstall: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// kustomizeWithCertManager: the other way in, `kubectl apply -k deploy/`, with cert-manager's
// controllers (hack/build-cert-manager.sh) issuing the serving certificate and injecting its CA
// into the APIService. The base names ghcr.io/kubestash/backupview:latest, pulled if not
// present: the same image is tagged so in containerd.
func kustomizeWithCertManager(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	if err := c.CP.StartCertManager(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CP.Ctr(ctx, "images", "tag", "--force", imageRepo+":"+imageTag, imageRepo+":latest"); err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	if out, err := c.Kubectl("apply", "-k", filepath.Join(harness.RepoRoot(), "deploy")); err != nil {
		t.Fatalf("kubectl apply -k deploy/: %v\n%s", err, out)
	}
	if err := waitAPIService(ctx, true); err != nil {
		t.Fatal(err)
	}
	if err := waitSettled(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("kubectl apply -k deploy/ to Available (cert-manager issued and injected the CA): %s", time.Since(t0).Round(100*time.Millisecond))
	secret, err := c.Kube.CoreV1().Secrets(namespace).Get(ctx, "backupview-serving-cert", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if want := base64.StdEncoding.EncodeToString(secret.Data["ca.crt"]); apiServiceCA(ctx, t) != want {
		t.Error("the APIService's caBundle is not the CA of cert-manager's serving certificate")
	}
	if out, err := c.KubectlStdout("", "get", "bcv", "-A", "-o", "name"); err != nil || !strings.Contains(out, "mongodb-backup") {
		t.Errorf("kubectl get bcv -A: %v\n%s", err, out)
	}
	// The APIService first: without its backend it would stall discovery.
	if out, err := c.Kubectl("delete", "apiservice", apiServiceName); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if out, err := c.Kubectl("delete", "-k", filepath.Join(harness.RepoRoot(), "deploy"), "--ignore-not-found", "--wait"); err != nil {
		t.Fatalf("kubectl delete -k deploy/: %v\n%s", err, out)
	}
}
