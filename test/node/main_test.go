// Package node installs backupview as a cluster admin would, from its image and Helm chart, on
// a real node (test/controlplane with Config.Node: containerd, kubelet, kube-proxy,
// kube-scheduler), and breaks it as production does: a pod deleted, a rolling update, both
// pods killed, an upgrade, an uninstall, each under load from real clients. `make test-node`
// runs it (docs/reliability.md, promises 22-29).
package node

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/kubestash/backupview/test/harness"
)

const (
	release   = "backupview"
	namespace = "backupview"
	imageRepo = "ghcr.io/kubestash/backupview"
	// nextTag is the same image under another tag: a rolling update changes the pod template.
	nextTag = "e2e-next"
)

var (
	c        *harness.Cluster
	imageTag string
	// times measured in TestMain, printed by TestInstall.
	nodeUp, installed time.Duration
)

func enabled() bool { return os.Getenv("BACKUPVIEW_NODE_E2E") != "" }

func TestMain(m *testing.M) {
	if !enabled() {
		fmt.Println("node e2e tests skipped: they run a real kubelet and containerd as root; run `make test-node` (sets BACKUPVIEW_NODE_E2E=1)")
		os.Exit(m.Run())
	}
	if err := setup(); err != nil {
		fmt.Println("setup failed:", err)
		if c != nil && c.CP != nil {
			dumpLogs()
		}
		c.Stop(true)
		os.Exit(1)
	}
	code := m.Run()
	if code != 0 {
		dumpLogs()
	}
	t0 := time.Now()
	c.Stop(code != 0)
	fmt.Printf("node and control plane torn down in %s\n", time.Since(t0).Round(100*time.Millisecond))
	os.Exit(code)
}

func setup() error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("a node needs root (containerd, the kubelet, kube-proxy and CNI change the host)")
	}
	root := harness.RepoRoot()
	for _, f := range []string{"_output/bin/helm", "_output/bin/cert-manager-controller", imageArchive,
		"_output/image/digest", "_output/image/pause-linux-" + runtime.GOARCH + ".tar"} {
		if _, err := os.Stat(filepath.Join(root, f)); err != nil {
			return fmt.Errorf("%s is missing: `make test-node` builds it", f)
		}
	}
	chart, err := newest(filepath.Join(root, "_output", "release", "backupview-*.tgz"))
	if err != nil {
		return fmt.Errorf("no packaged chart (%v): `make test-node` packages it", err)
	}
	b, err := os.ReadFile(filepath.Join(root, "_output", "image", "digest"))
	if err != nil {
		return err
	}
	digest := strings.TrimSpace(string(b))
	t0 := time.Now()
	if c, err = harness.Start(harness.Options{Node: true}); err != nil {
		return err
	}
	nodeUp = time.Since(t0)
	if err := c.Load("hack/demo/samples.yaml"); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// The OCI archive keeps the index digest the packaged chart pins (--local: no unpacking
	// through a transfer service that would want to pull the other platform).
	if _, err := c.CP.Ctr(ctx, "images", "import", "--local", filepath.Join(root, imageArchive)); err != nil {
		return err
	}
	if imageTag, err = importedTag(ctx); err != nil {
		return err
	}
	// A pull records the image under its digest too; an import does not, and the kubelet
	// finds a pinned image (repo@sha256:...) only by that name.
	for _, ref := range []string{imageRepo + "@" + digest, imageRepo + ":" + nextTag} {
		if _, err := c.CP.Ctr(ctx, "images", "tag", imageRepo+":"+imageTag, ref); err != nil {
			return err
		}
	}
	t0 = time.Now()
	if out, err := helm("install", release, chart, "--namespace", namespace, "--create-namespace",
		"--set", "tls.type=helm", "--set", "image.pullPolicy=Never", "--wait", "--timeout", "3m"); err != nil {
		return fmt.Errorf("helm install: %w\n%s", err, out)
	}
	img, err := c.Kubectl("get", "deploy", "-n", namespace, release, "-o", "jsonpath={.spec.template.spec.containers[0].image}")
	if err != nil || img != imageRepo+"@"+digest {
		return fmt.Errorf("the packaged chart runs %q (%v), want %s@%s: the digest make image wrote", img, err, imageRepo, digest)
	}
	if err := waitAPIService(ctx, true); err != nil {
		return err
	}
	installed = time.Since(t0)
	return nil
}

// imageArchive is the OCI layout of `make image` (both platforms) as one tar.
const imageArchive = "_output/image/backupview-apiserver-oci.tar"

func chartDir() string { return filepath.Join(harness.RepoRoot(), "deploy", "helm", "backupview") }

// importedTag is the tag `make image` gave the image.
func importedTag(ctx context.Context) (string, error) {
	out, err := c.CP.Ctr(ctx, "images", "ls", "-q")
	if err != nil {
		return "", err
	}
	for _, ref := range strings.Fields(out) {
		if tag, ok := strings.CutPrefix(ref, imageRepo+":"); ok && tag != nextTag {
			return tag, nil
		}
	}
	return "", fmt.Errorf("no %s image in the node's runtime: %s", imageRepo, out)
}

// helm runs the built Helm CLI as the cluster admin.
func helm(args ...string) (string, error) {
	cmd := exec.Command(filepath.Join(harness.RepoRoot(), "_output", "bin", "helm"),
		append(args, "--kubeconfig", c.Kubeconfig(""))...)
	cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+filepath.Join(c.Dir, "helm", "cache"),
		"HELM_CONFIG_HOME="+filepath.Join(c.Dir, "helm", "config"), "HELM_DATA_HOME="+filepath.Join(c.Dir, "helm", "data"))
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func dumpLogs() {
	for _, args := range [][]string{
		{"get", "pods,deploy,endpointslices,pdb", "-n", namespace, "-o", "wide"},
		{"get", "apiservice", "v1alpha1.ui.kubestash.com", "-o", "yaml"},
		{"logs", "-n", namespace, "-l", "app.kubernetes.io/name=backupview", "--tail=40", "--prefix"},
		{"get", "events", "-n", namespace},
	} {
		out, _ := c.Kubectl(args...)
		fmt.Printf("---- kubectl %s ----\n%s\n", strings.Join(args, " "), out)
	}
}

// newest is the most recently written file that matches pattern: `make chart` packages the
// chart under the version of each build.
func newest(pattern string) (string, error) {
	files, err := filepath.Glob(pattern)
	if err != nil || len(files) == 0 {
		return "", fmt.Errorf("nothing matches %s", pattern)
	}
	best, bestTime := "", time.Time{}
	for _, f := range files {
		if st, err := os.Stat(f); err == nil && st.ModTime().After(bestTime) {
			best, bestTime = f, st.ModTime()
		}
	}
	return best, nil
}
