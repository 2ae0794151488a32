#!/usr/bin/env bash
# Builds Prometheus's promtool (github.com/prometheus/prometheus/cmd/promtool) from the Go
# module proxy, once, into a version-keyed cache outside the work tree, then copies it into
# _output/bin. As hack/build-control-plane.sh does for the control plane, it is built in a
# throwaway module, so the project's go.mod never requires github.com/prometheus/prometheus.
# The rules tests (test/monitoring) run it: `promtool check rules` and `promtool test rules`.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
V=${PROMTOOL_VERSION:-v0.316.0} # the module's version (Prometheus tags v3.N.M as v0.3NN.M)
CACHE=${BACKUPVIEW_CACHE:-$HOME/.cache/backupview}
PDIR=$CACHE/bin/promtool-$V
OUT=$ROOT/_output/bin
# remove_all_sd leaves out the service-discovery plugins (cloud SDKs) that promtool's
# `check config` would otherwise link in; rule checking and rule unit tests do not use them.
TAGS=remove_all_sd
export GOFLAGS="-buildvcs=false -tags=$TAGS"
mkdir -p "$OUT" "$PDIR"

if [[ ! -x $PDIR/promtool ]]; then
  echo ">> building promtool $V (first time: a few minutes on 2 cores)"
  W=$CACHE/work/promtool-$V; mkdir -p "$W"; cd "$W"
  printf 'module example.com/promtoolbin\n\ngo 1.26.7\n' > go.mod
  printf '//go:build tools\n\npackage promtoolbin\n\nimport _ "github.com/prometheus/prometheus/cmd/promtool"\n' > tools.go
  # go get (not go mod tidy) resolves only the packages of this build (these tags, this
  # platform), so the cloud SDKs of the left-out plugins are not even downloaded.
  go get "github.com/prometheus/prometheus/cmd/promtool@$V"
  PV=github.com/prometheus/common/version
  go build -trimpath -ldflags "-s -w -X $PV.Version=${V#v} -X $PV.Branch=module -X $PV.Revision=$V" \
    -o "$PDIR/promtool.tmp" github.com/prometheus/prometheus/cmd/promtool
  mv "$PDIR/promtool.tmp" "$PDIR/promtool"
fi

cmp -s "$PDIR/promtool" "$OUT/promtool" || cp "$PDIR/promtool" "$OUT/promtool"
echo ">> promtool $V in $OUT"
