#!/usr/bin/env bash
# Packages the Helm chart deploy/helm/backupview into OUT/backupview-<version>.tgz.
#   hack/package-chart.sh [OUT]   # OUT: the argument, else $RELEASE_DIR, else _output/release
#   VERSION  the release (default: git describe, as the Makefile's). The chart's version is it
#            without the leading v (a chart version is SemVer 2: a bare commit hash becomes
#            0.0.0-<hash>); the appVersion, hence the default image tag, is VERSION itself.
#   _output/image/digest  (sha256:..., written by `make image`) when present: the packaged
#            values.yaml pins image.digest to it, so the chart installs exactly that image.
# The chart in the repository is not modified: a copy is packaged.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
HELM=${HELM:-$ROOT/_output/bin/helm}
[[ -x $HELM ]] || { echo "$HELM is missing: run make helm" >&2; exit 1; }
VERSION=${VERSION:-$(git -C "$ROOT" describe --tags --always --dirty 2>/dev/null || echo v0.1.0-dev)}
CHART_VERSION=${VERSION#v}
SEMVER='^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$'
[[ $CHART_VERSION =~ $SEMVER ]] || CHART_VERSION=0.0.0-$CHART_VERSION
[[ $CHART_VERSION =~ $SEMVER ]] || { echo "cannot make a chart version of VERSION=$VERSION" >&2; exit 1; }

TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT
cp -r "$ROOT/deploy/helm/backupview" "$TMP/backupview"
DIGEST_FILE=$ROOT/_output/image/digest
if [[ -f $DIGEST_FILE ]]; then
  DIGEST=$(tr -d '[:space:]' < "$DIGEST_FILE")
  [[ $DIGEST =~ ^sha256:[0-9a-f]{64}$ ]] || { echo "$DIGEST_FILE does not hold sha256:<64 hex>: $DIGEST" >&2; exit 1; }
  # Exactly one `  digest: ""` (image.digest) in values.yaml; anything else is an error, not
  # a chart silently packaged without its digest.
  [[ $(grep -c '^  digest: ""' "$TMP/backupview/values.yaml") == 1 ]] || { echo "values.yaml: no single image.digest line to set" >&2; exit 1; }
  sed -i "s|^  digest: \"\"|  digest: \"$DIGEST\"|" "$TMP/backupview/values.yaml"
  echo ">> image.digest: $DIGEST"
fi
OUT=${1:-${RELEASE_DIR:-$ROOT/_output/release}}
mkdir -p "$OUT"
"$HELM" lint --strict "$TMP/backupview"
"$HELM" package "$TMP/backupview" --version "$CHART_VERSION" --app-version "$VERSION" -d "$OUT"
