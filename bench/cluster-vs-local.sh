#!/usr/bin/env bash
# Cluster mode against local mode and PyTorch DDP on the two cluster benchmark jobs (issue 9),
# one after the other in one run, and a table of samples/s after the first epoch with the ratios.
#
#   bench/cluster-vs-local.sh [--layout PxK] [--expect-workers N] [--rounds R] [--epochs E]
#                             [--no-ddp] [--json FILE] [JOB.json ...]
#
# For each job (default bench/jobs/lstm256x2.json and bench/jobs/lstm768x2.json), R times in turn:
#   local    `rnncluster train JOB --workers P*K` (one process, no serialization);
#   cluster  a coordinator (`rnncluster coordinator`) and P worker processes (`rnncluster-worker`,
#            with `--workers K` when K > 1) on 127.0.0.1, free ports, then `rnncluster submit JOB`;
#            the cluster is started for this run alone and stopped after it;
#   ddp      bench/peers/pytorch_ddp.py JOB --procs P*K (gloo, CPU, one thread per process).
# samples/s after the first epoch = the epochs' samples/s from epoch 2 on (each program prints one
# line per epoch), combined as total rows / total time; the table shows the median over the rounds.
#
#   --layout PxK        P worker processes with K worker actors each (default 2x1: today's
#                       rnncluster-worker runs one actor per process; 1x2 is one node with two
#                       actors, once rnncluster-worker takes --workers K)
#   --expect-workers N  the worker count `rnncluster status` reports once all are up and the job's
#                       --min-workers (default P*K)
#   --rounds R          alternations per job (default 1)
#   --epochs E          overrides the jobs' epochs (default: the job's, 3; at least 2)
#   --no-ddp            skip PyTorch DDP (needs Debian's python3-torch: bench/setup-peer.sh)
#   --json FILE         also writes the rows as JSON
#
# Every process this script starts is stopped at the end, on Ctrl-C and on failure. Logs of each
# run are kept in a temporary folder that the script names at the end; the table also counts the
# cluster nodes' log lines that report an unreachable member (UnreachableMember). Set
# CLUSTER_BENCH_BIN to a folder holding rnncluster.dll and rnncluster-worker.dll to skip the build.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
PY=/usr/bin/python3
LAYOUT=2x1
EXPECT=""
ROUNDS=1
EPOCHS=""
DDP=1
JSON_OUT=""
JOBS=()

usage() { sed -n '2,30p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
  case "$1" in
    --layout) [ $# -ge 2 ] || { echo "cluster-vs-local: --layout needs PxK" >&2; exit 2; }; LAYOUT=$2; shift ;;
    --expect-workers) [ $# -ge 2 ] || { echo "cluster-vs-local: --expect-workers needs a number" >&2; exit 2; }; EXPECT=$2; shift ;;
    --rounds) [ $# -ge 2 ] || { echo "cluster-vs-local: --rounds needs a number" >&2; exit 2; }; ROUNDS=$2; shift ;;
    --epochs) [ $# -ge 2 ] || { echo "cluster-vs-local: --epochs needs a number" >&2; exit 2; }; EPOCHS=$2; shift ;;
    --no-ddp) DDP=0 ;;
    --json) [ $# -ge 2 ] || { echo "cluster-vs-local: --json needs a file name" >&2; exit 2; }; JSON_OUT=$2; shift ;;
    -h|--help) usage; exit 0 ;;
    -*) echo "cluster-vs-local: unknown option '$1' (see --help)" >&2; exit 2 ;;
    *) JOBS+=("$(cd "$(dirname "$1")" && pwd)/$(basename "$1")") ;;
  esac
  shift
done
[ ${#JOBS[@]} -gt 0 ] || JOBS=("$HERE/jobs/lstm256x2.json" "$HERE/jobs/lstm768x2.json")
[[ "$LAYOUT" =~ ^([1-9][0-9]*)x([1-9][0-9]*)$ ]] || { echo "cluster-vs-local: --layout must be PxK (e.g. 2x1, 1x2), got '$LAYOUT'" >&2; exit 2; }
PROCS=${BASH_REMATCH[1]}
PER=${BASH_REMATCH[2]}
TOTAL=$((PROCS * PER))
[ -n "$EXPECT" ] || EXPECT=$TOTAL
for v in "$EXPECT" "$ROUNDS" ${EPOCHS:+"$EPOCHS"}; do
  case "$v" in ''|*[!0-9]*|0) echo "cluster-vs-local: --expect-workers, --rounds and --epochs take positive integers" >&2; exit 2 ;; esac
done
[ -z "$EPOCHS" ] || [ "$EPOCHS" -ge 2 ] || { echo "cluster-vs-local: --epochs must be at least 2 (the first epoch is not counted)" >&2; exit 2; }
for j in "${JOBS[@]}"; do [ -f "$j" ] || { echo "cluster-vs-local: no job file $j" >&2; exit 2; }; done
if [ -n "$JSON_OUT" ]; then
  mkdir -p "$(dirname "$JSON_OUT")"
  JSON_OUT=$(cd "$(dirname "$JSON_OUT")" && pwd)/$(basename "$JSON_OUT")
fi
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 MKL_THREADING_LAYER=GNU
started=$(date +%s)

# --- processes: everything started here is stopped on exit, Ctrl-C or failure ----------------
# Each program starts in a process group of its own (setsid; without job control a background
# child is no group leader, so setsid does not fork and $! is the group's id), so stopping it
# also stops what it started (pytorch_ddp.py's worker processes).
pids=()
start() { # log command...: starts the command in the background, its output to log
  local log=$1; shift
  setsid "$@" >"$log" 2>&1 &
  pids+=($!)
}
stop_pids() {
  [ ${#pids[@]} -gt 0 ] || return 0
  local p
  for p in "${pids[@]}"; do kill -TERM -- "-$p" 2>/dev/null || kill -TERM "$p" 2>/dev/null || true; done
  for _ in $(seq 1 50); do
    local alive=0
    for p in "${pids[@]}"; do kill -0 -- "-$p" 2>/dev/null && alive=1; done
    [ $alive -eq 0 ] && break
    sleep 0.2
  done
  for p in "${pids[@]}"; do kill -KILL -- "-$p" 2>/dev/null || true; done
  wait "${pids[@]}" 2>/dev/null || true
  pids=()
}
run() { # log command...: runs the command to its end (interruptible: the traps run at once)
  local log=$1; shift
  start "$log" "$@"
  local p=${pids[-1]} rc=0
  wait "$p" || rc=$?
  unset 'pids[-1]'
  return $rc
}
on_exit() {
  local code=$?
  trap - EXIT INT TERM
  stop_pids
  exit $code
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- build and peer ---------------------------------------------------------------------------
if [ -n "${CLUSTER_BENCH_BIN:-}" ]; then
  BIN=$CLUSTER_BENCH_BIN
else
  command -v dotnet >/dev/null 2>&1 || { echo "cluster-vs-local: the .NET 10 SDK is needed, 'dotnet' is not on PATH" >&2; exit 1; }
  "$ROOT/deploy/install-mkl.sh" >&2
  echo "cluster-vs-local: building src/Coordinator (Release)..." >&2
  dotnet build "$ROOT/src/Coordinator" -c Release -nologo -v quiet -clp:ErrorsOnly >&2
  BIN="$ROOT/src/Coordinator/bin/Release/net10.0"
fi
[ -f "$BIN/rnncluster.dll" ] && [ -f "$BIN/rnncluster-worker.dll" ] || { echo "cluster-vs-local: no rnncluster.dll / rnncluster-worker.dll in $BIN" >&2; exit 1; }
if [ $DDP -eq 1 ] && ! "$PY" -c 'import torch' >/dev/null 2>&1; then
  echo "cluster-vs-local: setting the PyTorch peer up (bench/setup-peer.sh)..." >&2
  bash "$HERE/setup-peer.sh" >&2
fi

LOGS=$(mktemp -d -t cluster-vs-local.XXXXXX)
RESULTS="$LOGS/results.jsonl"
: >"$RESULTS"

free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# samples/s after the first epoch from a log of "epoch k/E ... N samples/s ..." lines:
# rows are the same every epoch, so total rows / total time = the harmonic mean of the epochs'.
after_first() {
  "$PY" - "$1" <<'EOF'
import re, sys
rates = [float(m.group(2)) for m in (re.search(r"^epoch (\d+)/\d+ .*?(\d+(?:\.\d+)?) samples/s", l) for l in open(sys.argv[1]))
         if m and int(m.group(1)) >= 2]
print(f"{len(rates) / sum(1 / r for r in rates):.1f}" if rates and all(r > 0 for r in rates) else "")
EOF
}

record() { # job system round value log [unreachable-lines]
  [ -n "$4" ] || { echo "cluster-vs-local: $2 on $(basename "$1") printed no epoch line after the first; see $5" >&2; tail -n 15 "$5" >&2; exit 1; }
  echo "cluster-vs-local: $(basename "$1" .json) $2 round $3: $4 samples/s after the first epoch" >&2
  "$PY" -c 'import json,sys; print(json.dumps({"job": sys.argv[1], "system": sys.argv[2], "round": int(sys.argv[3]), "samples_per_s": float(sys.argv[4]), "unreachable_log_lines": int(sys.argv[5])}))' \
    "$(basename "$1" .json)" "$2" "$3" "$4" "${6:-0}" >>"$RESULTS"
}

run_local() { # job round
  local log="$LOGS/$(basename "$1" .json)-local-$2.log"
  echo "cluster-vs-local: $(basename "$1" .json): local mode, train --workers $TOTAL (round $2)..." >&2
  run "$log" dotnet "$BIN/rnncluster.dll" train "$1" --workers "$TOTAL" ${EPOCHS:+--epochs "$EPOCHS"} \
    || { echo "cluster-vs-local: train failed; see $log" >&2; tail -n 15 "$log" >&2; exit 1; }
  record "$1" local "$2" "$(after_first "$log")" "$log"
}

run_cluster() { # job round
  local name port contact log status
  name=$(basename "$1" .json)
  port=$(free_port)
  contact="akka.tcp://rnncluster@127.0.0.1:$port"
  log="$LOGS/$name-cluster-$2.log"
  echo "cluster-vs-local: $name: cluster on 127.0.0.1:$port, $PROCS worker process(es) x $PER actor(s) (round $2)..." >&2
  start "$LOGS/$name-coordinator-$2.log" dotnet "$BIN/rnncluster.dll" coordinator --host 127.0.0.1 --port "$port"
  local worker_args=()
  [ "$PER" -gt 1 ] && worker_args=(--workers "$PER")
  for i in $(seq 1 "$PROCS"); do
    start "$LOGS/$name-worker$i-$2.log" dotnet "$BIN/rnncluster-worker.dll" --host 127.0.0.1 --port 0 --seed "$contact" "${worker_args[@]}"
  done
  local deadline=$((SECONDS + 120))
  until status=$(dotnet "$BIN/rnncluster.dll" status --contact "$contact" --timeout 5 2>/dev/null) && grep -qx "workers $EXPECT" <<<"$status"; do
    for p in "${pids[@]}"; do
      kill -0 "$p" 2>/dev/null || { echo "cluster-vs-local: a cluster node exited early; logs in $LOGS" >&2; tail -n 5 "$LOGS/$name"-*-"$2".log >&2; exit 1; }
    done
    [ $SECONDS -lt $deadline ] || { echo "cluster-vs-local: 'rnncluster status' did not report 'workers $EXPECT' within 120 s (last: $(tr '\n' ' ' <<<"${status:-}")); --expect-workers sets the count; logs in $LOGS" >&2; exit 1; }
    sleep 1
  done
  run "$log" dotnet "$BIN/rnncluster.dll" submit "$1" --contact "$contact" --min-workers "$EXPECT" ${EPOCHS:+--epochs "$EPOCHS"} \
    || { echo "cluster-vs-local: submit failed; see $log" >&2; tail -n 15 "$log" >&2; exit 1; }
  # Before stopping the nodes (their leaving is not what counts): Akka's "Marking node(s) as
  # UNREACHABLE" and the coordinator's "node ... is unreachable" (a member, not a departed client).
  local unreachable
  unreachable=$(cat "$LOGS/$name"-coordinator-"$2".log "$LOGS/$name"-worker*-"$2".log | grep -c 'UNREACHABLE\|UnreachableMember\|is unreachable;' || true)
  stop_pids
  [ "$unreachable" -eq 0 ] || echo "cluster-vs-local: note: $unreachable line(s) of the node logs report an unreachable member ($LOGS/$name-*-$2.log)" >&2
  record "$1" cluster "$2" "$(after_first "$log")" "$log" "$unreachable"
}

run_ddp() { # job round
  local log="$LOGS/$(basename "$1" .json)-ddp-$2.log"
  echo "cluster-vs-local: $(basename "$1" .json): PyTorch DDP, $TOTAL processes (round $2)..." >&2
  run "$log" "$PY" "$HERE/peers/pytorch_ddp.py" "$1" --procs "$TOTAL" ${EPOCHS:+--epochs "$EPOCHS"} \
    || { echo "cluster-vs-local: pytorch_ddp.py failed; see $log" >&2; tail -n 15 "$log" >&2; exit 1; }
  record "$1" ddp "$2" "$(after_first "$log")" "$log"
}

for job in "${JOBS[@]}"; do
  for r in $(seq 1 "$ROUNDS"); do
    run_local "$job" "$r"
    run_cluster "$job" "$r"
    [ $DDP -eq 0 ] || run_ddp "$job" "$r"
  done
done

elapsed=$(( $(date +%s) - started ))
"$PY" - "$RESULTS" "$JSON_OUT" "$LAYOUT" "$elapsed" "$ROUNDS" "$LOGS" <<'EOF'
import json, statistics, sys
path, json_out, layout, elapsed, rounds, logs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
items = [json.loads(l) for l in open(path) if l.strip()]
jobs = list(dict.fromkeys(i["job"] for i in items))
def med(job, system):
    v = [i["samples_per_s"] for i in items if i["job"] == job and i["system"] == system]
    return statistics.median(v) if v else None
rows = []
p, k = layout.split("x")
print()
print(f"samples/s after the first epoch, median of {rounds} round(s); cluster: coordinator + {p} worker process(es) x {k} actor(s) on 127.0.0.1; "
      f"local: train --workers {int(p) * int(k)}; DDP: gloo, {int(p) * int(k)} processes x 1 thread")
print()
print("| job | local mode | cluster (loopback) | PyTorch DDP | cluster / local | cluster / DDP | unreachable (log lines) |")
print("| --- | --- | --- | --- | --- | --- | --- |")
for j in jobs:
    l, c, d = med(j, "local"), med(j, "cluster"), med(j, "ddp")
    f = lambda x: f"{x:.0f}" if x else "-"
    r = lambda a, b: f"{a / b:.2f}" if a and b else "-"
    u = sum(i.get("unreachable_log_lines", 0) for i in items if i["job"] == j and i["system"] == "cluster")
    print(f"| {j} | {f(l)} | {f(c)} | {f(d)} | {r(c, l)} | {r(c, d)} | {u} |")
    rows.append({"job": j, "layout": layout, "local": l, "cluster": c, "ddp": d,
                 "cluster_over_local": round(c / l, 3) if c and l else None,
                 "cluster_over_ddp": round(c / d, 3) if c and d else None,
                 "runs": [i for i in items if i["job"] == j]})
print()
print(f"cluster-vs-local.sh: {elapsed} s; logs in {logs}")
if json_out:
    with open(json_out, "w") as fo:
        json.dump(rows, fo, indent=1)
        fo.write("\n")
    print(f"wrote {json_out}")
EOF
