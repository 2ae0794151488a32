// Command backupview-fixtures loads fixture files (multi-document YAML) into a cluster, in
// order, with statuses and BackupConfiguration owner UIDs filled in (see package fixtures).
//
//	backupview-fixtures --kubeconfig KUBECONFIG FILE...
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"k8s.io/client-go/tools/clientcmd"

	"github.com/kubestash/backupview/test/fixtures"
)

func main() {
	kubeconfig := flag.String("kubeconfig", os.Getenv("KUBECONFIG"), "kubeconfig of the cluster to load")
	flag.Parse()
	if err := run(*kubeconfig, flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "backupview-fixtures:", err)
		os.Exit(1)
	}
}

func run(kubeconfig string, files []string) error {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return err
	}
	// A few hundred requests, one after another: client-go's default 5 QPS would make them
	// take half a minute.
	cfg.QPS, cfg.Burst = 100, 100
	l, err := fixtures.NewLoader(cfg)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		start := time.Now()
		if err := l.LoadFiles(ctx, data); err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		fmt.Printf("loaded %s in %s\n", f, time.Since(start).Round(time.Millisecond))
	}
	return nil
}
