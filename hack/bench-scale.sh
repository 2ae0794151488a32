#!/usr/bin/env bash
# make bench-scale: backupview's joined views against kube-apiserver's own objects, side by side,
# on a local control plane loaded by cmd/backupview-scale. Writes docs/benchmarks.md.
#
#   SCALE=default|medium|small|custom:ns=..,bc=..,bs=..[,snap=0]  (default: default; small is the CI smoke test;
#                  small, medium and default make the growth table, from docs/bench-results/)
#   BENCH_DIR      cluster state directory (default _output/bench-$SCALE; default scale keeps its
#                  data there between runs, so a second run skips the ~10 minute load)
#   BV_BIN         another backupview-apiserver binary to measure (default _output/bin/...)
#   BENCH_ARGS     extra flags for `backupview-scale bench` (e.g. "--rounds 7 --out="; split on spaces)
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
# The cluster's flags (hack/cluster.sh -h). At the default scale backupview (and
# kube-apiserver) take a minute or more to sync; a large load grows etcd past its default
# 2 GiB quota before compaction catches up; the generated CronJobs fired long ago, so
# kube-controller-manager runs without the controllers that would start their Jobs.
CLUSTER_FLAGS=(--ready-timeout=15m --etcd-arg=--quota-backend-bytes=8589934592 --no-triggers)
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

hack/cluster.sh up "$BENCH_DIR" "${CLUSTER_FLAGS[@]}"
hack/cluster.sh register "$BENCH_DIR"
hack/cluster.sh install-crds "$BENCH_DIR" # the upstream CRDs, as a real cluster has them

# Load (skipped when the cluster already holds this scale), with backupview stopped so that
# the generator's rate is kube-apiserver's alone.
hack/cluster.sh stop-server "$BENCH_DIR" >/dev/null
_output/bin/backupview-scale load --kubeconfig "$BENCH_DIR/kubeconfig" --scale "$SCALE" --concurrency "${LOAD_CONCURRENCY:-32}"

read -r -a extra <<< "${BENCH_ARGS:-}"
_output/bin/backupview-scale bench --dir "$BENCH_DIR" --root "$ROOT" --scale "$SCALE" ${extra[@]+"${extra[@]}"}
