//go:build ignore

// A minimal cert-manager controller for the test control plane, built by
// hack/build-cert-manager.sh. Upstream's cmd/controller is a nested module
// (github.com/cert-manager/cert-manager/controller-binary, replace ../../) that the module
// proxy does not serve, so this main drives cert-manager's own controllers (from the
// github.com/cert-manager/cert-manager module) the way upstream's app.Run does. It runs
// only what a selfSigned or CA Issuer needs: no ACME, Vault or Venafi (whose cloud SDKs would
// triple the build), no ingress/gateway shims, no leader election, metrics or healthz server
// (no ports to collide on a shared machine). The ignore tag keeps it out of the project's
// packages (and go.mod); the script copies it into a throwaway module.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/cert-manager/cert-manager/pkg/controller"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/approver"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/ca"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/selfsigned"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/issuing"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/keymanager"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/readiness"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/requestmanager"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/revisionmanager"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/trigger"
	"github.com/cert-manager/cert-manager/pkg/controller/clusterissuers"
	_ "github.com/cert-manager/cert-manager/pkg/controller/issuers"
	_ "github.com/cert-manager/cert-manager/pkg/issuer/ca"
	_ "github.com/cert-manager/cert-manager/pkg/issuer/selfsigned"
	logf "github.com/cert-manager/cert-manager/pkg/logs"
	"k8s.io/klog/v2"
)

func main() {
	kubeconfig := flag.String("kubeconfig", "", "kubeconfig of the cluster")
	namespace := flag.String("namespace", "", "only watch this namespace (\"\": all; ClusterIssuers are then not served)")
	clusterNS := flag.String("cluster-resource-namespace", "kube-system", "namespace of the Secrets that ClusterIssuers refer to")
	leaderElect := flag.Bool("leader-elect", false, "accepted for upstream compatibility; only false is supported")
	workers := flag.Int("concurrent-workers", 5, "workers per controller")
	klog.InitFlags(nil)
	flag.Parse()
	if *leaderElect {
		fmt.Fprintln(os.Stderr, "--leader-elect=true is not supported by this build")
		os.Exit(2)
	}
	logf.InitLogs()
	defer logf.FlushLogs()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx = logf.NewContext(ctx, logf.Log, "controller")
	if err := run(ctx, *kubeconfig, *namespace, *clusterNS, *workers); err != nil {
		logf.Log.Error(err, "cert-manager controller failed")
		logf.FlushLogs()
		os.Exit(1)
	}
}

func run(ctx context.Context, kubeconfig, namespace, clusterNS string, workers int) error {
	// The values are upstream's defaults (internal/apis/config/controller/v1alpha1).
	f, err := controller.NewContextFactory(ctx, controller.ContextOptions{
		Kubeconfig:         kubeconfig,
		KubernetesAPIQPS:   20,
		KubernetesAPIBurst: 50,
		Namespace:          namespace,
		SchedulerOptions:   controller.SchedulerOptions{MaxConcurrentChallenges: 60},
		IssuerOptions: controller.IssuerOptions{
			ClusterResourceNamespace:        clusterNS,
			ClusterIssuerAmbientCredentials: true,
		},
		CertificateOptions: controller.CertificateOptions{
			CertificateRequestMinimumBackoffDuration: time.Hour,
			CertificateRequestMaximumBackoffDuration: 32 * time.Hour,
		},
	})
	if err != nil {
		return err
	}
	cctx, err := f.Build()
	if err != nil {
		return err
	}
	g, gctx := errgroup.WithContext(ctx)
	for name, newController := range controller.Known() {
		if namespace != "" && name == clusterissuers.ControllerName {
			continue // cluster-scoped, as upstream drops it when namespaced
		}
		c, err := newController(f)
		if err != nil {
			return fmt.Errorf("controller %s: %w", name, err)
		}
		logf.Log.Info("starting controller", "controller", name)
		g.Go(func() error { return c.Run(workers, gctx) })
	}
	// Informers are started after the controllers registered theirs, as upstream does.
	cctx.SharedInformerFactory.Start(gctx.Done())
	cctx.KubeSharedInformerFactory.Start(gctx.Done())
	cctx.HTTP01ResourceMetadataInformersFactory.Start(gctx.Done())
	return g.Wait()
}
