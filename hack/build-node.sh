#!/usr/bin/env bash
# Builds what a real node of the test control plane runs, once, into the version-keyed cache
# that hack/build-control-plane.sh uses, then copies it into _output/bin:
#   - kubelet, kube-scheduler and kube-proxy from k8s.io/kubernetes, with the same Go settings
#     as the control plane (so the build cache is shared);
#   - containerd v2, ctr and containerd-shim-runc-v2 from the module proxy, static (CGO off).
# runc, the CNI plugins, nftables/iptables and conntrack come from Debian (installed here when
# missing). docs/real-node.md says why each setting is there.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/hack/lib/k8s-build.sh"
K8S=${K8S_VERSION:-1.37.2}; STAGING=v0.${K8S#1.}; CTRD=${CONTAINERD_VERSION:-v2.4.2}
CACHE=${BACKUPVIEW_CACHE:-$HOME/.cache/backupview}
NDIR=$CACHE/bin/k8s-node-v$K8S; CDIR=$CACHE/bin/containerd-$CTRD
OUT=$ROOT/_output/bin
export GOFLAGS=-buildvcs=false
mkdir -p "$OUT" "$NDIR" "$CDIR"

pkgs=()
command -v runc >/dev/null || pkgs+=(runc)
[[ -x /usr/lib/cni/bridge ]] || pkgs+=(containernetworking-plugins)
command -v nft >/dev/null || pkgs+=(nftables)
command -v iptables >/dev/null || pkgs+=(iptables)
command -v conntrack >/dev/null || pkgs+=(conntrack)
if ((${#pkgs[@]})); then
  echo ">> installing ${pkgs[*]} from Debian"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${pkgs[@]}" >/dev/null
fi

if [[ ! -x $NDIR/kubelet || ! -x $NDIR/kube-scheduler || ! -x $NDIR/kube-proxy ]]; then
  echo ">> building kubelet, kube-scheduler and kube-proxy v$K8S (first time: ~6 min on 2 cores after the control plane)"
  W=$CACHE/work/k8s-node-v$K8S; mkdir -p "$W"; cd "$W"
  k8s_build k8snodebins "$NDIR" kubelet kube-scheduler kube-proxy
fi

if [[ ! -x $CDIR/containerd || ! -x $CDIR/ctr || ! -x $CDIR/containerd-shim-runc-v2 ]]; then
  echo ">> building containerd $CTRD (first time: ~1 min)"
  W=$CACHE/work/containerd-$CTRD; mkdir -p "$W"; cd "$W"
  printf 'module example.com/containerdbins\n\ngo 1.26.0\n' > go.mod
  printf '//go:build tools\n\npackage containerdbins\n\nimport (\n\t_ "github.com/containerd/containerd/v2/cmd/containerd"\n\t_ "github.com/containerd/containerd/v2/cmd/ctr"\n\t_ "github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2"\n)\n' > tools.go
  go get "github.com/containerd/containerd/v2@$CTRD"
  go mod tidy
  TAGS="urfave_cli_no_docs osusergo netgo static_build no_btrfs no_devmapper no_zfs"
  VL="-X github.com/containerd/containerd/v2/version.Version=$CTRD"
  CGO_ENABLED=0 go build -trimpath -tags "$TAGS" -ldflags "-s -w $VL" -o "$CDIR.tmp/" \
    github.com/containerd/containerd/v2/cmd/containerd github.com/containerd/containerd/v2/cmd/ctr
  CGO_ENABLED=0 go build -trimpath -tags "$TAGS no_grpc" -ldflags "-s -w $VL" -o "$CDIR.tmp/" \
    github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2
  mv "$CDIR.tmp/"* "$CDIR/" && rmdir "$CDIR.tmp"
fi

for b in kubelet kube-scheduler kube-proxy; do cmp -s "$NDIR/$b" "$OUT/$b" || cp "$NDIR/$b" "$OUT/$b"; done
for b in containerd ctr containerd-shim-runc-v2; do cmp -s "$CDIR/$b" "$OUT/$b" || cp "$CDIR/$b" "$OUT/$b"; done
echo ">> node binaries in $OUT"
