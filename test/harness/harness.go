// Package harness starts a real control plane for tests: etcd, kube-apiserver and
// kube-controller-manager (built by hack/build-control-plane.sh; every default controller, so
// garbage collection, namespace deletion, ClusterRole aggregation and CronJobs work as in a
// real cluster) with backupview-apiserver registered through an APIService,
// the KubeStash CRDs (upstream from ../shared when present) and, optionally, fixtures.
package harness

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kubestash/backupview/pkg/cron"
	"github.com/kubestash/backupview/pkg/fixtures"
	clientset "github.com/kubestash/backupview/pkg/generated/clientset/versioned"
)

// Enabled reports whether tests that need the control plane should run (`make test` sets
// BACKUPVIEW_INTEGRATION=1).
func Enabled() bool { return os.Getenv("BACKUPVIEW_INTEGRATION") != "" }

// Cluster is one running control plane with backupview.
type Cluster struct {
	Root   string // repository root
	Dir    string // state directory (pki, logs, kubeconfigs)
	Shared string // ../shared, with the upstream CRDs when present
	Ports  []string
	Config *rest.Config
	BV     clientset.Interface
	Kube   kubernetes.Interface
	Dyn    dynamic.Interface
	// noCronJobs: kube-controller-manager runs without its CronJob controller.
	noCronJobs bool
}

// Options choose ports and what to install.
type Options struct {
	// PortOffset is added to the default test ports (etcd 32379/32380, kube-apiserver 36443,
	// kube-controller-manager 40257, backupview 38443) so that suites can run side by side.
	PortOffset int
	// SkipCRDs starts without the KubeStash CRDs.
	SkipCRDs bool
	// SkipServer leaves backupview-apiserver stopped (StartServer starts it).
	SkipServer bool
	// ServerArgs are extra flags for backupview-apiserver.
	ServerArgs string
	// ControllerManagerArgs are extra flags for kube-controller-manager, e.g.
	// "--controllers=*,-cronjob-controller" for a test that must see no view change it did
	// not make itself (a trigger CronJob of the fixtures fires on its schedule otherwise).
	ControllerManagerArgs string
	// Fixtures are files (relative to the repository root) loaded after the server starts.
	Fixtures []string
}

// RepoRoot is the repository root.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "../.."))
}

// Start brings a cluster up in a new temporary directory.
func Start(o Options) (*Cluster, error) {
	c := &Cluster{Root: RepoRoot(), Shared: os.Getenv("BACKUPVIEW_SHARED"),
		noCronJobs: strings.Contains(o.ControllerManagerArgs, "-cronjob-controller")}
	if c.Shared == "" {
		c.Shared = filepath.Join(c.Root, "..", "shared")
	}
	if off := os.Getenv("BACKUPVIEW_IT_PORT_OFFSET"); off != "" {
		var n int
		fmt.Sscan(off, &n)
		o.PortOffset += n
	}
	c.Ports = []string{
		fmt.Sprintf("ETCD_PORT=%d", 32379+o.PortOffset), fmt.Sprintf("ETCD_PEER_PORT=%d", 32380+o.PortOffset),
		fmt.Sprintf("KAS_PORT=%d", 36443+o.PortOffset), fmt.Sprintf("KCM_PORT=%d", 40257+o.PortOffset),
		fmt.Sprintf("BV_PORT=%d", 38443+o.PortOffset),
		"BV_ARGS=" + o.ServerArgs, "KCM_ARGS=" + o.ControllerManagerArgs,
	}
	var err error
	if c.Dir, err = os.MkdirTemp("", "backupview-test-"); err != nil {
		return nil, err
	}
	for _, step := range []string{"up", "register"} {
		if err := c.Run(step); err != nil {
			return c, err
		}
	}
	if c.Config, err = clientcmd.BuildConfigFromFlags("", filepath.Join(c.Dir, "kubeconfig")); err != nil {
		return c, err
	}
	c.Config.QPS, c.Config.Burst = 200, 400
	c.BV = clientset.NewForConfigOrDie(c.Config)
	c.Kube = kubernetes.NewForConfigOrDie(c.Config)
	c.Dyn = dynamic.NewForConfigOrDie(c.Config)
	if !o.SkipCRDs {
		if err := c.InstallCRDs(); err != nil {
			return c, err
		}
	}
	if !o.SkipServer {
		if err := c.StartServer(); err != nil {
			return c, err
		}
	}
	if len(o.Fixtures) > 0 {
		if err := c.Load(o.Fixtures...); err != nil {
			return c, err
		}
	}
	return c, nil
}

// CRDDir is the upstream KubeStash CRDs when ../shared has them, the project's own otherwise.
func (c *Cluster) CRDDir() (dir string, upstream bool) {
	if st, err := os.Stat(filepath.Join(c.Shared, "kubestash-crds")); err == nil && st.IsDir() {
		return filepath.Join(c.Shared, "kubestash-crds"), true
	}
	return filepath.Join(c.Root, "hack", "crds"), false
}

// InstallCRDs installs the KubeStash CRDs and the demo's target CRDs, and waits for them.
func (c *Cluster) InstallCRDs() error {
	crds, upstream := c.CRDDir()
	if !upstream {
		fmt.Println("NOTE: ../shared/kubestash-crds absent: using the project's own CRDs (hack/crds)")
	}
	if out, err := c.Kubectl("apply", "--server-side", "-f", crds, "-f", filepath.Join(c.Root, "hack/demo/target-crds.yaml")); err != nil {
		return fmt.Errorf("installing CRDs: %v\n%s", err, out)
	}
	return c.WaitCRDsEstablished()
}

// WaitCRDsEstablished waits until every CRD is Established. kubectl wait fails at once on a CRD
// that has no status.conditions yet (just created), so that is retried.
func (c *Cluster) WaitCRDsEstablished() error {
	var out string
	var err error
	for attempt := 0; attempt < 20; attempt++ {
		if out, err = c.Kubectl("wait", "--for=condition=Established", "crd", "--all", "--timeout=60s"); err == nil {
			return nil
		}
		time.Sleep(250 * time.Millisecond)
	}
	return fmt.Errorf("waiting for CRDs: %v\n%s", err, out)
}

// StartServer starts backupview-apiserver and waits until the APIService serves.
func (c *Cluster) StartServer() error { return c.Run("start-server") }

// StopServer stops backupview-apiserver.
func (c *Cluster) StopServer() error { return c.Run("stop-server") }

// Load loads fixture files (relative to the repository root), then waits until
// kube-controller-manager's CronJob controller has caught up with the CronJobs (see
// WaitCronJobsSettled), so that a test starts on views that change only when it changes them.
func (c *Cluster) Load(files ...string) error {
	l, err := fixtures.NewLoader(c.Config)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	for _, f := range files {
		data, err := os.ReadFile(filepath.Join(c.Root, f))
		if err != nil {
			return err
		}
		if err := l.LoadFiles(ctx, data); err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
	}
	return c.WaitCronJobsSettled(60 * time.Second)
}

// WaitCronJobsSettled waits until the CronJob controller has nothing to catch up on: every
// CronJob that may start a Job has started its most recent scheduled one (its next run is in
// the future) and lists as active only Jobs that exist. Fixtures carry CronJob statuses from
// another day (a lastScheduleTime in the past, an active Job that is not there), which the
// controller corrects at once, changing the views that show those CronJobs: without this wait
// a test would see those changes as its own. The next scheduled run still changes them.
func (c *Cluster) WaitCronJobsSettled(timeout time.Duration) error {
	if c.noCronJobs {
		return nil
	}
	ctx := context.Background()
	return Eventually(timeout, func() error {
		cjs, err := c.Kube.BatchV1().CronJobs("").List(ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		jobs, err := c.Kube.BatchV1().Jobs("").List(ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		exists := map[types.UID]bool{}
		for _, j := range jobs.Items {
			exists[j.UID] = true
		}
		now := time.Now()
		for _, cj := range cjs.Items {
			for _, a := range cj.Status.Active {
				if !exists[a.UID] {
					return fmt.Errorf("CronJob %s/%s lists Job %s as active, which does not exist", cj.Namespace, cj.Name, a.Name)
				}
			}
			if cj.Spec.Suspend != nil && *cj.Spec.Suspend {
				continue
			}
			sched, err := cron.Parse(cj.Spec.Schedule)
			if err != nil || cj.Spec.TimeZone != nil {
				continue // the controller does not run it either, or not in this time zone
			}
			from := cj.CreationTimestamp.Time
			if cj.Status.LastScheduleTime != nil {
				from = cj.Status.LastScheduleTime.Time
			}
			missed := sched.Next(from.In(time.Local)) // kube-controller-manager's zone is ours
			if missed.After(now) {
				continue
			}
			if cj.Spec.ConcurrencyPolicy == batchv1.ForbidConcurrent && len(cj.Status.Active) > 0 {
				continue // it waits for the active Job
			}
			if d := cj.Spec.StartingDeadlineSeconds; d != nil {
				last := missed
				for i := 0; i < 10000; i++ {
					n := sched.Next(last)
					if n.After(now) {
						break
					}
					last = n
				}
				if now.Sub(last) > time.Duration(*d)*time.Second {
					continue // too late: it skips that run
				}
			}
			return fmt.Errorf("CronJob %s/%s has not started its run of %s yet", cj.Namespace, cj.Name, missed.Format(time.RFC3339))
		}
		return nil
	})
}

// Run runs a hack/cluster.sh command on this cluster.
func (c *Cluster) Run(args ...string) error {
	cmd := exec.Command(filepath.Join(c.Root, "hack", "cluster.sh"), append([]string{args[0], c.Dir}, args[1:]...)...)
	cmd.Env = append(os.Environ(), c.Ports...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("cluster.sh %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

// Stop stops everything and deletes the state directory. On failure it prints the tails of
// backupview's and kube-controller-manager's logs first.
func (c *Cluster) Stop(failed bool) {
	if c == nil || c.Dir == "" {
		return
	}
	if failed {
		for _, l := range []struct {
			name  string
			lines string
		}{{"backupview", "60"}, {"kube-controller-manager", "20"}} {
			fmt.Printf("---- %s log (tail) ----\n", l.name)
			out, _ := exec.Command("tail", "-n", l.lines, filepath.Join(c.Dir, "logs", l.name+".log")).CombinedOutput()
			fmt.Println(string(out))
		}
	}
	_ = c.Run("down", "--purge")
}

// Kubeconfig is the admin kubeconfig; "alice" gives the unprivileged user's.
func (c *Cluster) Kubeconfig(user string) string {
	if user == "alice" {
		return filepath.Join(c.Dir, "kubeconfig-alice")
	}
	return filepath.Join(c.Dir, "kubeconfig")
}

// MintCert makes a client certificate NAME.crt/.key in DIR/pki, signed by the CA caName
// ("ca": the cluster's client CA; "front-proxy-ca": the aggregator's), with CN and O.
func (c *Cluster) MintCert(caName, name, cn string, orgs ...string) error {
	pki := filepath.Join(c.Dir, "pki")
	caPEM, err := os.ReadFile(filepath.Join(pki, caName+".crt"))
	if err != nil {
		return err
	}
	keyPEM, err := os.ReadFile(filepath.Join(pki, caName+".key"))
	if err != nil {
		return err
	}
	cb, _ := pem.Decode(caPEM)
	if cb == nil {
		return fmt.Errorf("%s.crt: no PEM block", caName)
	}
	ca, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return err
	}
	kb, _ := pem.Decode(keyPEM)
	if kb == nil {
		return fmt.Errorf("%s.key: no PEM block", caName)
	}
	caKey, err := x509.ParsePKCS8PrivateKey(kb.Bytes)
	if err != nil {
		return err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: cn, Organization: orgs},
		NotBefore:    time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey.(crypto.Signer))
	if err != nil {
		return err
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(pki, name+".crt"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(pki, name+".key"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600)
}

// UserKubeconfig writes DIR/kubeconfig-CERT, for the client certificate CERT in DIR/pki
// (see MintCert), and returns its path.
func (c *Cluster) UserKubeconfig(cert string) (string, error) {
	pki := filepath.Join(c.Dir, "pki")
	kc := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: local
  cluster: {server: %q, certificate-authority: %q}
users:
- name: %s
  user: {client-certificate: %q, client-key: %q}
contexts:
- name: ctx
  context: {cluster: local, user: %s}
current-context: ctx
`, c.Config.Host, filepath.Join(pki, "ca.crt"), cert, filepath.Join(pki, cert+".crt"), filepath.Join(pki, cert+".key"), cert)
	f := filepath.Join(c.Dir, "kubeconfig-"+cert)
	return f, os.WriteFile(f, []byte(kc), 0o600)
}

// Kubectl runs the built kubectl as the admin; the output mixes stdout and stderr.
func (c *Cluster) Kubectl(args ...string) (string, error) {
	return c.KubectlAs(c.Kubeconfig(""), args...)
}

// KubectlAs runs the built kubectl with a kubeconfig.
func (c *Cluster) KubectlAs(kubeconfig string, args ...string) (string, error) {
	cmd := exec.Command(filepath.Join(c.Root, "_output", "bin", "kubectl"), append([]string{"--kubeconfig", kubeconfig}, args...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// KubectlStdout runs kubectl as the admin and returns only standard output (warnings go to
// standard error); on failure both.
func (c *Cluster) KubectlStdout(stdin string, args ...string) (string, error) {
	return c.KubectlStdoutAs(c.Kubeconfig(""), stdin, args...)
}

// KubectlStdoutAs is KubectlStdout with a kubeconfig.
func (c *Cluster) KubectlStdoutAs(kubeconfig, stdin string, args ...string) (string, error) {
	cmd := exec.Command(filepath.Join(c.Root, "_output", "bin", "kubectl"), append([]string{"--kubeconfig", kubeconfig}, args...)...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	if err := cmd.Run(); err != nil {
		return out.String() + errOut.String(), err
	}
	return out.String(), nil
}

// Eventually polls f every 50 ms until it returns nil or the timeout passes.
func Eventually(timeout time.Duration, f func() error) error {
	deadline := time.Now().Add(timeout)
	var err error
	for time.Now().Before(deadline) {
		if err = f(); err == nil {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("not within %s: %w", timeout, err)
}
