#!/usr/bin/env bash
# The local control plane (etcd, kube-apiserver, kube-controller-manager and
# backupview-apiserver aggregated through an APIService), owned by the Go package
# test/controlplane: this builds its command line, cmd/backupview-cluster, and runs it.
#
#   hack/cluster.sh COMMAND [DIR] [flags]     e.g. hack/cluster.sh up _output/demo
#   hack/cluster.sh -h                        commands and flags
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
(cd "$ROOT" && GOFLAGS=-buildvcs=false go build -o _output/bin/backupview-cluster ./cmd/backupview-cluster)
exec "$ROOT/_output/bin/backupview-cluster" --root "$ROOT" "$@"
