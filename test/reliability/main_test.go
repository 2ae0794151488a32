// Package reliability proves backupview's reliability and security promises against the real
// control plane (docs/reliability.md lists each promise and the test that holds it): startup
// against 2,000 BackupConfigurations, kube-apiserver restarts, missing CRDs, odd source
// objects, bad preview input, load, access control and two replicas.
//
// The tests need the control plane built by hack/build-control-plane.sh and the server built
// by `make build`; they run when BACKUPVIEW_INTEGRATION=1 (`make test`, `make test-faults`).
// Each test that needs special state gets its own cluster (on ports from the kernel); the
// tests that do not disturb each other share one.
package reliability

import (
	"fmt"
	"os"
	"sync"
	"testing"

	"github.com/kubestash/backupview/test/harness"
)

func TestMain(m *testing.M) {
	if !harness.Enabled() {
		fmt.Println("reliability tests skipped: they need the control plane; run `make test-faults` (sets BACKUPVIEW_INTEGRATION=1)")
		os.Exit(m.Run())
	}
	code := m.Run()
	sharedMu.Lock()
	if sharedCluster != nil {
		sharedCluster.Stop(code != 0)
	}
	sharedMu.Unlock()
	os.Exit(code)
}

func need(t *testing.T) {
	t.Helper()
	if !harness.Enabled() {
		t.Skip("reliability test: run `make test-faults`")
	}
}

var (
	sharedMu      sync.Mutex
	sharedCluster *harness.Cluster
	sharedErr     error
)

// shared is the cluster of the tests that leave no trace others could trip over (odd
// objects, bad input, access): loose KubeStash CRDs that store any shape, the demo's target
// CRDs and samples, backupview. It is started by the first test that needs it and stopped by
// TestMain.
func shared(t *testing.T) *harness.Cluster {
	t.Helper()
	sharedMu.Lock()
	defer sharedMu.Unlock()
	if sharedCluster == nil && sharedErr == nil {
		c, err := harness.Start(harness.Options{SkipCRDs: true, SkipServer: true})
		sharedCluster = c
		if err == nil {
			err = installLooseCRDs(c, true)
		}
		if err == nil {
			err = c.StartServer()
		}
		if err == nil {
			err = c.Load("hack/demo/samples.yaml")
		}
		sharedErr = err
	}
	if sharedErr != nil {
		t.Fatalf("shared cluster: %v", sharedErr)
	}
	return sharedCluster
}

// startCluster starts a cluster for one test and stops it when the test ends.
func startCluster(t *testing.T, o harness.Options) *harness.Cluster {
	t.Helper()
	c, err := harness.Start(o)
	t.Cleanup(func() { c.Stop(t.Failed()) })
	if err != nil {
		t.Fatal(err)
	}
	return c
}
