// Package integration runs backupview against a real kube-apiserver and etcd (built by
// hack/build-control-plane.sh), registered through a real APIService, and drives it with the
// built kubectl and the generated client-go clientset. `make test` runs it.
package integration

import (
	"fmt"
	"os"
	"testing"

	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	clientset "github.com/kubestash/backupview/pkg/generated/clientset/versioned"
	"github.com/kubestash/backupview/test/harness"
)

var (
	c      *harness.Cluster
	root   string
	dir    string
	shared string
	cfg    *rest.Config
	bv     clientset.Interface
	kube   kubernetes.Interface
	dyn    dynamic.Interface
)

func TestMain(m *testing.M) {
	if !harness.Enabled() {
		fmt.Println("integration tests skipped: they need the control plane; run `make test` (sets BACKUPVIEW_INTEGRATION=1)")
		os.Exit(m.Run())
	}
	var err error
	c, err = harness.Start(harness.Options{Fixtures: []string{"hack/demo/samples.yaml"}})
	if err != nil {
		fmt.Println("setup failed:", err)
		c.Stop(true)
		os.Exit(1)
	}
	root, dir, shared, cfg, bv, kube, dyn = c.Root, c.Dir, c.Shared, c.Config, c.BV, c.Kube, c.Dyn
	code := m.Run()
	c.Stop(code != 0)
	os.Exit(code)
}

func kubectl(args ...string) (string, error) { return c.Kubectl(args...) }

func kubectlStdout(args ...string) (string, error) { return c.KubectlStdout("", args...) }

func kubectlAs(kubeconfig string, args ...string) (string, error) {
	return c.KubectlAs(kubeconfig, args...)
}

func need(t *testing.T) {
	t.Helper()
	if !harness.Enabled() {
		t.Skip("integration test: run `make test`")
	}
}
