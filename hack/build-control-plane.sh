#!/usr/bin/env bash
# Builds kube-apiserver, kube-controller-manager, kubectl (k8s.io/kubernetes) and etcd (go.etcd.io/etcd/server/v3)
# from the Go module proxy, once, into a version-keyed cache outside the work tree, then
# copies them into _output/bin. Each is built in a throwaway module so the project's own
# go.mod never requires k8s.io/kubernetes (its replace directives would pin our k8s.io/*).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
K8S=${K8S_VERSION:-1.37.2}; STAGING=v0.${K8S#1.}; ETCD=${ETCD_VERSION:-v3.6.16}
CACHE=${BACKUPVIEW_CACHE:-$HOME/.cache/backupview}
KDIR=$CACHE/bin/k8s-v$K8S; EDIR=$CACHE/bin/etcd-$ETCD
OUT=$ROOT/_output/bin
export GOFLAGS=-buildvcs=false
mkdir -p "$OUT" "$KDIR" "$EDIR"

if [[ ! -x $KDIR/kube-apiserver || ! -x $KDIR/kubectl || ! -x $KDIR/kube-controller-manager ]]; then
  echo ">> building kube-apiserver, kube-controller-manager and kubectl v$K8S (first time: ~11 min on 2 cores)"
  W=$CACHE/work/k8s-v$K8S; mkdir -p "$W"; cd "$W"
  go mod download -json "k8s.io/kubernetes@v$K8S" >/dev/null
  MOD=$(go env GOMODCACHE)/cache/download/k8s.io/kubernetes/@v/v$K8S.mod
  # The staging repos are nested modules missing from the k8s.io/kubernetes zip: map each
  # to its published v0.x.y.
  { echo "module example.com/k8sbins"; echo; echo "go $(awk '/^go /{print $2}' "$MOD")"; echo
    grep '^godebug' "$MOD" || true; echo
    echo "require k8s.io/kubernetes v$K8S"; echo; echo "replace ("
    sed -n '/^replace (/,/^)/p' "$MOD" | awk '/=>/{print "\t"$1" => "$1" '"$STAGING"'"}'; echo ")"; } > go.mod
  printf '//go:build tools\n\npackage k8sbins\n\nimport (\n\t_ "k8s.io/kubernetes/cmd/kube-apiserver"\n\t_ "k8s.io/kubernetes/cmd/kubectl"\n\t_ "k8s.io/kubernetes/cmd/kube-controller-manager"\n)\n' > tools.go
  go mod tidy
  V=k8s.io/component-base/version
  LDF="-s -w -X $V.gitVersion=v$K8S -X $V.gitMajor=${K8S%%.*} -X $V.gitMinor=$(echo "$K8S" | cut -d. -f2) -X $V.gitTreeState=clean"
  go build -trimpath -ldflags "$LDF" -o "$KDIR.tmp/" k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kubectl k8s.io/kubernetes/cmd/kube-controller-manager
  mv "$KDIR.tmp/"* "$KDIR/" && rmdir "$KDIR.tmp"
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
