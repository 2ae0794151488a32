// Command kubectl-backupview is the kubectl plugin for backupview: kubectl backupview
// describe and create (see package plugin).
//
//	go install github.com/kubestash/backupview/cmd/kubectl-backupview@latest
//
// Installed (or linked) as kubectl_complete-backupview it answers kubectl's shell completion
// for the plugin.
package main

import (
	"context"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubestash/backupview/plugins/kubectl/commands"
)

func main() {
	args := os.Args[1:]
	if filepath.Base(os.Args[0]) == commands.CompletionBinary {
		// kubectl runs kubectl_complete-<plugin> with the words to complete.
		args = append([]string{"__complete"}, args...)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := commands.Run(ctx, commands.Options{Streams: genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}}, args)
	stop()
	os.Exit(code)
}
