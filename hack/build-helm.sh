#!/usr/bin/env bash
# Builds the Helm CLI (helm.sh/helm/v4/cmd/helm) from the Go module proxy, once, into a
# version-keyed cache outside the work tree, then copies it into _output/bin. As
# hack/build-promtool.sh does for promtool, it is built in a throwaway module, so the
# project's go.mod never requires helm.sh/helm/v4. The chart's lint, packaging, tests
# (test/chart) and the deploy/ rendering (hack/update-deploy.sh) run it.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
V=${HELM_VERSION:-v4.3.2}
CACHE=${BACKUPVIEW_CACHE:-$HOME/.cache/backupview}
HDIR=$CACHE/bin/helm-$V
OUT=$ROOT/_output/bin
# Helm's own release builds are static (CGO_ENABLED=0); so is this one.
export GOFLAGS=-buildvcs=false CGO_ENABLED=0
mkdir -p "$OUT" "$HDIR"

if [[ ! -x $HDIR/helm ]]; then
  echo ">> building helm $V (first time: a few minutes on 2 cores)"
  W=$CACHE/work/helm-$V; mkdir -p "$W"; cd "$W"
  printf 'module example.com/helmbin\n\ngo 1.26.0\n' > go.mod
  printf '//go:build tools\n\npackage helmbin\n\nimport _ "helm.sh/helm/v4/cmd/helm"\n' > tools.go
  # go get (not go mod tidy) resolves only the packages of this build, not helm's tests'.
  go get "helm.sh/helm/v4/cmd/helm@$V"
  HV=helm.sh/helm/v4/internal/version
  # The ldflags helm's Makefile sets for a tagged release: `helm version` reads $V, clean.
  go build -trimpath -ldflags "-s -w -X $HV.version=$V -X $HV.metadata= -X $HV.gitTreeState=clean" \
    -o "$HDIR/helm.tmp" helm.sh/helm/v4/cmd/helm
  mv "$HDIR/helm.tmp" "$HDIR/helm"
fi

cmp -s "$HDIR/helm" "$OUT/helm" || cp "$HDIR/helm" "$OUT/helm"
echo ">> helm $V in $OUT"
