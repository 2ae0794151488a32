#!/usr/bin/env bash
# make demo: a local control plane (etcd, kube-apiserver, kube-controller-manager) with KubeStash
# CRDs and sample objects, backupview-apiserver registered through an APIService, then
# `kubectl get bcv -A`. Everything is left running;
# running it again is harmless. Stop it with `make demo-down`.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
DIR=_output/demo
KUBECTL="$ROOT/_output/bin/kubectl --kubeconfig $ROOT/$DIR/kubeconfig"

hack/cluster.sh up "$DIR"
hack/cluster.sh register "$DIR" >/dev/null
# The upstream CRDs from ../shared when present: the samples must pass the real schema.
hack/cluster.sh install-crds "$DIR"
hack/cluster.sh start-server "$DIR"
_output/bin/backupview-fixtures --kubeconfig "$DIR/kubeconfig" hack/demo/samples.yaml
# The views follow the objects within a second.
sleep 1
echo
echo "\$ kubectl get bcv -A"
$KUBECTL get bcv -A
cat <<EOT

The control plane (etcd, kube-apiserver, kube-controller-manager) and backupview keep running.
Use them with:
  export KUBECONFIG=$ROOT/$DIR/kubeconfig PATH=$ROOT/_output/bin:\$PATH
  kubectl get bcv -A -o wide
  kubectl get bcv -n demo mongodb-backup -o yaml
  kubectl get bcv -A -w
  kubectl explain bcv.summary
Logs: $DIR/logs/   Stop everything: make demo-down
EOT
