#!/usr/bin/env bash
# make bench-scale: backupview's joined views against kube-apiserver's own objects, side by side,
# on a local control plane loaded by cmd/backupview-scale. Writes docs/benchmarks.md.
#
#   SCALE=default|small|custom:ns=..,bc=..,bs=..  (default: default; small is the CI smoke test)
#   BENCH_DIR      cluster state directory (default _output/bench-$SCALE; default scale keeps its
#                  data there between runs, so a second run skips the ~10 minute load)
#   ETCD_PORT=42379 ETCD_PEER_PORT=42380 KAS_PORT=46443 BV_PORT=48443 KCM_PORT=50257  (ports of this cluster)
#   BV_BIN         another backupview-apiserver binary to measure (default _output/bin/...)
#   BENCH_ARGS     extra flags for `backupview-scale bench` (e.g. "--rounds 7 --out ''")
#   LOAD_CONCURRENCY  requests in flight while loading (default 32)
#   KEEP=1         leave the cluster running afterwards; PURGE=1 delete its data too
#                  (default: stop it; purge for every scale but default)
# Exits non-zero only on real errors (a failing request, view count != BackupConfiguration
# count), never because of timings.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
SCALE=${SCALE:-default}
SAFE=${SCALE//[^a-z0-9]/-}
export BENCH_DIR=${BENCH_DIR:-_output/bench-$SAFE}
export ETCD_PORT=${ETCD_PORT:-42379} ETCD_PEER_PORT=${ETCD_PEER_PORT:-42380} KAS_PORT=${KAS_PORT:-46443} BV_PORT=${BV_PORT:-48443} KCM_PORT=${KCM_PORT:-50257}
# At the default scale backupview (and kube-apiserver) take a minute or more to sync.
export READY_TIMEOUT=${READY_TIMEOUT:-900}
# A large load grows etcd past its default 2 GiB quota before compaction catches up.
export ETCD_ARGS=${ETCD_ARGS:---quota-backend-bytes=8589934592}
# The generated CronJobs carry old lastScheduleTimes: the CronJob controller would start a Job
# for each of them and load the cluster with Jobs and Pods nobody runs (no kubelet here).
export KCM_ARGS=${KCM_ARGS:---controllers=*,-cronjob-controller,-job-controller}
KUBECTL="$ROOT/_output/bin/kubectl --kubeconfig $ROOT/$BENCH_DIR/kubeconfig"
SHARED=${BACKUPVIEW_SHARED:-$ROOT/../shared}
if [[ -z ${PURGE:-} && $SCALE != default ]]; then PURGE=1; fi

go build -o _output/bin/backupview-scale ./cmd/backupview-scale

cleanup() {
  local rc=$?
  if [[ -n ${KEEP:-} ]]; then
    echo "cluster left running in $BENCH_DIR: eval \"\$(hack/cluster.sh env $BENCH_DIR)\""
  elif [[ -n ${PURGE:-} ]]; then
    hack/cluster.sh down "$BENCH_DIR" --purge || true
  else
    hack/cluster.sh down "$BENCH_DIR" || true
  fi
  exit $rc
}
trap cleanup EXIT

hack/cluster.sh up "$BENCH_DIR"
hack/cluster.sh register "$BENCH_DIR"
if [[ -d $SHARED/kubestash-crds ]]; then
  CRDS=$SHARED/kubestash-crds # the upstream CRDs, as a real cluster has them
else
  echo "NOTE: $SHARED/kubestash-crds absent: using the project's own CRDs (hack/crds)"
  CRDS=hack/crds
fi
$KUBECTL apply --server-side -f "$CRDS" -f hack/demo/target-crds.yaml >/dev/null
# A CRD created a moment ago may have no status yet, which kubectl wait reports as an error.
for i in $(seq 60); do
  $KUBECTL wait --for=condition=Established crd --all --timeout=60s >/dev/null 2>&1 && break
  [[ $i == 60 ]] && { echo "CRDs not Established" >&2; exit 1; }
  sleep 1
done

# Load (skipped when the cluster already holds this scale), with backupview stopped so that
# the generator's rate is kube-apiserver's alone.
hack/cluster.sh stop-server "$BENCH_DIR" >/dev/null
_output/bin/backupview-scale load --kubeconfig "$BENCH_DIR/kubeconfig" --scale "$SCALE" --concurrency "${LOAD_CONCURRENCY:-32}"

read -r -a extra <<< "${BENCH_ARGS:-}"
_output/bin/backupview-scale bench --dir "$BENCH_DIR" --root "$ROOT" --scale "$SCALE" ${extra[@]+"${extra[@]}"}
