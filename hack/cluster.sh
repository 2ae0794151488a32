#!/usr/bin/env bash
# A local control plane (etcd, kube-apiserver and kube-controller-manager, all on loopback)
# with backupview-apiserver aggregated into it through an APIService -> ExternalName Service
# -> localhost:$BV_PORT. kube-controller-manager runs every default controller (garbage
# collector, namespace, ClusterRole aggregation, CronJob, Job, service accounts and tokens...),
# as in a real cluster; there are no nodes, so Pods stay Pending.
#
# Usage: hack/cluster.sh COMMAND [DIR] [--purge]
#   up            make the PKI (kept if present), start etcd and kube-apiserver, wait for /readyz,
#                 write DIR/kubeconfig (admin, system:masters) and DIR/kubeconfig-alice (no groups),
#                 then start kube-controller-manager (as system:kube-controller-manager) and wait
#                 for its /healthz; starts only what is not running
#   register      apply Namespace backupview-system, Service backupview (ExternalName localhost)
#                 and APIService v1alpha1.ui.kubestash.com (caBundle = backupview-ca)
#   start-server  start _output/bin/backupview-apiserver (another binary: BV_BIN=path; extra
#                 flags: BV_ARGS="..."), wait for its /readyz and, if registered, for the
#                 APIService to be Available
#   stop-server   stop backupview-apiserver only
#   stop-kas      stop kube-apiserver only (etcd, kube-controller-manager and backupview keep
#                 running, and reconnect): an outage. kube-controller-manager's informers back
#                 off meanwhile: after start-kas its controllers may take a minute to act again
#   start-kas     start kube-apiserver again on the same etcd, wait for its /readyz
#   down          stop everything this DIR started (files stay); with --purge also delete DIR
#   status        show which processes run
#   env           print export lines for KUBECONFIG and PATH: eval "$(hack/cluster.sh env DIR)"
#
# DIR defaults to _output/demo; a relative DIR is taken from the repository root.
# Extra flags (env, optional, split on blanks): ETCD_ARGS for etcd, KAS_ARGS for kube-apiserver
# and KCM_ARGS for kube-controller-manager, e.g. ETCD_ARGS=--quota-backend-bytes=8589934592 for
# large loads.
# Ports (env): ETCD_PORT=12379 ETCD_PEER_PORT=12380 KAS_PORT=16443 KCM_PORT=20257 (its secure
# port: /healthz, /metrics) BV_PORT=18443, each the usual port + 10000. The values
# in effect are saved in DIR/cluster.env and reused by later commands on the same DIR unless
# set again in the environment. Processes run detached (own session); logs in DIR/logs,
# PIDs in DIR/pids. up and start-server do nothing when already running and ready.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=$ROOT/_output/bin
# shellcheck source=hack/lib/pki.sh
source "$ROOT/hack/lib/pki.sh"

APISERVICE=v1alpha1.ui.kubestash.com
NAMESPACE=backupview-system
SERVICE=backupview
READY_TIMEOUT=${READY_TIMEOUT:-60}
STOP_GRACE=${STOP_GRACE:-10}

die() { echo "cluster.sh: $*" >&2; exit 1; }
now() { echo "${EPOCHREALTIME/[.,]/}"; } # microseconds
elapsed() { local us=$(( $(now) - $1 )); printf '%d.%02ds' $((us / 1000000)) $((us % 1000000 / 10000)); }

usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; }

# ---- state ------------------------------------------------------------------------------

declare -A SAVED=() # ports saved in DIR/cluster.env

# same_ports_as_running: processes still running keep the ports they were started with.
same_ports_as_running() {
  local k
  if pid_of etcd >/dev/null; then
    for k in ETCD_PORT ETCD_PEER_PORT; do
      [[ ${SAVED[$k]:-${!k}} == "${!k}" ]] || die "etcd of $DIR runs with $k=${SAVED[$k]}, not ${!k}: run 'down' first"
    done
  fi
  if pid_of kube-apiserver >/dev/null; then
    [[ ${SAVED[KAS_PORT]:-$KAS_PORT} == "$KAS_PORT" ]] ||
      die "kube-apiserver of $DIR runs with KAS_PORT=${SAVED[KAS_PORT]}, not $KAS_PORT: run 'down' first"
  fi
  if pid_of kube-controller-manager >/dev/null; then
    [[ ${SAVED[KCM_PORT]:-$KCM_PORT} == "$KCM_PORT" ]] ||
      die "kube-controller-manager of $DIR runs with KCM_PORT=${SAVED[KCM_PORT]}, not $KCM_PORT: run 'down' first"
  fi
  if pid_of backupview >/dev/null; then
    [[ ${SAVED[BV_PORT]:-$BV_PORT} == "$BV_PORT" ]] ||
      die "backupview-apiserver of $DIR runs with BV_PORT=${SAVED[BV_PORT]}, not $BV_PORT: run 'stop-server' first"
  fi
}

load_state() {
  local f=$DIR/cluster.env k v
  SAVED=()
  if [[ -f $f ]]; then
    while IFS='=' read -r k v; do
      [[ $k =~ ^(ETCD_PORT|ETCD_PEER_PORT|KAS_PORT|KCM_PORT|BV_PORT)$ && $v =~ ^[0-9]+$ ]] && SAVED[$k]=$v
    done < "$f"
  fi
  ETCD_PORT=${ETCD_PORT:-${SAVED[ETCD_PORT]:-12379}}
  ETCD_PEER_PORT=${ETCD_PEER_PORT:-${SAVED[ETCD_PEER_PORT]:-12380}}
  KAS_PORT=${KAS_PORT:-${SAVED[KAS_PORT]:-16443}}
  KCM_PORT=${KCM_PORT:-${SAVED[KCM_PORT]:-20257}}
  BV_PORT=${BV_PORT:-${SAVED[BV_PORT]:-18443}}
  PKI=$DIR/pki; LOGS=$DIR/logs; PIDS=$DIR/pids
  KUBECONFIG_ADMIN=$DIR/kubeconfig
  KUBECONFIG_KCM=$DIR/kubeconfig-kube-controller-manager
  KAS_URL=https://127.0.0.1:$KAS_PORT
}

save_state() {
  mkdir -p "$DIR"
  : > "$DIR/.backupview-cluster" # marks DIR as ours, for down --purge
  printf 'ETCD_PORT=%s\nETCD_PEER_PORT=%s\nKAS_PORT=%s\nKCM_PORT=%s\nBV_PORT=%s\n' \
    "$ETCD_PORT" "$ETCD_PEER_PORT" "$KAS_PORT" "$KCM_PORT" "$BV_PORT" > "$DIR/cluster.env"
}

need_bins() {
  local b
  for b in "$@"; do
    [[ -x $BIN/$b ]] || die "$BIN/$b is missing; build it first (hack/build-control-plane.sh, or make for backupview-apiserver)"
  done
}

# ---- processes ----------------------------------------------------------------------------

# Process NAME (pid and log file names) -> binary. BV_BIN lets start-server run a
# backupview-apiserver built elsewhere.
bin_of() {
  if [[ $1 == backupview ]]; then echo "${BV_BIN:-$BIN/backupview-apiserver}"; else echo "$BIN/$1"; fi
}

# pid_of NAME: prints the PID from DIR/pids/NAME.pid if that process is alive and still runs
# a binary of the same name as the one it was started with (guards against PID reuse).
pid_of() {
  local f=$PIDS/$1.pid pid want a
  local -a argv=()
  { read -r pid < "$f"; } 2>/dev/null || return 1
  [[ $pid =~ ^[0-9]+$ ]] && alive "$pid" || return 1
  { mapfile -d '' -n 2 -t argv < "/proc/$pid/cmdline"; } 2>/dev/null || return 1
  want=$(bin_of "$1"); want=${want##*/}
  for a in ${argv[@]+"${argv[@]}"}; do # argv[1] too: a script run through its interpreter
    if [[ ${a##*/} == "$want" ]]; then echo "$pid"; return 0; fi
  done
  return 1
}

# alive PID: the process exists and is not a zombie (PID 1 here may reap exited orphans late).
alive() {
  local st
  # not $(< file): under set -e, bash 5.2 exits outright when that file is missing, even with ||
  st=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  st=${st##*) }
  [[ ${st%% *} != Z ]]
}

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# spawn NAME ARGS...: runs $(bin_of NAME) detached (new session, no tty, stdin from /dev/null,
# output to DIR/logs/NAME.log) and records its PID.
spawn() {
  local name=$1 bin; shift
  bin=$(bin_of "$name")
  mkdir -p "$LOGS" "$PIDS"
  echo "=== $(date -Is) $bin $*" >> "$LOGS/$name.log"
  # Without job control a background job is not a process-group leader, so setsid execs in
  # place and $! is the PID of the server itself.
  setsid "$bin" "$@" < /dev/null >> "$LOGS/$name.log" 2>&1 &
  echo "$!" > "$PIDS/$name.pid"
}

# signal SIG PID: to the process group spawn made (setsid: PGID = PID), so children go too.
signal() {
  local pgid
  pgid=$(ps -o pgid= -p "$2" 2>/dev/null | tr -d ' ') || true
  if [[ $pgid == "$2" ]]; then kill "-$1" -- "-$2" 2>/dev/null || true; else kill "-$1" "$2" 2>/dev/null || true; fi
}

stop() { # NAME
  local name=$1 pid i
  pid=$(pid_of "$name") || { rm -f "$PIDS/$name.pid"; return 0; }
  signal TERM "$pid"
  for ((i = 0; i < STOP_GRACE * 10; i++)); do
    alive "$pid" || break
    sleep 0.1
  done
  if alive "$pid"; then
    echo "  $name (pid $pid) still running after ${STOP_GRACE}s: SIGKILL"
    signal KILL "$pid"
    for ((i = 0; i < 50; i++)); do alive "$pid" || break; sleep 0.1; done
  fi
  rm -f "$PIDS/$name.pid"
  echo "  stopped $name (pid $pid)"
}

log_tail() { # NAME
  echo "---- last lines of $LOGS/$1.log ----" >&2
  tail -n "${LOG_TAIL:-40}" "$LOGS/$1.log" >&2 || true
}

# wait_until DESC TIMEOUT CHECK-FUNC WATCHED-PROCESS...: polls CHECK every 0.1 s; fails
# early if a watched process dies.
wait_until() {
  local desc=$1 timeout=$2 check=$3; shift 3
  local deadline=$(( $(now) + timeout * 1000000 )) p
  until "$check"; do
    for p in "$@"; do
      pid_of "$p" >/dev/null || { log_tail "$p"; die "$p exited while waiting for $desc"; }
    done
    if (( $(now) > deadline )); then
      for p in "$@"; do log_tail "$p"; done
      die "timed out after ${timeout}s waiting for $desc"
    fi
    sleep 0.1
  done
}

kas_ready() {
  curl -sf --max-time 2 --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key" \
    "$KAS_URL/readyz" > /dev/null 2>&1
}
etcd_ready() { curl -sf --max-time 2 "http://127.0.0.1:$ETCD_PORT/health" > /dev/null 2>&1; }
# kube-controller-manager serves with a self-signed certificate of its own (DIR/kcm-certs);
# /healthz needs no credentials.
kcm_ready() { curl -sfk --max-time 2 "https://127.0.0.1:$KCM_PORT/healthz" > /dev/null 2>&1; }
bv_ready() {
  curl -sf --max-time 2 --cacert "$PKI/backupview-ca.crt" "https://127.0.0.1:$BV_PORT/readyz" > /dev/null 2>&1
}

kubectl() { "$BIN/kubectl" --kubeconfig "$KUBECONFIG_ADMIN" "$@"; }
aggregated_ok() { kubectl get --raw /apis/ui.kubestash.com/v1alpha1 > /dev/null 2>&1; }

# ---- kubeconfig ---------------------------------------------------------------------------

write_kubeconfig() { # OUT USER CERT-NAME
  local out=$1 user=$2 cert=$3
  cat > "$out.tmp" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: backupview-local
  cluster:
    server: "$KAS_URL"
    certificate-authority: "$PKI/ca.crt"
users:
- name: $user
  user:
    client-certificate: "$PKI/$cert.crt"
    client-key: "$PKI/$cert.key"
contexts:
- name: $user@backupview-local
  context:
    cluster: backupview-local
    user: $user
current-context: $user@backupview-local
EOF
  chmod 600 "$out.tmp"; mv "$out.tmp" "$out"
}

# ---- commands -----------------------------------------------------------------------------

# spawn_kas: starts kube-apiserver on $KAS_PORT against the etcd on $ETCD_PORT (no wait).
spawn_kas() {
  local P=$PKI
  spawn kube-apiserver --etcd-servers="http://127.0.0.1:$ETCD_PORT" \
    --bind-address=127.0.0.1 --secure-port="$KAS_PORT" --advertise-address=127.0.0.1 \
    --endpoint-reconciler-type=none --service-cluster-ip-range=10.0.0.0/24 \
    --cert-dir="$DIR/kas-certs" \
    --tls-cert-file="$P/apiserver.crt" --tls-private-key-file="$P/apiserver.key" \
    --client-ca-file="$P/ca.crt" \
    --service-account-issuer=https://kubernetes.default.svc.cluster.local \
    --service-account-key-file="$P/sa.pub" --service-account-signing-key-file="$P/sa.key" \
    --authorization-mode=RBAC \
    --requestheader-client-ca-file="$P/front-proxy-ca.crt" \
    --requestheader-allowed-names=front-proxy-client \
    --requestheader-extra-headers-prefix=X-Remote-Extra- \
    --requestheader-group-headers=X-Remote-Group \
    --requestheader-username-headers=X-Remote-User \
    --proxy-client-cert-file="$P/front-proxy-client.crt" --proxy-client-key-file="$P/front-proxy-client.key" \
    --enable-aggregator-routing=false ${kas_extra[@]+"${kas_extra[@]}"}
}

# spawn_kcm: starts kube-controller-manager against $KAS_URL (no wait). It waits at most 10 s
# for kube-apiserver's /healthz and exits otherwise, so start it once kube-apiserver is ready.
# Its own identity (not the admin's) so that it runs with the bootstrap RBAC of a real cluster;
# with --use-service-account-credentials each controller then acts as its own service account
# in kube-system. The signing key must be the private half of kube-apiserver's
# --service-account-key-file for the tokens it mints to be accepted.
spawn_kcm() {
  local P=$PKI
  spawn kube-controller-manager --kubeconfig="$KUBECONFIG_KCM" \
    --authentication-kubeconfig="$KUBECONFIG_KCM" --authorization-kubeconfig="$KUBECONFIG_KCM" \
    --bind-address=127.0.0.1 --secure-port="$KCM_PORT" --cert-dir="$DIR/kcm-certs" \
    --leader-elect=false --controllers='*' --use-service-account-credentials \
    --service-account-private-key-file="$P/sa.key" --root-ca-file="$P/ca.crt" \
    --cluster-signing-cert-file="$P/ca.crt" --cluster-signing-key-file="$P/ca.key" \
    ${kcm_extra[@]+"${kcm_extra[@]}"}
}

cmd_up() {
  need_bins etcd kube-apiserver kube-controller-manager kubectl
  local t0 started=""
  t0=$(now)
  same_ports_as_running
  if pid_of etcd >/dev/null && pid_of kube-apiserver >/dev/null && pid_of kube-controller-manager >/dev/null &&
     kas_ready && kcm_ready; then
    echo "cluster in $DIR is already up ($KAS_URL)"
    return 0
  fi
  local need_etcd="" need_kas="" need_kcm=""
  pid_of etcd >/dev/null || need_etcd=1
  pid_of kube-apiserver >/dev/null || need_kas=1
  pid_of kube-controller-manager >/dev/null || need_kcm=1
  # Check every port before starting anything, so a clash leaves nothing half started.
  if [[ -n $need_etcd ]]; then
    port_busy "$ETCD_PORT" && die "port $ETCD_PORT (ETCD_PORT) is in use by another process"
    port_busy "$ETCD_PEER_PORT" && die "port $ETCD_PEER_PORT (ETCD_PEER_PORT) is in use by another process"
  fi
  if [[ -n $need_kas ]]; then
    port_busy "$KAS_PORT" && die "port $KAS_PORT (KAS_PORT) is in use by another process"
  fi
  if [[ -n $need_kcm ]]; then
    port_busy "$KCM_PORT" && die "port $KCM_PORT (KCM_PORT) is in use by another process"
  fi
  save_state
  mkdir -p "$DIR/etcd" "$LOGS" "$PIDS"
  chmod 700 "$DIR/etcd"

  # etcd needs no certificates: start it first so that it boots while the PKI is checked.
  local -a etcd_extra=() kas_extra=() kcm_extra=()
  read -r -a etcd_extra <<< "${ETCD_ARGS:-}"
  read -r -a kas_extra <<< "${KAS_ARGS:-}"
  read -r -a kcm_extra <<< "${KCM_ARGS:-}"
  if [[ -n $need_etcd ]]; then
    spawn etcd --name backupview --data-dir "$DIR/etcd" \
      --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
      --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
      --initial-cluster "backupview=http://127.0.0.1:$ETCD_PEER_PORT" \
      --listen-metrics-urls "" --log-level warn ${etcd_extra[@]+"${etcd_extra[@]}"}
    started+=" etcd"
  fi
  pki::ensure "$PKI"
  if [[ -n $need_kas ]]; then
    spawn_kas
    started+=" kube-apiserver"
  fi
  wait_until "kube-apiserver /readyz on $KAS_URL" "$READY_TIMEOUT" kas_ready etcd kube-apiserver
  write_kubeconfig "$KUBECONFIG_ADMIN" admin admin
  write_kubeconfig "$DIR/kubeconfig-alice" alice alice
  write_kubeconfig "$KUBECONFIG_KCM" system:kube-controller-manager kube-controller-manager
  if [[ -n $need_kcm ]]; then
    spawn_kcm
    started+=" kube-controller-manager"
  fi
  wait_until "kube-controller-manager /healthz on :$KCM_PORT" "$READY_TIMEOUT" kcm_ready kube-controller-manager
  echo "cluster up in $(elapsed "$t0") (started:${started:- nothing}): $KAS_URL, KUBECONFIG=$KUBECONFIG_ADMIN"
}

cmd_register() {
  need_bins kubectl
  [[ -s $PKI/backupview-ca.crt && -s $KUBECONFIG_ADMIN ]] || die "no cluster in $DIR: run 'up' first"
  save_state
  local ca
  ca=$(base64 -w0 < "$PKI/backupview-ca.crt")
  kubectl apply -f - <<EOF
apiVersion: v1
kind: Namespace
metadata:
  name: $NAMESPACE
---
apiVersion: v1
kind: Service
metadata:
  name: $SERVICE
  namespace: $NAMESPACE
spec:
  type: ExternalName
  externalName: localhost
  ports:
  - name: https
    port: $BV_PORT
    protocol: TCP
---
apiVersion: apiregistration.k8s.io/v1
kind: APIService
metadata:
  name: $APISERVICE
spec:
  group: ui.kubestash.com
  version: v1alpha1
  groupPriorityMinimum: 1000
  versionPriority: 15
  service:
    namespace: $NAMESPACE
    name: $SERVICE
    port: $BV_PORT
  caBundle: $ca
EOF
}

cmd_start_server() {
  need_bins kubectl
  [[ -s $PKI/backupview.crt && -s $KUBECONFIG_ADMIN ]] || die "no cluster in $DIR: run 'up' first"
  kas_ready || die "kube-apiserver of $DIR is not ready at $KAS_URL: run 'up' first"
  local t0; t0=$(now)
  same_ports_as_running
  if pid_of backupview >/dev/null && bv_ready; then
    echo "backupview-apiserver of $DIR is already running on :$BV_PORT"
  else
    if ! pid_of backupview >/dev/null; then
      [[ -x $(bin_of backupview) ]] ||
        die "$(bin_of backupview) is missing; build it first (or point BV_BIN at one)"
      port_busy "$BV_PORT" && die "port $BV_PORT (BV_PORT) is in use by another process"
      save_state
      local -a extra=()
      read -r -a extra <<< "${BV_ARGS:-}"
      spawn backupview --secure-port="$BV_PORT" --bind-address=127.0.0.1 \
        --tls-cert-file="$PKI/backupview.crt" --tls-private-key-file="$PKI/backupview.key" \
        --kubeconfig="$KUBECONFIG_ADMIN" --authentication-kubeconfig="$KUBECONFIG_ADMIN" \
        --authorization-kubeconfig="$KUBECONFIG_ADMIN" ${extra[@]+"${extra[@]}"}
    fi
    wait_until "backupview-apiserver /readyz on :$BV_PORT" "$READY_TIMEOUT" bv_ready backupview
    echo "backupview-apiserver ready in $(elapsed "$t0")"
  fi
  if kubectl get apiservice "$APISERVICE" >/dev/null 2>&1; then
    kubectl wait --for=condition=Available --timeout="${READY_TIMEOUT}s" "apiservice/$APISERVICE" >/dev/null ||
      { log_tail backupview; kubectl get apiservice "$APISERVICE" -o yaml >&2; die "APIService $APISERVICE not Available"; }
    # Available lags behind a server that went away (it stays True for up to ~30 s), so also
    # check that a request really goes through kube-apiserver to the server.
    wait_until "GET /apis/ui.kubestash.com/v1alpha1 through kube-apiserver" "$READY_TIMEOUT" \
      aggregated_ok backupview
    echo "apiservice/$APISERVICE Available and proxied after $(elapsed "$t0")"
  else
    echo "note: apiservice/$APISERVICE is not registered (run 'register'); not waiting for it"
  fi
}

cmd_stop_server() { stop backupview; }

cmd_stop_kas() { stop kube-apiserver; }

cmd_start_kas() {
  need_bins kube-apiserver
  [[ -s $KUBECONFIG_ADMIN ]] || die "no cluster in $DIR: run 'up' first"
  pid_of etcd >/dev/null || die "etcd of $DIR is not running: run 'up'"
  same_ports_as_running
  local t0; t0=$(now)
  if ! pid_of kube-apiserver >/dev/null; then
    port_busy "$KAS_PORT" && die "port $KAS_PORT (KAS_PORT) is in use by another process"
    local -a kas_extra=()
    read -r -a kas_extra <<< "${KAS_ARGS:-}"
    spawn_kas
  fi
  wait_until "kube-apiserver /readyz on $KAS_URL" "$READY_TIMEOUT" kas_ready etcd kube-apiserver
  echo "kube-apiserver ready in $(elapsed "$t0")"
  pid_of kube-controller-manager >/dev/null ||
    echo "note: kube-controller-manager of $DIR is not running ('up' starts it)"
}

cmd_down() {
  stop backupview
  stop kube-controller-manager
  stop kube-apiserver
  stop etcd
  if [[ -n $PURGE ]]; then
    [[ -d $DIR ]] || return 0
    [[ $DIR != / && $DIR != "$ROOT" && $DIR != "${HOME:-}" ]] || die "refusing to delete $DIR"
    [[ -e $DIR/.backupview-cluster ]] || die "$DIR was not made by cluster.sh up; not deleting it"
    rm -rf -- "$DIR"
    echo "  deleted $DIR"
  fi
}

cmd_status() {
  local n pid state
  echo "state dir: $DIR (etcd :$ETCD_PORT, kube-apiserver :$KAS_PORT, kube-controller-manager :$KCM_PORT, backupview :$BV_PORT)"
  for n in etcd kube-apiserver kube-controller-manager backupview; do
    if pid=$(pid_of "$n"); then state="running (pid $pid)"; else state="not running"; fi
    case $n in
      etcd) etcd_ready && state+=", healthy" ;;
      kube-apiserver) kas_ready && state+=", ready" ;;
      kube-controller-manager) kcm_ready && state+=", healthy" ;;
      backupview) bv_ready && state+=", ready" ;;
    esac
    printf '  %-23s %s\n' "$n" "$state"
  done
}

cmd_env() {
  printf 'export KUBECONFIG=%q\n' "$KUBECONFIG_ADMIN"
  # shellcheck disable=SC2016 # $PATH is for the shell that evals this
  printf 'export PATH=%q:"$PATH"\n' "$BIN"
}

# ---- main ---------------------------------------------------------------------------------

CMD=${1:-}
[[ -n $CMD ]] || { usage; exit 2; }
shift
DIR=""; PURGE=""
for a in "$@"; do
  case $a in
    --purge) PURGE=1 ;;
    -*) die "unknown flag $a" ;;
    *) [[ -z $DIR ]] || die "more than one DIR given"; DIR=$a ;;
  esac
done
DIR=${DIR:-_output/demo}
[[ $DIR == /* ]] || DIR=$ROOT/$DIR
DIR=$(realpath -m -- "$DIR")
load_state

case $CMD in
  up) cmd_up ;;
  register) cmd_register ;;
  start-server) cmd_start_server ;;
  stop-server) cmd_stop_server ;;
  stop-kas) cmd_stop_kas ;;
  start-kas) cmd_start_kas ;;
  down) cmd_down ;;
  status) cmd_status ;;
  env) cmd_env ;;
  -h | --help | help) usage ;;
  *) usage >&2; die "unknown command '$CMD'" ;;
esac
