// Package controlplane owns the local control plane that the demo, the tests and the scale
// benchmark run on: etcd, kube-apiserver and kube-controller-manager on loopback (built by
// hack/build-control-plane.sh), and backupview-apiserver aggregated into them through an
// APIService -> ExternalName Service -> localhost:<port>. kube-controller-manager runs every
// default controller (garbage collector, namespace, ClusterRole aggregation, CronJob, Job,
// service accounts and tokens) as in a real cluster; there are no nodes, so Pods stay Pending.
//
// Everything lives in one state directory: pki/, logs/ (one file per process), the
// kubeconfigs and state.json (ports and the processes started, so that a later command, in
// this process or another, finds them). Ports come from the kernel the first time and are
// kept. Each process runs in a session and process group of its own, so stopping it stops
// its children too. cmd/backupview-cluster is the command line over this package
// (hack/cluster.sh runs it).
package controlplane

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"
)

// The components, by the names of their log files.
const (
	Etcd              = "etcd"
	APIServer         = "kube-apiserver"
	ControllerManager = "kube-controller-manager"
	Server            = "backupview"
)

// APIService and the objects that route it to the server.
const (
	APIServiceName   = "v1alpha1.ui.kubestash.com"
	ServerNamespace  = "backupview-system"
	ServerService    = "backupview"
	APIServiceGroup  = "ui.kubestash.com"
	APIServiceVer    = "v1alpha1"
	aggregatedPrefix = "/apis/" + APIServiceGroup + "/" + APIServiceVer
)

// NoTriggerControllers are kube-controller-manager's controllers for a cluster that holds
// generated KubeStash objects: every controller but CronJob and Job. The generated CronJobs
// last fired long ago, so the CronJob controller would start a Job for each (with Pods that
// nobody runs: there is no kubelet).
var NoTriggerControllers = []string{"*", "-cronjob-controller", "-job-controller"}

// Ports are the loopback ports of one cluster; zero means "ask the kernel".
type Ports struct {
	Etcd              int `json:"etcd"`
	EtcdPeer          int `json:"etcdPeer"`
	APIServer         int `json:"kubeAPIServer"`
	ControllerManager int `json:"kubeControllerManager"`
	Server            int `json:"backupview"`
	// A node's (Config.Node): always from the kernel.
	Scheduler      int `json:"kubeScheduler,omitempty"`
	Kubelet        int `json:"kubelet,omitempty"`
	KubeletHealthz int `json:"kubeletHealthz,omitempty"`
	ProxyHealthz   int `json:"kubeProxyHealthz,omitempty"`
	ProxyMetrics   int `json:"kubeProxyMetrics,omitempty"`
}

// Config is what a cluster runs with. Only Dir is required.
type Config struct {
	// Dir is the state directory (created if missing).
	Dir string
	// BinDir holds etcd, kube-apiserver, kube-controller-manager and kubectl (default:
	// _output/bin of the repository).
	BinDir string
	// ServerBinary is the backupview-apiserver to run (default: BinDir's).
	ServerBinary string
	// Ports: a zero port is taken from the state directory, or else from the kernel.
	Ports Ports
	// Extra flags, appended to the ones this package sets (a later flag wins).
	EtcdArgs, APIServerArgs, ControllerManagerArgs, ServerArgs []string
	// Node also runs a real node: containerd, kube-scheduler, the kubelet and kube-proxy (built
	// by hack/build-node.sh), and makes kube-apiserver reachable from its pods. Kept in the
	// state directory: a cluster made with a node keeps it. One such cluster per machine: the
	// kubelet and the CNI plugins use fixed host paths.
	Node bool
	// Controllers is kube-controller-manager's --controllers (default: all, "*").
	Controllers []string
	// ReadyTimeout bounds each wait for a process to be ready (default 60 s).
	ReadyTimeout time.Duration
	// ReadyInterval is how often a starting process's health endpoint is asked (default
	// 100 ms; the benchmark sets 10 ms, its measurement's resolution).
	ReadyInterval time.Duration
	// StopGrace is how long a process has after SIGTERM before SIGKILL (default 10 s).
	StopGrace time.Duration
	// Logf reports progress (default: none).
	Logf func(format string, args ...any)
}

// Cluster is one control plane in one state directory. Its methods may be called from
// several goroutines; they are serialised.
type Cluster struct {
	cfg   Config
	mu    sync.Mutex
	state state
	// children are the processes this Cluster started, reaped by their own goroutine.
	children map[string]*child
}

// RepoRoot is the repository root (this file is test/controlplane/controlplane.go).
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "../.."))
}

// Open returns the cluster of cfg.Dir, with the state an earlier command left there. A port
// set in cfg that differs from the state's is refused while the process that uses it runs.
func Open(cfg Config) (*Cluster, error) {
	if cfg.Dir == "" {
		return nil, errors.New("controlplane: no state directory")
	}
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, err
	}
	cfg.Dir = dir
	if cfg.BinDir == "" {
		cfg.BinDir = filepath.Join(RepoRoot(), "_output", "bin")
	}
	if cfg.ServerBinary == "" {
		cfg.ServerBinary = filepath.Join(cfg.BinDir, "backupview-apiserver")
	}
	if len(cfg.Controllers) == 0 {
		cfg.Controllers = []string{"*"}
	}
	if cfg.ReadyTimeout <= 0 {
		cfg.ReadyTimeout = 60 * time.Second
	}
	if cfg.ReadyInterval <= 0 {
		cfg.ReadyInterval = 100 * time.Millisecond
	}
	if cfg.StopGrace <= 0 {
		cfg.StopGrace = 10 * time.Second
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	c := &Cluster{cfg: cfg, children: map[string]*child{}}
	if err := c.load(); err != nil {
		return nil, err
	}
	if err := c.mergePorts(cfg.Ports); err != nil {
		return nil, err
	}
	c.state.Node = c.state.Node || cfg.Node
	return c, nil
}

// mergePorts takes the configured ports over the saved ones, unless a running process
// holds the saved one.
func (c *Cluster) mergePorts(want Ports) error {
	type port struct {
		name      string
		saved     *int
		want      int
		component string
	}
	for _, p := range []port{
		{"etcd", &c.state.Ports.Etcd, want.Etcd, Etcd},
		{"etcd peer", &c.state.Ports.EtcdPeer, want.EtcdPeer, Etcd},
		{"kube-apiserver", &c.state.Ports.APIServer, want.APIServer, APIServer},
		{"kube-controller-manager", &c.state.Ports.ControllerManager, want.ControllerManager, ControllerManager},
		{"backupview", &c.state.Ports.Server, want.Server, Server},
	} {
		if p.want == 0 || p.want == *p.saved {
			continue
		}
		if *p.saved != 0 && c.running(p.component) {
			return fmt.Errorf("%s of %s runs on port %d, not %d: stop it first", p.component, c.cfg.Dir, *p.saved, p.want)
		}
		*p.saved = p.want
	}
	return nil
}

// Dir is the state directory.
func (c *Cluster) Dir() string { return c.cfg.Dir }

// Ports are the cluster's ports (zero: not chosen yet, before the first Up).
func (c *Cluster) Ports() Ports {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state.Ports
}

// URL is kube-apiserver's address.
func (c *Cluster) URL() string { return fmt.Sprintf("https://127.0.0.1:%d", c.Ports().APIServer) }

// PKI is the path of a file in the PKI directory, e.g. PKI("ca.crt").
func (c *Cluster) PKI(name string) string { return filepath.Join(c.cfg.Dir, "pki", name) }

// Log is the path of a component's log file.
func (c *Cluster) Log(component string) string {
	return filepath.Join(c.cfg.Dir, "logs", component+".log")
}

// Kubeconfig is the path of a user's kubeconfig: "" or "admin" (system:masters), "alice" (no
// groups) or "kube-controller-manager".
func (c *Cluster) Kubeconfig(user string) string {
	switch user {
	case "", "admin":
		return filepath.Join(c.cfg.Dir, "kubeconfig")
	default:
		return filepath.Join(c.cfg.Dir, "kubeconfig-"+user)
	}
}

// Kubectl is the path of the built kubectl.
func (c *Cluster) Kubectl() string { return filepath.Join(c.cfg.BinDir, "kubectl") }

// Up makes the PKI (kept if still valid), starts etcd and kube-apiserver, waits for
// kube-apiserver's /readyz, writes the kubeconfigs, then starts kube-controller-manager and
// waits for its /healthz. What already runs is left running.
func (c *Cluster) Up(ctx context.Context) error {
	t0 := time.Now()
	var started []string
	err := c.locked(func() error {
		if err := c.needBins(Etcd, APIServer, ControllerManager, "kubectl"); err != nil {
			return err
		}
		needEtcd, needKAS, needKCM := !c.running(Etcd), !c.running(APIServer), !c.running(ControllerManager)
		if err := c.choosePorts(needEtcd, needKAS, needKCM); err != nil {
			return err
		}
		if err := c.chooseNodePorts(); err != nil {
			return err
		}
		for _, d := range []string{"etcd", "logs"} {
			if err := os.MkdirAll(filepath.Join(c.cfg.Dir, d), 0o700); err != nil {
				return err
			}
		}
		if err := c.save(); err != nil { // marks the directory as a cluster's before anything runs
			return err
		}
		if needEtcd { // needs no certificates: it boots while the PKI is checked
			if err := c.spawn(Etcd, c.etcdArgs()); err != nil {
				return err
			}
			started = append(started, Etcd)
		}
		if err := ensurePKI(filepath.Join(c.cfg.Dir, "pki"), c.cfg.Logf); err != nil {
			return err
		}
		if needKAS {
			if err := c.spawn(APIServer, c.apiServerArgs()); err != nil {
				return err
			}
			started = append(started, APIServer)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := c.waitReady(ctx, APIServer, c.apiServerReady, Etcd, APIServer); err != nil {
		return err
	}
	err = c.locked(func() error {
		if err := c.writeKubeconfigs(); err != nil {
			return err
		}
		if c.running(ControllerManager) {
			return nil
		}
		started = append(started, ControllerManager)
		return c.spawn(ControllerManager, c.controllerManagerArgs())
	})
	if err != nil {
		return err
	}
	if err := c.waitReady(ctx, ControllerManager, c.controllerManagerReady, ControllerManager); err != nil {
		return err
	}
	if c.HasNode() {
		for _, n := range nodeComponents {
			if c.Pid(n) == 0 {
				started = append(started, n)
			}
		}
		if err := c.startNode(ctx); err != nil {
			return err
		}
	}
	if len(started) == 0 {
		started = []string{"nothing"}
	}
	c.cfg.Logf("cluster up in %s (started: %s): %s, KUBECONFIG=%s", time.Since(t0).Round(10*time.Millisecond),
		strings.Join(started, ", "), c.URL(), c.Kubeconfig(""))
	return nil
}

// StartServer starts backupview-apiserver (unless it runs and is ready) with the flags every
// start uses, cfg.ServerArgs and extra (a later flag wins), waits for its /readyz and, when
// the APIService is registered, until it is Available and a request goes through
// kube-apiserver to the server. It returns the time from the launch to the first /readyz 200
// (zero when the server was already running and ready).
func (c *Cluster) StartServer(ctx context.Context, extra ...string) (time.Duration, error) {
	if _, err := os.Stat(c.PKI("backupview.crt")); err != nil {
		return 0, fmt.Errorf("no cluster in %s: run up first", c.cfg.Dir)
	}
	if err := c.apiServerReady(ctx); err != nil {
		return 0, fmt.Errorf("kube-apiserver of %s is not ready: %w", c.cfg.Dir, err)
	}
	var ready time.Duration
	if c.Pid(Server) == 0 || c.serverReady(ctx) != nil {
		err := c.locked(func() error {
			if c.running(Server) {
				return nil
			}
			if _, err := os.Stat(c.cfg.ServerBinary); err != nil {
				return fmt.Errorf("%s is missing: build it first (make build)", c.cfg.ServerBinary)
			}
			if err := c.choosePorts(false, false, false); err != nil {
				return err
			}
			if err := portFree(c.state.Ports.Server); err != nil {
				return err
			}
			return c.spawn(Server, append(c.ServerArgs(c.state.Ports.Server), extra...))
		})
		if err != nil {
			return 0, err
		}
		t0 := time.Now()
		if err := c.waitReady(ctx, Server, c.serverReady, Server); err != nil {
			return 0, err
		}
		ready = time.Since(t0)
		c.cfg.Logf("backupview-apiserver ready in %s", ready.Round(10*time.Millisecond))
	}
	registered, err := c.registered(ctx)
	if err != nil {
		return ready, err
	}
	if !registered {
		c.cfg.Logf("note: apiservice/%s is not registered (run register); not waiting for it", APIServiceName)
		return ready, nil
	}
	if err := c.waitAvailable(ctx); err != nil {
		return ready, err
	}
	// Available lags behind a server that went away (it stays True for up to ~30 s), so a
	// request must also go through kube-apiserver to the server.
	if err := c.waitReady(ctx, "the aggregated API", c.aggregatedReady, Server); err != nil {
		return ready, err
	}
	// kube-apiserver refreshes an APIService's discovery on its own schedule: one refreshed
	// while the server was away lacks its resources, and kubectl would cache that.
	if err := c.waitReady(ctx, "kube-apiserver's discovery of the aggregated API", c.discoveryReady, Server); err != nil {
		return ready, err
	}
	return ready, nil
}

// ServerArgs are the flags every backupview-apiserver of this cluster runs with, for one on
// port: its serving certificate, and the admin kubeconfig for sources, authentication and
// authorization. A test's extra replica uses them too.
func (c *Cluster) ServerArgs(port int) []string {
	kc := c.Kubeconfig("")
	return append([]string{
		fmt.Sprintf("--secure-port=%d", port), "--bind-address=127.0.0.1",
		"--tls-cert-file=" + c.PKI("backupview.crt"), "--tls-private-key-file=" + c.PKI("backupview.key"),
		"--kubeconfig=" + kc, "--authentication-kubeconfig=" + kc, "--authorization-kubeconfig=" + kc,
	}, c.cfg.ServerArgs...)
}

// StopServer stops backupview-apiserver only.
func (c *Cluster) StopServer() error { return c.Stop(Server, 0) }

// StopAPIServer stops kube-apiserver only (an outage: etcd, kube-controller-manager and
// backupview keep running and reconnect), with grace before SIGKILL (0: the configured one).
func (c *Cluster) StopAPIServer(grace time.Duration) error { return c.Stop(APIServer, grace) }

// StartAPIServer starts kube-apiserver again on the same etcd and waits for its /readyz.
// kube-controller-manager's informers back off meanwhile: its controllers may take a minute
// to act again.
func (c *Cluster) StartAPIServer(ctx context.Context) error {
	err := c.locked(func() error {
		if !c.running(Etcd) {
			return fmt.Errorf("etcd of %s is not running: run up", c.cfg.Dir)
		}
		if c.running(APIServer) {
			return nil
		}
		if err := portFree(c.state.Ports.APIServer); err != nil {
			return err
		}
		return c.spawn(APIServer, c.apiServerArgs())
	})
	if err != nil {
		return err
	}
	t0 := time.Now()
	if err := c.waitReady(ctx, APIServer, c.apiServerReady, Etcd, APIServer); err != nil {
		return err
	}
	c.cfg.Logf("kube-apiserver ready in %s", time.Since(t0).Round(10*time.Millisecond))
	return nil
}

// Down stops everything this directory's cluster started (the server first); with purge it
// also deletes the directory, if it is a cluster's.
func (c *Cluster) Down(purge bool) error {
	var errs []error
	errs = append(errs, c.Stop(Server, 0))
	if c.HasNode() {
		errs = append(errs, c.stopNode(context.Background()))
	}
	for _, name := range []string{CertManagerController, CertManagerCAInjector, ControllerManager, APIServer, Etcd} {
		errs = append(errs, c.Stop(name, 0))
	}
	if err := errors.Join(errs...); err != nil || !purge {
		return err
	}
	if _, err := os.Stat(filepath.Join(c.cfg.Dir, stateFile)); err != nil {
		if os.IsNotExist(err) {
			if _, derr := os.Stat(c.cfg.Dir); os.IsNotExist(derr) {
				return nil
			}
			return fmt.Errorf("%s holds no %s: not a cluster's directory; not deleting it", c.cfg.Dir, stateFile)
		}
		return err
	}
	if err := os.RemoveAll(c.cfg.Dir); err != nil {
		return err
	}
	c.cfg.Logf("deleted %s", c.cfg.Dir)
	return nil
}

// Status describes each component: running or not, and healthy or not.
func (c *Cluster) Status(ctx context.Context) string {
	p := c.Ports()
	var b strings.Builder
	fmt.Fprintf(&b, "state dir: %s (etcd :%d, kube-apiserver :%d, kube-controller-manager :%d, backupview :%d)\n",
		c.cfg.Dir, p.Etcd, p.APIServer, p.ControllerManager, p.Server)
	checks := map[string]func(context.Context) error{Etcd: c.etcdReady, APIServer: c.apiServerReady,
		ControllerManager: c.controllerManagerReady, Server: c.serverReady}
	for _, name := range []string{Etcd, APIServer, ControllerManager, Server} {
		st := "not running"
		if pid := c.Pid(name); pid != 0 {
			st = fmt.Sprintf("running (pid %d)", pid)
			if checks[name](ctx) == nil {
				st += ", ready"
			}
		}
		fmt.Fprintf(&b, "  %-23s %s\n", name, st)
	}
	return b.String()
}

// Pid is the process ID of a running component (0: not running).
func (c *Cluster) Pid(component string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.pid(component)
}

func (c *Cluster) url() string { return fmt.Sprintf("https://127.0.0.1:%d", c.state.Ports.APIServer) }

// locked runs f with the state locked: every change of the state, and the spawning that
// records into it, happens in one; the waits happen outside.
func (c *Cluster) locked(f func() error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return f()
}

func (c *Cluster) needBins(names ...string) error {
	for _, n := range names {
		if _, err := os.Stat(filepath.Join(c.cfg.BinDir, n)); err != nil {
			return fmt.Errorf("%s is missing: build it first (hack/build-control-plane.sh)", filepath.Join(c.cfg.BinDir, n))
		}
	}
	return nil
}

// choosePorts checks, before anything starts, that the saved ports of the components about
// to start are free, and takes every port not chosen yet (the server's too, so that register
// can name it before the server starts) from the kernel.
func (c *Cluster) choosePorts(etcd, kas, kcm bool) error {
	p := &c.state.Ports
	var zero []*int
	for _, x := range []struct {
		port  *int
		start bool
	}{{&p.Etcd, etcd}, {&p.EtcdPeer, etcd}, {&p.APIServer, kas}, {&p.ControllerManager, kcm}, {&p.Server, false}} {
		if *x.port == 0 {
			zero = append(zero, x.port)
		} else if x.start {
			if err := portFree(*x.port); err != nil {
				return err
			}
		}
	}
	free, err := FreePorts(len(zero))
	if err != nil {
		return err
	}
	for i, ptr := range zero {
		*ptr = free[i]
	}
	return nil
}

func (c *Cluster) etcdArgs() []string {
	p := c.state.Ports
	client := fmt.Sprintf("http://127.0.0.1:%d", p.Etcd)
	peer := fmt.Sprintf("http://127.0.0.1:%d", p.EtcdPeer)
	return append([]string{"--name=backupview", "--data-dir=" + filepath.Join(c.cfg.Dir, "etcd"),
		"--listen-client-urls=" + client, "--advertise-client-urls=" + client,
		"--listen-peer-urls=" + peer, "--initial-advertise-peer-urls=" + peer,
		"--initial-cluster=backupview=" + peer, "--listen-metrics-urls=", "--log-level=warn",
	}, c.cfg.EtcdArgs...)
}

func (c *Cluster) apiServerArgs() []string {
	pki := func(n string) string { return c.PKI(n) }
	return append([]string{
		fmt.Sprintf("--etcd-servers=http://127.0.0.1:%d", c.state.Ports.Etcd),
		"--bind-address=127.0.0.1", fmt.Sprintf("--secure-port=%d", c.state.Ports.APIServer),
		"--advertise-address=127.0.0.1", "--endpoint-reconciler-type=none", "--service-cluster-ip-range=10.0.0.0/24",
		"--cert-dir=" + filepath.Join(c.cfg.Dir, "kas-certs"),
		"--tls-cert-file=" + pki("apiserver.crt"), "--tls-private-key-file=" + pki("apiserver.key"),
		"--client-ca-file=" + pki("ca.crt"),
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file=" + pki("sa.pub"), "--service-account-signing-key-file=" + pki("sa.key"),
		"--authorization-mode=RBAC",
		"--requestheader-client-ca-file=" + pki("front-proxy-ca.crt"),
		"--requestheader-allowed-names=front-proxy-client",
		"--requestheader-extra-headers-prefix=X-Remote-Extra-",
		"--requestheader-group-headers=X-Remote-Group",
		"--requestheader-username-headers=X-Remote-User",
		"--proxy-client-cert-file=" + pki("front-proxy-client.crt"), "--proxy-client-key-file=" + pki("front-proxy-client.key"),
		"--enable-aggregator-routing=false",
	}, append(c.nodeAPIServerArgs(), c.cfg.APIServerArgs...)...)
}

// controllerManagerArgs: its own identity (not the admin's), so that it runs with a real
// cluster's bootstrap RBAC; with --use-service-account-credentials each controller acts as
// its own service account. The signing key is the private half of kube-apiserver's
// --service-account-key-file, so that the tokens it mints are accepted.
func (c *Cluster) controllerManagerArgs() []string {
	kc := c.Kubeconfig("kube-controller-manager")
	return append([]string{
		"--kubeconfig=" + kc, "--authentication-kubeconfig=" + kc, "--authorization-kubeconfig=" + kc,
		"--bind-address=127.0.0.1", fmt.Sprintf("--secure-port=%d", c.state.Ports.ControllerManager),
		"--cert-dir=" + filepath.Join(c.cfg.Dir, "kcm-certs"),
		"--leader-elect=false", "--controllers=" + strings.Join(c.cfg.Controllers, ","), "--use-service-account-credentials",
		"--service-account-private-key-file=" + c.PKI("sa.key"), "--root-ca-file=" + c.PKI("ca.crt"),
		"--cluster-signing-cert-file=" + c.PKI("ca.crt"), "--cluster-signing-key-file=" + c.PKI("ca.key"),
	}, c.cfg.ControllerManagerArgs...)
}

// RunsCronJobs reports whether kube-controller-manager runs its CronJob controller.
func (c *Cluster) RunsCronJobs() bool {
	return !slices.Contains(c.cfg.Controllers, "-cronjob-controller")
}

// ServerBinary is the backupview-apiserver this cluster runs.
func (c *Cluster) ServerBinary() string { return c.cfg.ServerBinary }
