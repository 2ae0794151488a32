#!/usr/bin/env bash
# make test-headlamp: the Headlamp plugin's type check and unit tests (vitest, jsdom), its
# tarball (hack/headlamp-plugin.sh), then the browser test: Headlamp's frontend code (a harness
# build of @kinvolk/headlamp-plugin's lib/, plugins/headlamp/e2e/harness) loading the packaged
# plugin, in Debian's headless chromium driven by playwright-core, against a local control plane
# with backupview and the demo's objects (hack/demo/samples.yaml). Screenshots: _output/headlamp-e2e/.
# Needs: node and npm (npm ci from the lockfile), /usr/bin/chromium (apt-get install chromium),
# and `make build control-plane` (the Makefile target does it).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
P=plugins/headlamp
DIR=_output/headlamp-e2e-cluster
OUT=_output/headlamp-e2e
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
t() { echo "==== $* ($(date -u +%T))"; }

if [[ ! -x "$CHROMIUM" ]]; then
  echo "test-headlamp: $CHROMIUM not found: apt-get install -y chromium (Debian's package; nothing downloads a browser)" >&2
  exit 1
fi

t "npm ci (when node_modules is older than the lockfile)"
if [[ ! -d $P/node_modules || $P/package-lock.json -nt $P/node_modules/.package-lock.json ]]; then
  (cd $P && npm ci --no-audit --no-fund)
fi

t "type check, lint and unit tests"
(cd $P && npx headlamp-plugin tsc && npx headlamp-plugin lint && CI=true npx headlamp-plugin test)

t "plugin tarball"
hack/headlamp-plugin.sh

t "harness build (Headlamp's frontend from @kinvolk/headlamp-plugin's lib/)"
# About a minute to build: kept in ~/.cache/backupview by the hash of the lockfile and the harness.
stamp=$(cat $P/package-lock.json $P/e2e/harness/* | sha256sum | cut -d' ' -f1)
cache="${XDG_CACHE_HOME:-$HOME/.cache}/backupview/headlamp-harness-$stamp"
if [[ "$(cat _output/headlamp-harness/.stamp 2>/dev/null)" != "$stamp" ]]; then
  if [[ ! -f "$cache/index.html" ]]; then
    (cd $P && HARNESS_OUT="$cache.tmp" npx vite build --config e2e/harness/vite.config.mjs 2>&1 | grep -v 'externalized for browser compatibility' || true)
    [[ -f "$cache.tmp/index.html" ]] || { echo "harness build failed" >&2; exit 1; }
    rm -rf "$cache" && mv "$cache.tmp" "$cache"
  fi
  rm -rf _output/headlamp-harness && cp -r "$cache" _output/headlamp-harness
  echo "$stamp" >_output/headlamp-harness/.stamp
fi

t "control plane with backupview and the demo's objects"
hack/cluster.sh down "$DIR" --purge >/dev/null 2>&1 || true
trap 'hack/cluster.sh down "$DIR" --purge >/dev/null 2>&1 || true' EXIT
hack/cluster.sh up "$DIR" >/dev/null
hack/cluster.sh register "$DIR" >/dev/null
hack/cluster.sh install-crds "$DIR" >/dev/null
hack/cluster.sh start-server "$DIR" >/dev/null
_output/bin/backupview-fixtures --kubeconfig "$DIR/kubeconfig" hack/demo/samples.yaml
# backupview's RBAC as its install applies it (deploy/rbac-aggregate.yaml: aggregated into the
# built-in view/edit/admin ClusterRoles), then alice (no groups) may read one namespace: view.
_output/bin/kubectl --kubeconfig "$DIR/kubeconfig" apply -f deploy/rbac-aggregate.yaml >/dev/null
_output/bin/kubectl --kubeconfig "$DIR/kubeconfig" -n demo create rolebinding alice-view --clusterrole=view --user=alice >/dev/null

t "browser test"
rm -rf "$OUT" && mkdir -p "$OUT"
export E2E_ADMIN_KUBECONFIG="$ROOT/$DIR/kubeconfig" E2E_ALICE_KUBECONFIG="$ROOT/$DIR/kubeconfig-alice" E2E_ALICE_NAMESPACE=demo \
  E2E_KUBECTL="$ROOT/_output/bin/kubectl" E2E_OUT="$ROOT/$OUT" E2E_HARNESS="$ROOT/_output/headlamp-harness" \
  E2E_PLUGIN_DIR="$ROOT/_output/headlamp-plugins/backupview-headlamp" E2E_CHROMIUM="$CHROMIUM"
(cd $P && node --test --test-reporter=spec e2e/run.mjs)
t "screenshots in $OUT"
ls "$OUT"
