// Package integration runs backupview against a real kube-apiserver and etcd (built by
// hack/build-control-plane.sh), registered through a real APIService, and drives it with the
// built kubectl and the generated client-go clientset. `make test` runs it.
package integration

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kubestash/backupview/pkg/fixtures"
	clientset "github.com/kubestash/backupview/pkg/generated/clientset/versioned"
)

var (
	root    string // repository root
	dir     string // cluster state directory
	shared  string // ../shared, with the upstream CRDs, when present
	cfg     *rest.Config
	bv      clientset.Interface
	kube    kubernetes.Interface
	dyn     dynamic.Interface
	enabled = os.Getenv("BACKUPVIEW_INTEGRATION") != ""
)

// The test cluster uses its own ports so it can run beside `make demo`;
// BACKUPVIEW_IT_PORT_OFFSET moves them (e.g. 100) to run two test suites at once.
var ports = func() []string {
	off := 0
	fmt.Sscan(os.Getenv("BACKUPVIEW_IT_PORT_OFFSET"), &off)
	return []string{
		fmt.Sprintf("ETCD_PORT=%d", 32379+off), fmt.Sprintf("ETCD_PEER_PORT=%d", 32380+off),
		fmt.Sprintf("KAS_PORT=%d", 36443+off), fmt.Sprintf("BV_PORT=%d", 38443+off),
	}
}()

func TestMain(m *testing.M) {
	if !enabled {
		fmt.Println("integration tests skipped: they need the control plane; run `make test` (sets BACKUPVIEW_INTEGRATION=1)")
		os.Exit(m.Run())
	}
	_, file, _, _ := runtime.Caller(0)
	root = filepath.Clean(filepath.Join(filepath.Dir(file), "../.."))
	shared = os.Getenv("BACKUPVIEW_SHARED")
	if shared == "" {
		shared = filepath.Join(root, "..", "shared")
	}
	var err error
	dir, err = os.MkdirTemp("", "backupview-it-")
	if err != nil {
		panic(err)
	}
	code := 1
	defer func() {
		if code != 0 {
			fmt.Println("---- backupview log (tail) ----")
			out, _ := exec.Command("tail", "-n", "60", filepath.Join(dir, "logs", "backupview.log")).CombinedOutput()
			fmt.Println(string(out))
		}
		_ = cluster("down", dir, "--purge")
		os.Exit(code)
	}()
	if err := setup(); err != nil {
		fmt.Println("setup failed:", err)
		return
	}
	code = m.Run()
}

func setup() error {
	for _, step := range [][]string{{"up", dir}, {"register", dir}} {
		if err := cluster(step...); err != nil {
			return err
		}
	}
	var err error
	if cfg, err = clientcmd.BuildConfigFromFlags("", filepath.Join(dir, "kubeconfig")); err != nil {
		return err
	}
	bv = clientset.NewForConfigOrDie(cfg)
	kube = kubernetes.NewForConfigOrDie(cfg)
	dyn = dynamic.NewForConfigOrDie(cfg)
	crds := filepath.Join(root, "hack", "crds")
	if st, err := os.Stat(filepath.Join(shared, "kubestash-crds")); err == nil && st.IsDir() {
		crds = filepath.Join(shared, "kubestash-crds") // prove the views against the real schema
	} else {
		fmt.Println("NOTE: ../shared/kubestash-crds absent: using the project's own CRDs (hack/crds)")
	}
	if out, err := kubectl("apply", "--server-side", "-f", crds, "-f", filepath.Join(root, "hack/demo/target-crds.yaml")); err != nil {
		return fmt.Errorf("installing CRDs: %v\n%s", err, out)
	}
	if out, err := kubectl("wait", "--for=condition=Established", "crd", "--all", "--timeout=60s"); err != nil {
		return fmt.Errorf("waiting for CRDs: %v\n%s", err, out)
	}
	if err := cluster("start-server", dir); err != nil {
		return err
	}
	return loadFixtures("hack/demo/samples.yaml")
}

func loadFixtures(files ...string) error {
	l, err := fixtures.NewLoader(cfg)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	for _, f := range files {
		data, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			return err
		}
		if err := l.LoadFiles(ctx, data); err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
	}
	return nil
}

func cluster(args ...string) error {
	cmd := exec.Command(filepath.Join(root, "hack", "cluster.sh"), args...)
	cmd.Env = append(os.Environ(), ports...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("cluster.sh %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

// kubectl runs the built kubectl as the admin.
func kubectl(args ...string) (string, error) {
	return kubectlAs(filepath.Join(dir, "kubeconfig"), args...)
}

// kubectlStdout runs the built kubectl as the admin and returns only its standard output
// (warnings go to standard error).
func kubectlStdout(args ...string) (string, error) {
	cmd := exec.Command(filepath.Join(root, "_output", "bin", "kubectl"), append([]string{"--kubeconfig", filepath.Join(dir, "kubeconfig")}, args...)...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return out.String() + errOut.String(), err
	}
	return out.String(), nil
}

func kubectlAs(kubeconfig string, args ...string) (string, error) {
	cmd := exec.Command(filepath.Join(root, "_output", "bin", "kubectl"), append([]string{"--kubeconfig", kubeconfig}, args...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

func need(t *testing.T) {
	t.Helper()
	if !enabled {
		t.Skip("integration test: run `make test`")
	}
}

// eventually polls f every 50 ms until it returns nil or the timeout passes.
func eventually(t *testing.T, timeout time.Duration, f func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var err error
	for time.Now().Before(deadline) {
		if err = f(); err == nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("not within %s: %v", timeout, err)
}
