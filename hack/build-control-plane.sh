#!/usr/bin/env bash
# Builds kube-apiserver, kube-controller-manager, kubectl (k8s.io/kubernetes) and etcd (go.etcd.io/etcd/server/v3)
# from the Go module proxy, once, into a version-keyed cache outside the work tree, then
# copies them into _output/bin. Each is built in a throwaway module (hack/lib/k8s-build.sh).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/hack/lib/k8s-build.sh"
K8S=${K8S_VERSION:-1.37.2}; STAGING=v0.${K8S#1.}; ETCD=${ETCD_VERSION:-v3.6.16}
CACHE=${BACKUPVIEW_CACHE:-$HOME/.cache/backupview}
KDIR=$CACHE/bin/k8s-v$K8S; EDIR=$CACHE/bin/etcd-$ETCD
OUT=$ROOT/_output/bin
export GOFLAGS=-buildvcs=false
mkdir -p "$OUT" "$KDIR" "$EDIR"

if [[ ! -x $KDIR/kube-apiserver || ! -x $KDIR/kubectl || ! -x $KDIR/kube-controller-manager ]]; then
  echo ">> building kube-apiserver, kube-controller-manager and kubectl v$K8S (first time: ~11 min on 2 cores)"
  W=$CACHE/work/k8s-v$K8S; mkdir -p "$W"; cd "$W"
  k8s_build k8sbins "$KDIR" kube-apiserver kubectl kube-controller-manager
fi

if [[ ! -x $EDIR/etcd ]]; then
  echo ">> building etcd $ETCD (first time: ~80 s)"
  W=$CACHE/work/etcd-$ETCD; mkdir -p "$W"; cd "$W"
  printf 'module example.com/etcdbin\n\ngo 1.26.0\n\nrequire go.etcd.io/etcd/server/v3 %s\n' "$ETCD" > go.mod
  printf '//go:build tools\n\npackage etcdbin\n\nimport _ "go.etcd.io/etcd/server/v3"\n' > tools.go
  go mod tidy
  go build -trimpath -ldflags "-s -w" -o "$EDIR/etcd.tmp" go.etcd.io/etcd/server/v3
  mv "$EDIR/etcd.tmp" "$EDIR/etcd"
fi

for b in kube-apiserver kube-controller-manager kubectl; do cmp -s "$KDIR/$b" "$OUT/$b" || cp "$KDIR/$b" "$OUT/$b"; done
cmp -s "$EDIR/etcd" "$OUT/etcd" || cp "$EDIR/etcd" "$OUT/etcd"
echo ">> control-plane binaries in $OUT"
