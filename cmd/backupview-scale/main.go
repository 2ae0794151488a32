// Command backupview-scale loads a local control plane with a parameterised, realistic
// KubeStash cluster and benchmarks backupview's joined views against kube-apiserver serving
// the raw objects, side by side (see hack/bench-scale.sh and docs/benchmarks.md).
//
//	backupview-scale load  --kubeconfig K [--scale default|medium|small|custom:ns=..,bc=..] [--concurrency 32] [--force]
//	backupview-scale bench --dir DIR [--scale ...] [--rounds N] [--out docs/benchmarks.md]
//
// load writes with at most --concurrency requests in flight and reports its rate; it records
// the scale in ConfigMap default/backupview-scale and does nothing when that scale is loaded.
// bench expects a cluster made by hack/cluster.sh in DIR (registered, CRDs installed, loaded):
// it restarts backupview itself to time start to ready, and exits non-zero only on real
// errors (a failing request, view count != BackupConfiguration count), never on timings.
//
// The work is done by test/scale (the cluster's shape and objects), test/scale/loader,
// test/scale/bench and test/scale/report; this is flags and wiring.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"k8s.io/client-go/tools/clientcmd"

	"github.com/kubestash/backupview/test/controlplane"
	"github.com/kubestash/backupview/test/scale"
	"github.com/kubestash/backupview/test/scale/bench"
	"github.com/kubestash/backupview/test/scale/loader"
	"github.com/kubestash/backupview/test/scale/report"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: backupview-scale load|bench [flags] (-h for flags)")
		os.Exit(2)
	}
	logf := func(format string, a ...interface{}) {
		fmt.Printf("%s %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, a...))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch os.Args[1] {
	case "load":
		err = loadCmd(ctx, os.Args[2:], logf)
	case "bench":
		err = benchCmd(ctx, os.Args[2:], logf)
	default:
		err = fmt.Errorf("unknown command %q: load or bench", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "backupview-scale:", err)
		os.Exit(1)
	}
}

func loadCmd(ctx context.Context, args []string, logf func(string, ...interface{})) error {
	fs := flag.NewFlagSet("load", flag.ExitOnError)
	kubeconfig := fs.String("kubeconfig", os.Getenv("KUBECONFIG"), "kubeconfig of the cluster to load")
	scaleName := fs.String("scale", "default", scale.Syntax+" (unset keys as in default)")
	conc := fs.Int("concurrency", 32, "requests in flight at most")
	force := fs.Bool("force", false, "load even when the marker says this scale is loaded")
	statusInCreate := fs.Bool("status-in-create", true, "turn the KubeStash CRDs' status subresource off during the load so that statuses go with the create request (half the requests; restored afterwards)")
	_ = fs.Parse(args)
	sc, err := scale.Parse(*scaleName)
	if err != nil {
		return err
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		return err
	}
	clients, err := loader.NewClients(cfg)
	if err != nil {
		return err
	}
	_, err = loader.Load(ctx, clients, sc, loader.Options{Concurrency: *conc, Force: *force, StatusInCreate: *statusInCreate, Logf: logf})
	return err
}

func benchCmd(ctx context.Context, args []string, logf func(string, ...interface{})) error {
	fs := flag.NewFlagSet("bench", flag.ExitOnError)
	dir := fs.String("dir", "", "cluster state directory (hack/cluster.sh DIR)")
	root := fs.String("root", ".", "repository root (its _output/bin holds kubectl)")
	serverBin := fs.String("server-binary", os.Getenv("BV_BIN"), "backupview-apiserver to measure (default: ROOT/_output/bin's)")
	scaleName := fs.String("scale", "default", "the scale the cluster was loaded with")
	rounds := fs.Int("rounds", 0, "interleaved rounds per list comparison (0: 5 at default scale, 3 otherwise)")
	// Enough samples that a p99 is not one request's or one event's: of 30, it is the largest
	// but one, and two rounds of the same code read 2.2× and 4.7×.
	gets := fs.Int("gets", 500, "GET pairs (and GETs, and half as many LISTs, with and without the watchers)")
	watches := fs.Int("watches", 200, "watch-latency samples, and patches of the watchers part")
	starts := fs.Int("starts", 3, "start-to-ready rounds")
	watchers := fs.Int("watchers", 0, "namespace view watches of the watchers part, besides its 10 cluster-wide ones (0: 2000, 200 at the small scale)")
	burstConc := fs.Int("burst-concurrency", 32, "requests in flight at most in the burst part")
	serverArgs := fs.String("server-args", "", "extra backupview-apiserver flags for every start, space-separated (e.g. --max-watches=20000)")
	out := fs.String("out", "docs/benchmarks.md", "markdown file to write the results block into (empty: none); the growth table's rows are saved in bench-results/ next to it")
	only := fs.String("only", "", "comma-separated parts to run besides start-up and memory: lists, json, gets, watch, watchers, burst (default: all)")
	_ = fs.Parse(args)
	if *dir == "" {
		return fmt.Errorf("--dir is required")
	}
	sc, err := scale.Parse(*scaleName)
	if err != nil {
		return err
	}
	// At the default scale backupview takes a minute or more to sync; /readyz is asked every
	// 10 ms, the start-to-ready measurement's resolution.
	cluster, err := controlplane.Open(controlplane.Config{Dir: *dir, BinDir: filepath.Join(*root, "_output", "bin"),
		ServerBinary: *serverBin, ReadyTimeout: 15 * time.Minute, ReadyInterval: 10 * time.Millisecond, Logf: logf})
	if err != nil {
		return err
	}
	cfg, err := cluster.RESTConfig()
	if err != nil {
		return err
	}
	if *rounds == 0 {
		*rounds = 3
		if sc.Name == scale.Default.Name {
			*rounds = 5
		}
	}
	clients, err := loader.NewClients(cfg)
	if err != nil {
		return err
	}
	load, err := loader.ReadMarker(ctx, clients.Kube)
	if err != nil {
		return err
	}
	if load == nil || load.Scale != sc {
		return fmt.Errorf("the cluster in %s does not hold a complete load of scale %q: run backupview-scale load first", *dir, sc.Name)
	}
	b := &bench.Bench{Cluster: cluster, Scale: sc, Rounds: *rounds, Gets: *gets, Watches: *watches, Starts: *starts,
		WatcherCount: *watchers, BurstConcurrency: *burstConc, ServerFlags: strings.Fields(*serverArgs), Logf: logf}
	if *only != "" {
		b.Only = map[string]bool{}
		for _, p := range strings.Split(*only, ",") {
			b.Only[strings.TrimSpace(p)] = true
		}
	}
	logf("benchmarking %s (rounds %d, GET pairs %d, watch samples %d, starts %d)", sc, *rounds, *gets, *watches, *starts)
	res, err := b.Run(ctx, cfg, load)
	if err != nil {
		return err
	}
	fmt.Println()
	fmt.Println(res.Markdown())
	if *out != "" {
		if err := report.Write(*out, res); err != nil {
			return err
		}
		rows, err := report.SaveGrowth(filepath.Join(filepath.Dir(*out), "bench-results"), res)
		if err != nil {
			return err
		}
		if err := report.WriteBlock(*out, "growth", report.GrowthMarkdown(rows)); err != nil {
			return err
		}
		logf("results written to %s (growth table: %d of %d scales measured)", *out, len(rows), len(report.GrowthScales))
	}
	if len(res.Errors) > 0 {
		return fmt.Errorf("%d errors (see above)", len(res.Errors))
	}
	return nil
}
