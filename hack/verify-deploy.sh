#!/usr/bin/env bash
# Fails when deploy/ is not the chart's rendering: renders it afresh (hack/update-deploy.sh)
# into a temp dir and diffs every file, and flags a manifest in deploy/ or deploy/monitoring/
# that the rendering no longer has (a file to remove).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT
"$ROOT/hack/update-deploy.sh" "$TMP" >/dev/null
rc=0
while IFS= read -r f; do
  diff -u "$ROOT/deploy/$f" "$TMP/$f" || rc=1
done < <(cd "$TMP" && find . -type f | sed 's|^\./||' | sort)
for f in "$ROOT"/deploy/*.yaml "$ROOT"/deploy/monitoring/*; do
  rel=${f#"$ROOT/deploy/"}
  [[ -e $TMP/$rel ]] || { echo "deploy/$rel is not rendered from the chart: remove it, or move it into the chart" >&2; rc=1; }
done
if [[ $rc != 0 ]]; then
  echo "deploy/ differs from the chart's rendering: run hack/update-deploy.sh" >&2
  exit 1
fi
echo ">> deploy/ is the rendering of deploy/helm/backupview"
