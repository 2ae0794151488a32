// Package harness starts a real control plane for tests (test/controlplane: etcd,
// kube-apiserver and kube-controller-manager with every default controller, so garbage
// collection, namespace deletion, ClusterRole aggregation and CronJobs work as in a real
// cluster) with backupview-apiserver registered through an APIService, the KubeStash CRDs
// (upstream from ../shared when present) and, optionally, fixtures.
package harness

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	ui "github.com/kubestash/backupview/pkg/apis/ui/v1alpha1"
	"github.com/kubestash/backupview/pkg/cron"
	clientset "github.com/kubestash/backupview/pkg/generated/clientset/versioned"
	"github.com/kubestash/backupview/test/controlplane"
	"github.com/kubestash/backupview/test/fixtures"
)

// Enabled reports whether tests that need the control plane should run (`make test` sets
// BACKUPVIEW_INTEGRATION=1).
func Enabled() bool { return os.Getenv("BACKUPVIEW_INTEGRATION") != "" }

// Cluster is one running control plane with backupview.
type Cluster struct {
	Root   string // repository root
	Dir    string // state directory (pki, logs, kubeconfigs)
	Shared string // ../shared, with the upstream CRDs when present
	CP     *controlplane.Cluster
	Ports  controlplane.Ports
	Config *rest.Config
	BV     clientset.Interface
	Kube   kubernetes.Interface
	Dyn    dynamic.Interface
}

// Options choose what to run and install.
type Options struct {
	// SkipCRDs starts without the KubeStash CRDs.
	SkipCRDs bool
	// SkipServer leaves backupview-apiserver stopped (StartServer starts it).
	SkipServer bool
	// ServerArgs are extra flags for backupview-apiserver.
	ServerArgs []string
	// APIServerArgs are extra flags for kube-apiserver.
	APIServerArgs []string
	// NoTriggers runs kube-controller-manager without its CronJob and Job controllers
	// (controlplane.NoTriggerControllers): for a cluster holding a whole generated scale, or a
	// test that must see no view change it did not make itself.
	NoTriggers bool
	// Fixtures are files (relative to the repository root) loaded after the server starts.
	Fixtures []string
	// Node runs a real node too (controlplane.Config.Node) and leaves backupview to be
	// installed on it: no host-process server, no APIService. Implies NoTriggers: a fixture's
	// CronJob would otherwise start Pods of images that nothing can pull.
	Node bool
}

// RepoRoot is the repository root.
func RepoRoot() string { return controlplane.RepoRoot() }

// Start brings a cluster up in a new temporary directory, on ports from the kernel.
func Start(o Options) (*Cluster, error) {
	c := &Cluster{Root: RepoRoot(), Shared: os.Getenv("BACKUPVIEW_SHARED")}
	if c.Shared == "" {
		c.Shared = filepath.Join(c.Root, "..", "shared")
	}
	var err error
	if c.Dir, err = os.MkdirTemp("", "backupview-test-"); err != nil {
		return nil, err
	}
	cfg := controlplane.Config{Dir: c.Dir, ServerBinary: os.Getenv("BV_BIN"), ServerArgs: o.ServerArgs,
		APIServerArgs: o.APIServerArgs, Node: o.Node}
	if o.Node {
		o.NoTriggers, o.SkipServer = true, true
	}
	if o.NoTriggers {
		cfg.Controllers = controlplane.NoTriggerControllers
	}
	if c.CP, err = controlplane.Open(cfg); err != nil {
		return c, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := c.CP.Up(ctx); err != nil {
		return c, err
	}
	if !o.Node {
		if err := c.CP.Register(ctx); err != nil {
			return c, err
		}
	}
	c.Ports = c.CP.Ports()
	if c.Config, err = c.CP.RESTConfig(); err != nil {
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
	files, upstream := controlplane.CRDFiles(c.Root, c.Shared)
	return files[0], upstream
}

// InstallCRDs installs the KubeStash CRDs and the demo's target CRDs, and waits for them.
func (c *Cluster) InstallCRDs() error {
	files, upstream := controlplane.CRDFiles(c.Root, c.Shared)
	if !upstream {
		fmt.Println("NOTE: ../shared/kubestash-crds absent: using the project's own CRDs (hack/crds)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	return c.CP.InstallCRDs(ctx, files...)
}

// WaitCRDsEstablished waits until every CRD is Established.
func (c *Cluster) WaitCRDsEstablished() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	return c.CP.WaitCRDsEstablished(ctx)
}

// StartServer starts backupview-apiserver (with extra flags after the configured ones) and
// waits until the APIService serves.
func (c *Cluster) StartServer(extra ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	_, err := c.CP.StartServer(ctx, extra...)
	c.Ports = c.CP.Ports()
	return err
}

// StopServer stops backupview-apiserver.
func (c *Cluster) StopServer() error { return c.CP.StopServer() }

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
	if !c.CP.RunsCronJobs() {
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

// Stop stops everything and deletes the state directory. On failure it prints the tails of
// backupview's and kube-controller-manager's logs first.
func (c *Cluster) Stop(failed bool) {
	if c == nil || c.CP == nil {
		return
	}
	if failed {
		for _, l := range []struct {
			name  string
			lines string
		}{{controlplane.Server, "60"}, {controlplane.ControllerManager, "20"}} {
			fmt.Printf("---- %s log (tail) ----\n", l.name)
			out, _ := exec.Command("tail", "-n", l.lines, c.CP.Log(l.name)).CombinedOutput()
			fmt.Println(string(out))
		}
	}
	if err := c.CP.Down(true); err != nil {
		fmt.Println("stopping the cluster:", err)
	}
}

// Kubeconfig is the admin kubeconfig; "alice" gives the unprivileged user's.
func (c *Cluster) Kubeconfig(user string) string { return c.CP.Kubeconfig(user) }

// MintCert makes a client certificate NAME.crt/.key in DIR/pki, signed by the CA caName
// ("ca": the cluster's client CA; "front-proxy-ca": the aggregator's), with CN and O.
func (c *Cluster) MintCert(caName, name, cn string, orgs ...string) error {
	return c.CP.MintCert(caName, name, cn, orgs...)
}

// UserKubeconfig writes DIR/kubeconfig-CERT, for the client certificate CERT in DIR/pki
// (see MintCert), and returns its path.
func (c *Cluster) UserKubeconfig(cert string) (string, error) { return c.CP.WriteKubeconfig(cert) }

// Kubectl runs the built kubectl as the admin; the output mixes stdout and stderr.
func (c *Cluster) Kubectl(args ...string) (string, error) {
	return c.KubectlAs(c.Kubeconfig(""), args...)
}

// KubectlAs runs the built kubectl with a kubeconfig.
func (c *Cluster) KubectlAs(kubeconfig string, args ...string) (string, error) {
	cmd := exec.Command(c.CP.Kubectl(), append([]string{"--kubeconfig", kubeconfig}, args...)...)
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
	cmd := exec.Command(c.CP.Kubectl(), append([]string{"--kubeconfig", kubeconfig}, args...)...)
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

// TableHealth is the Health cell of the server's Table for one view: what kubectl get shows.
func (c *Cluster) TableHealth(ns, name string) (string, error) {
	raw, err := c.BV.UiV1alpha1().RESTClient().Get().Namespace(ns).Resource(ui.ViewsResource.Resource).Name(name).
		SetHeader("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io").DoRaw(context.Background())
	if err != nil {
		return "", err
	}
	var tbl metav1.Table
	if err := json.Unmarshal(raw, &tbl); err != nil {
		return "", err
	}
	for i, col := range tbl.ColumnDefinitions {
		if col.Name == "Health" && len(tbl.Rows) == 1 {
			return fmt.Sprint(tbl.Rows[0].Cells[i]), nil
		}
	}
	return "", fmt.Errorf("no Health cell in %s", raw)
}
