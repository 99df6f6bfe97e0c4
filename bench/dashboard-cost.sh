#!/usr/bin/env bash
# What an open dashboard costs a training step: the default job in local mode
# (`rnncluster train --http-port P`, 1000 epochs, stopped at the end of the window), in two
# conditions, interleaved, REPS times each:
#   closed  the API is on, nobody is looking (the API's own job follower still runs)
#   open    Debian's chromium headless shows the dashboard (it polls the API once a second)
# Each run warms up WARMUP seconds (the browser starts in that time), then takes the mean step time
# over WINDOW seconds from the job's own step timestamps (/api/jobs/ID/history: two requests).
# Usage: bench/dashboard-cost.sh [REPS] [WINDOW] [WORKERS]   (defaults 3, 15, 2)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
reps=${1:-3}; window=${2:-15}; workers=${3:-2}; warmup=8
chromium=/usr/bin/chromium
[ -x "$chromium" ] || "$root/deploy/install-chromium.sh"
dotnet build "$root/src/Coordinator" -c Release -nologo -v quiet >/dev/null
dll="$root/src/Coordinator/bin/Release/net10.0/rnncluster.dll"
work="$(mktemp -d)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

# The latest step point of the only job: "t global_step" (t in seconds on the server's clock).
last_point() {
  python3 - "$1" <<'PY'
import json, sys, urllib.request
base = sys.argv[1]
jobs = json.load(urllib.request.urlopen(base + "/api/jobs"))
h = json.load(urllib.request.urlopen(f"{base}/api/jobs/{jobs[0]['job_id']}/history"))
p = h["points"][-1]
print(p["t"], p["global_step"])
PY
}

run() { # condition -> ms per step
  local condition=$1 port url i t1 g1 t2 g2
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  url="http://127.0.0.1:$port"
  dotnet "$dll" train --epochs 1000 --workers "$workers" --http-port "$port" >"$work/$condition.log" 2>&1 &
  local train=$!; pids+=("$train")
  for i in $(seq 1 600); do grep -q "$url" "$work/$condition.log" && break; sleep 0.1; done
  grep -q "$url" "$work/$condition.log" || { cat "$work/$condition.log" >&2; exit 1; }
  local browser=""
  if [ "$condition" = open ]; then
    "$chromium" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking \
      --disable-component-update --disable-sync --user-data-dir="$work/profile-$port" "$url/" >/dev/null 2>&1 &
    browser=$!; pids+=("$browser")
  fi
  sleep "$warmup"
  read -r t1 g1 < <(last_point "$url")
  sleep "$window"
  read -r t2 g2 < <(last_point "$url")
  [ -n "$browser" ] && { kill "$browser" 2>/dev/null || true; wait "$browser" 2>/dev/null || true; }
  kill "$train" 2>/dev/null || true; wait "$train" 2>/dev/null || true
  echo "($t2 - $t1) * 1000 / ($g2 - $g1)" | bc -l
}

declare -A times
for r in $(seq 1 "$reps"); do
  for c in closed open; do
    t=$(run "$c")
    times[$c]="${times[$c]:-} $(printf '%.2f' "$t")"
    echo "run $r $c: $t ms per step" >&2
  done
done
echo "default job, local mode, $workers workers, ${window}s windows after ${warmup}s warm-up, $reps runs each; load average $(cut -d' ' -f1 /proc/loadavg)"
for c in closed open; do
  median=$(tr ' ' '\n' <<<"${times[$c]}" | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}')
  printf '%-7s median %7.2f ms per step   (runs:%s)\n' "$c" "$median" "${times[$c]}"
done
