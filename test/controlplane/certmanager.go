package controlplane

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
)

// cert-manager's components (hack/build-cert-manager.sh builds them into BinDir), by the
// names of their log files. They run only when a test asks (StartCertManager): deploy/ needs
// them for its serving certificate and the APIService's caBundle.
const (
	CertManagerController = "cert-manager-controller"
	CertManagerCAInjector = "cert-manager-cainjector"
)

// CertManagerVersion is the cert-manager that hack/build-cert-manager.sh builds by default;
// CERT_MANAGER_VERSION overrides both.
const CertManagerVersion = "v1.21.2"

// CertManagerCRDs is the file of cert-manager's CRDs that hack/build-cert-manager.sh keeps in
// its cache beside the binaries (they come from the module, not from the repository).
func CertManagerCRDs() string {
	v := os.Getenv("CERT_MANAGER_VERSION")
	if v == "" {
		v = CertManagerVersion
	}
	cache := os.Getenv("BACKUPVIEW_CACHE")
	if cache == "" {
		home, _ := os.UserHomeDir()
		cache = filepath.Join(home, ".cache", "backupview")
	}
	return filepath.Join(cache, "bin", "cert-manager-"+v, "crds.yaml")
}

// StartCertManager installs cert-manager's CRDs, waits until they are Established, and starts
// its controller and cainjector (unless they run) as the admin, cluster-wide, without leader
// election; Down stops them. The CRDs come first: the cainjector watches Certificates from
// the start. It does not wait for them to act (they serve no health endpoint): wait on what
// they make, a Certificate's Ready condition or an injected caBundle. The webhook is not run:
// nothing registers it, so the API server does not call it.
func (c *Cluster) StartCertManager(ctx context.Context) error {
	if err := c.needBins(CertManagerController, CertManagerCAInjector); err != nil {
		return fmt.Errorf("%w (hack/build-cert-manager.sh builds it)", err)
	}
	crds := CertManagerCRDs()
	if _, err := os.Stat(crds); err != nil {
		return fmt.Errorf("cert-manager's CRDs are missing: run hack/build-cert-manager.sh: %w", err)
	}
	if err := c.InstallCRDs(ctx, crds); err != nil {
		return err
	}
	return c.locked(func() error {
		kc := "--kubeconfig=" + c.Kubeconfig("")
		for _, p := range []struct {
			name string
			args []string
		}{
			{CertManagerController, []string{kc, "--leader-elect=false", "--namespace="}},
			{CertManagerCAInjector, []string{kc, "--leader-elect=false"}},
		} {
			if c.running(p.name) {
				continue
			}
			if err := c.spawn(p.name, p.args); err != nil {
				return err
			}
			c.cfg.Logf("started %s (log %s)", p.name, c.Log(p.name))
		}
		return nil
	})
}
