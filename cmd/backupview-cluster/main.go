// Command backupview-cluster runs the local control plane of test/controlplane (etcd,
// kube-apiserver, kube-controller-manager and backupview-apiserver, aggregated through an
// APIService) from the command line: the demo and the scale benchmark use it through
// hack/cluster.sh; the tests use the package directly.
//
//	backupview-cluster [flags] COMMAND [DIR]
//
// DIR (default _output/demo, relative to --root) is the state directory: pki/, logs/, the
// kubeconfigs, state.json. Ports come from the kernel the first time and are kept there.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/kubestash/backupview/test/controlplane"
)

const usage = `usage: backupview-cluster [flags] COMMAND [DIR]

commands:
  up            make the PKI (kept while valid), start etcd and kube-apiserver, wait for /readyz,
                write DIR/kubeconfig (admin, system:masters) and DIR/kubeconfig-alice (no groups),
                then start kube-controller-manager and wait for its /healthz; with --node also
                containerd, kube-scheduler, kubelet and kube-proxy, and wait for the Node to be
                Ready; starts only what is not running
  register      apply Namespace backupview-system, Service backupview (ExternalName localhost)
                and APIService v1alpha1.ui.kubestash.com (caBundle: backupview-ca)
  start-server  start backupview-apiserver, wait for its /readyz and, if registered, until the
                APIService is Available and serves through kube-apiserver
  stop-server   stop backupview-apiserver only
  stop-kas      stop kube-apiserver only (an outage: the others keep running and reconnect)
  start-kas     start kube-apiserver again on the same etcd
  down          stop everything DIR's cluster started; with --purge also delete DIR
  status        show which processes run and are ready
  install-crds  apply the KubeStash CRDs (the upstream ones of --shared when present, else
                hack/crds) and the demo's target CRDs, and wait until they are Established
  env           print export lines for KUBECONFIG and PATH: eval "$(hack/cluster.sh env DIR)"

flags:
`

// args is a repeatable flag: each use is one argument, so an argument may hold blanks.
type args []string

func (a *args) String() string     { return strings.Join(*a, " ") }
func (a *args) Set(v string) error { *a = append(*a, v); return nil }

func main() {
	fs := flag.NewFlagSet("backupview-cluster", flag.ExitOnError)
	fs.Usage = func() { fmt.Fprint(fs.Output(), usage); fs.PrintDefaults() }
	root := fs.String("root", ".", "repository root: DIR and the binaries (_output/bin) are found from it")
	serverBin := fs.String("server-binary", "", "backupview-apiserver to run (default: ROOT/_output/bin's)")
	var etcdArgs, kasArgs, kcmArgs, bvArgs args
	fs.Var(&etcdArgs, "etcd-arg", "an extra flag for etcd (repeatable)")
	fs.Var(&kasArgs, "kas-arg", "an extra flag for kube-apiserver (repeatable)")
	fs.Var(&kcmArgs, "kcm-arg", "an extra flag for kube-controller-manager (repeatable)")
	fs.Var(&bvArgs, "server-arg", "an extra flag for backupview-apiserver (repeatable)")
	node := fs.Bool("node", false, "up: also run a real node (containerd, kube-scheduler, kubelet, kube-proxy; hack/build-node.sh builds them); kept with DIR")
	noTriggers := fs.Bool("no-triggers", false, "kube-controller-manager without its CronJob and Job controllers (a cluster of generated objects)")
	var ports controlplane.Ports
	fs.IntVar(&ports.Etcd, "etcd-port", 0, "etcd's client port (0: the saved one, or one from the kernel)")
	fs.IntVar(&ports.EtcdPeer, "etcd-peer-port", 0, "etcd's peer port")
	fs.IntVar(&ports.APIServer, "kas-port", 0, "kube-apiserver's port")
	fs.IntVar(&ports.ControllerManager, "kcm-port", 0, "kube-controller-manager's port (/healthz, /metrics)")
	fs.IntVar(&ports.Server, "server-port", 0, "backupview-apiserver's port")
	readyTimeout := fs.Duration("ready-timeout", time.Minute, "how long each process may take to be ready")
	stopGrace := fs.Duration("stop-grace", 10*time.Second, "how long a process has after SIGTERM before SIGKILL")
	purge := fs.Bool("purge", false, "down: also delete DIR")
	shared := fs.String("shared", os.Getenv("BACKUPVIEW_SHARED"), "install-crds: the directory beside the repository with kubestash-crds/ (default ROOT/../shared)")
	_ = fs.Parse(os.Args[1:])
	// Flags may also follow COMMAND and DIR.
	var pos []string
	for rest := fs.Args(); len(rest) > 0; rest = fs.Args() {
		pos = append(pos, rest[0])
		_ = fs.Parse(rest[1:])
	}
	if len(pos) < 1 || len(pos) > 2 {
		fs.Usage()
		os.Exit(2)
	}
	cmd, dir := pos[0], "_output/demo"
	if len(pos) == 2 {
		dir = pos[1]
	}
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(*root, dir)
	}
	cfg := controlplane.Config{
		Dir: dir, BinDir: filepath.Join(*root, "_output", "bin"), ServerBinary: *serverBin, Ports: ports,
		EtcdArgs: etcdArgs, APIServerArgs: kasArgs, ControllerManagerArgs: kcmArgs, ServerArgs: bvArgs,
		ReadyTimeout: *readyTimeout, StopGrace: *stopGrace, Node: *node,
		Logf: func(f string, a ...any) { fmt.Printf("  "+f+"\n", a...) },
	}
	if *noTriggers {
		cfg.Controllers = controlplane.NoTriggerControllers
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *shared == "" {
		*shared = filepath.Join(*root, "..", "shared")
	}
	if err := run(ctx, cmd, cfg, *purge, *root, *shared); err != nil {
		fmt.Fprintln(os.Stderr, "backupview-cluster:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, cmd string, cfg controlplane.Config, purge bool, root, shared string) error {
	c, err := controlplane.Open(cfg)
	if err != nil {
		return err
	}
	switch cmd {
	case "up":
		return c.Up(ctx)
	case "register":
		return c.Register(ctx)
	case "start-server":
		_, err := c.StartServer(ctx)
		return err
	case "stop-server":
		return c.StopServer()
	case "stop-kas":
		return c.StopAPIServer(0)
	case "start-kas":
		return c.StartAPIServer(ctx)
	case "down":
		return c.Down(purge)
	case "install-crds":
		files, upstream := controlplane.CRDFiles(root, shared)
		if !upstream {
			fmt.Printf("NOTE: %s/kubestash-crds absent: using the project's own CRDs (hack/crds)\n", shared)
		}
		return c.InstallCRDs(ctx, files...)
	case "status":
		fmt.Print(c.Status(ctx))
		return nil
	case "env":
		fmt.Printf("export KUBECONFIG=%s\nexport PATH=%s:\"$PATH\"\n", shellQuote(c.Kubeconfig("")), shellQuote(cfg.BinDir))
		return nil
	default:
		return errors.New("unknown command " + cmd + " (see -h)")
	}
}

// shellQuote quotes s for a POSIX shell: in single quotes nothing is expanded (Go's %q would
// leave $ and ` to the shell).
func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
