#!/usr/bin/env bash
# Builds Krew (sigs.k8s.io/krew/cmd/krew), the kubectl plugin manager, from the Go module
# proxy, once, into a version-keyed cache outside the work tree, then copies it into
# _output/bin as kubectl-krew (so that `kubectl krew` finds it on PATH). As
# hack/build-promtool.sh does, it is built in a throwaway module, so the project's go.mod
# never requires sigs.k8s.io/krew. test/release installs the released plugin with it:
# `kubectl krew install --manifest=... --archive=...`.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
V=${KREW_VERSION:-v0.4.3}
CACHE=${BACKUPVIEW_CACHE:-$HOME/.cache/backupview}
KDIR=$CACHE/bin/krew-$V
OUT=$ROOT/_output/bin
export GOFLAGS=-buildvcs=false
mkdir -p "$OUT" "$KDIR"

if [[ ! -x $KDIR/kubectl-krew ]]; then
  echo ">> building krew $V (first time: about a minute on 2 cores)"
  W=$CACHE/work/krew-$V; mkdir -p "$W"; cd "$W"
  printf 'module example.com/krewbin\n\ngo 1.26.0\n' > go.mod
  printf '//go:build tools\n\npackage krewbin\n\nimport _ "sigs.k8s.io/krew/cmd/krew"\n' > tools.go
  # Krew v0.4.3 (2022) pins modern-go/reflect2 v1.0.1, whose map iteration breaks on Go
  # 1.18 and later (json-iterator, through k8s.io/apimachinery, crashes); and golang.org/x/sys
  # of 2021. Newer releases of both, the ones the project itself uses, build and run.
  go get "sigs.k8s.io/krew/cmd/krew@$V" \
    github.com/modern-go/reflect2@v1.0.3-0.20250322232337-35a7c28c31ee \
    github.com/json-iterator/go@v1.1.12 \
    golang.org/x/sys@v0.47.0
  KV=sigs.k8s.io/krew/internal/version
  go build -trimpath -ldflags "-s -w -X $KV.gitTag=$V -X $KV.gitCommit=$V" \
    -o "$KDIR/kubectl-krew.tmp" sigs.k8s.io/krew/cmd/krew
  mv "$KDIR/kubectl-krew.tmp" "$KDIR/kubectl-krew"
fi

cmp -s "$KDIR/kubectl-krew" "$OUT/kubectl-krew" || cp "$KDIR/kubectl-krew" "$OUT/kubectl-krew"
echo ">> krew $V in $OUT/kubectl-krew"
