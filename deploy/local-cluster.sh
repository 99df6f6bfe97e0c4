#!/usr/bin/env bash
# Starts a coordinator and N worker nodes as processes on 127.0.0.1 (each node a stand-in for one
# machine, with LOCAL_CLUSTER_WORKERS compute actors), waits until all of them have registered,
# then either runs a command against the cluster (after --) or waits for Ctrl-C.
# Every process it started is stopped on exit, Ctrl-C or failure (trap).
#
#   deploy/local-cluster.sh [N]                       N worker nodes (default 2); Ctrl-C stops the cluster
#   deploy/local-cluster.sh 2 -- ./rnncluster submit jobs/default.json --contact akka.tcp://rnncluster@127.0.0.1:4053
#   deploy/local-cluster.sh --tls 2 -- COMMAND...
#                                                     mutual TLS with fresh certificates (a new CA, a
#                                                     coordinator, a worker and a client certificate in
#                                                     LOGS/tls); the command gets RNNCLUSTER_TLS_DIR set
#                                                     to the client's folder and RNNCLUSTER_CONTACT
#
# Settings (environment of this script, not of the programs):
#   LOCAL_CLUSTER_PORT   coordinator port (default 4053)
#   LOCAL_CLUSTER_WORKERS compute actors per worker node (rnncluster-worker --workers; default 1,
#                        so N nodes are N workers; on real machines leave the default of the
#                        program: one per core)
#   LOCAL_CLUSTER_BIN    folder holding rnncluster.dll and rnncluster-worker.dll (default: build
#                        src/Coordinator in Release and use its output)
#   LOCAL_CLUSTER_LOGS   folder for the node logs (default: a new temporary folder)
#   RNNCLUSTER_MATH      passed on to the workers (mkl, the default, or managed)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

workers=2
tls=0
if [ $# -gt 0 ] && [ "$1" = "--tls" ]; then tls=1; shift; fi
if [ $# -gt 0 ] && [ "$1" != "--" ]; then workers=$1; shift; fi
if [ $# -gt 0 ] && [ "$1" = "--tls" ]; then tls=1; shift; fi
if [ $# -gt 0 ] && [ "$1" = "--" ]; then shift; fi
case "$workers" in ''|*[!0-9]*) echo "local-cluster: N must be a number, got '$workers'" >&2; exit 2;; esac
[ "$workers" -ge 1 ] || { echo "local-cluster: N must be at least 1" >&2; exit 2; }

port="${LOCAL_CLUSTER_PORT:-4053}"
per_node="${LOCAL_CLUSTER_WORKERS:-1}"
case "$per_node" in ''|*[!0-9]*|0) echo "local-cluster: LOCAL_CLUSTER_WORKERS must be a number of at least 1, got '$per_node'" >&2; exit 2;; esac
total=$((workers * per_node))
contact="akka.tcp://rnncluster@127.0.0.1:$port"
[ $tls -eq 1 ] && contact="akka.ssl.tcp://rnncluster@127.0.0.1:$port"
logs="${LOCAL_CLUSTER_LOGS:-$(mktemp -d -t rnncluster-local.XXXXXX)}"
mkdir -p "$logs"

if [ -n "${LOCAL_CLUSTER_BIN:-}" ]; then
  bin="$LOCAL_CLUSTER_BIN"
else
  command -v dotnet >/dev/null 2>&1 || { echo "local-cluster: the .NET 10 SDK is needed, 'dotnet' is not on PATH" >&2; exit 1; }
  if [ "${RNNCLUSTER_MATH:-mkl}" != "managed" ]; then "$root/deploy/install-mkl.sh" >&2; fi
  dotnet build "$root/src/Coordinator" -c Release -nologo -v quiet -clp:ErrorsOnly >&2
  bin="$root/src/Coordinator/bin/Release/net10.0"
fi
[ -f "$bin/rnncluster.dll" ] && [ -f "$bin/rnncluster-worker.dll" ] || { echo "local-cluster: no rnncluster.dll / rnncluster-worker.dll in $bin" >&2; exit 1; }

coordinator_tls=() worker_tls=() client_tls=()
if [ $tls -eq 1 ]; then
  certs="$logs/tls"
  rm -rf "$certs"
  dotnet "$bin/rnncluster.dll" certs init --out "$certs/ca" --name "local-cluster CA" --days 7 >&2
  dotnet "$bin/rnncluster.dll" certs node coordinator --role coordinator --host 127.0.0.1 --ca "$certs/ca" --out "$certs/coordinator" --days 7 >&2
  dotnet "$bin/rnncluster.dll" certs node worker --role worker --host 127.0.0.1 --ca "$certs/ca" --out "$certs/worker" --days 7 >&2
  dotnet "$bin/rnncluster.dll" certs client client --ca "$certs/ca" --out "$certs/client" --days 7 >&2
  coordinator_tls=(--tls-dir "$certs/coordinator") worker_tls=(--tls-dir "$certs/worker") client_tls=(--tls-dir "$certs/client")
fi

pids=()
stop_all() {
  local code=$?
  trap - EXIT INT TERM
  if [ ${#pids[@]} -gt 0 ]; then
    echo "local-cluster: stopping ${#pids[@]} process(es)" >&2
    kill -TERM "${pids[@]}" 2>/dev/null || true
    # Give them time to leave the cluster, then make sure.
    for _ in $(seq 1 50); do
      local alive=0
      for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
      [ $alive -eq 0 ] && break
      sleep 0.2
    done
    kill -KILL "${pids[@]}" 2>/dev/null || true
    wait "${pids[@]}" 2>/dev/null || true
  fi
  exit $code
}
trap stop_all EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

dotnet "$bin/rnncluster.dll" coordinator --host 127.0.0.1 --port "$port" "${coordinator_tls[@]}" >"$logs/coordinator.log" 2>&1 &
pids+=($!)
for i in $(seq 1 "$workers"); do
  dotnet "$bin/rnncluster-worker.dll" --host 127.0.0.1 --port 0 --workers "$per_node" --seed "$contact" "${worker_tls[@]}" >"$logs/worker-$i.log" 2>&1 &
  pids+=($!)
done

echo "local-cluster: coordinator at $contact, $workers worker node(s) of $per_node worker(s)$([ $tls -eq 1 ] && echo ", mutual TLS (certificates in $certs)"); logs in $logs" >&2
deadline=$((SECONDS + 90))
until status="$(dotnet "$bin/rnncluster.dll" status --contact "$contact" --timeout 5 "${client_tls[@]}" 2>/dev/null)" && grep -qx "workers $total" <<<"$status"; do
  for p in "${pids[@]}"; do
    kill -0 "$p" 2>/dev/null || { echo "local-cluster: a node exited early; see $logs" >&2; tail -n 5 "$logs"/*.log >&2; exit 1; }
  done
  if [ $SECONDS -ge $deadline ]; then echo "local-cluster: the cluster was not up within 90 s; see $logs" >&2; exit 1; fi
  sleep 1
done
echo "local-cluster: up: $total worker(s) on $workers node(s) registered with $contact" >&2

if [ $# -gt 0 ]; then
  if [ $tls -eq 1 ]; then
    RNNCLUSTER_CONTACT="$contact" RNNCLUSTER_TLS_DIR="$certs/client" "$@"
  else
    RNNCLUSTER_CONTACT="$contact" "$@"
  fi
else
  echo "local-cluster: Ctrl-C stops the cluster" >&2
  while true; do sleep 3600 & wait $!; done
fi
