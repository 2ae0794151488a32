//go:build unix

// Command pause is the test node's pause container (`make pause-image` packs it as
// backupview.local/pause): it holds the pod's namespaces, doing nothing until SIGINT or
// SIGTERM, then exits 0. As PID 1 of a pod that shares its PID namespace it is the parent of
// orphaned processes, so it reaps every child that exits.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	for s := range sigs {
		if s != syscall.SIGCHLD {
			os.Exit(0)
		}
		for { // SIGCHLDs coalesce: reap until no child has exited
			if pid, err := syscall.Wait4(-1, nil, syscall.WNOHANG, nil); pid <= 0 || err != nil {
				break
			}
		}
	}
}
