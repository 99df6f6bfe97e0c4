#!/usr/bin/env bash
# RnnCluster against PyTorch (CPU, MKL) and TorchSharp (libtorch), one training step (forward,
# backward, Adam) of RNN/LSTM/GRU + Dense(1) on the last output, MSE, explicit initial states, same
# shapes and threads.
#
#   bench/compare.sh [--quick] [--json FILE] [--rounds N] [--no-torchsharp]
#
# Sets the PyTorch peer up when it is missing (bench/setup-peer.sh: Debian's python3-torch, system
# BLAS pointed at MKL), builds bench/RnnCluster.Bench in Release and the TorchSharp peer
# (bench/peers/torchsharp/build.sh: TorchSharp-cpu 0.107.0 = libtorch 2.10 with its own bundled
# MKL; the first build restores ~600 MB from NuGet), then for every row runs ours and the peers
# ALTERNATELY (ours, PyTorch, TorchSharp, ours, ...; each run reports its median ms/step) and takes
# the median over the rounds, so machine noise hits all alike. Single-core sgemm GFLOP/s is
# measured at the start and at the end of the same run (median of the four measurements), ours
# and libtorch's (torch.mm 512x512 in the TorchSharp peer).
#
#   --quick   SimpleRNN, LSTM, GRU at (B, T, D, H) = (64, 100, 32, 128), one thread (< 3 minutes on an idle machine).
#   (full)    the three cells at (64,100,32,128), (64,100,32,256), (256,50,64,512) one thread and
#             (64,100,32,256) two threads; our MKL math against our managed math at a small shape;
#             bytes allocated per step and peak working set; local-mode scaling (bench/local-scaling.sh).
#   --json F  also writes the comparison rows as a JSON array of objects with the fields cell, B, T,
#             D, H, threads, ours_ms, peer_ms, ratio (PyTorch), torchsharp_ms, torchsharp_ratio,
#             gflops, peak_fraction (plus bytes_per_step and peak_working_set_mib).
#   --rounds N  alternations per row (default 3 with --quick, 5 for the full run).
#   --no-torchsharp  PyTorch only (no NuGet restore, no TorchSharp column).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
PY=/usr/bin/python3
PEER="$HERE/peers/pytorch_rnn.py"
BENCH="$HERE/RnnCluster.Bench/bin/Release/net10.0/rnncluster-bench"
QUICK=0
JSON_OUT=""
ROUNDS=""
TORCHSHARP=1
TS_RUN="$HERE/peers/torchsharp/run.sh"

while [ $# -gt 0 ]; do
  case "$1" in
    --quick) QUICK=1 ;;
    --json) [ $# -ge 2 ] || { echo "compare.sh: --json needs a file name" >&2; exit 2; }; JSON_OUT=$2; shift ;;
    --rounds) [ $# -ge 2 ] || { echo "compare.sh: --rounds needs a number" >&2; exit 2; }; ROUNDS=$2; shift ;;
    --no-torchsharp) TORCHSHARP=0 ;;
    -h|--help) sed -n '2,25p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "compare.sh: unknown argument '$1' (expected --quick, --json FILE, --rounds N, --no-torchsharp)" >&2; exit 2 ;;
  esac
  shift
done
[ -n "$ROUNDS" ] || { if [ $QUICK -eq 1 ]; then ROUNDS=3; else ROUNDS=5; fi; }
case "$ROUNDS" in ''|*[!0-9]*|0) echo "compare.sh: --rounds must be a positive integer" >&2; exit 2 ;; esac
if [ -n "$JSON_OUT" ]; then
  mkdir -p "$(dirname "$JSON_OUT")"
  JSON_OUT=$(cd "$(dirname "$JSON_OUT")" && pwd)/$(basename "$JSON_OUT")
fi

started=$(date +%s)
export MKL_THREADING_LAYER=GNU   # the peer's torch uses GNU OpenMP (ours picks its layer itself)
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

# --- 1. the peer ------------------------------------------------------------------------------
blas=$(readlink -f /etc/alternatives/libblas.so.3-x86_64-linux-gnu 2>/dev/null || true)
if ! "$PY" -c 'import torch' >/dev/null 2>&1 || [ "$blas" != "$(readlink -f /usr/lib/x86_64-linux-gnu/libmkl_rt.so 2>/dev/null || echo none)" ]; then
  echo "compare: setting the peer up (bench/setup-peer.sh)..." >&2
  bash "$HERE/setup-peer.sh" >&2
fi
TORCH_VERSION=$("$PY" -c 'import torch; print(torch.__version__)')

# --- 2. build ---------------------------------------------------------------------------------
echo "compare: building bench/RnnCluster.Bench (Release)..." >&2
build_log=$(mktemp)
if ! dotnet build "$HERE/RnnCluster.Bench/RnnCluster.Bench.csproj" -c Release -nologo -v q >"$build_log" 2>&1; then
  tail -n 30 "$build_log" >&2; rm -f "$build_log"; echo "compare.sh: the build failed" >&2; exit 1
fi
rm -f "$build_log"
if [ $TORCHSHARP -eq 1 ]; then
  echo "compare: building the TorchSharp peer (bench/peers/torchsharp/build.sh; the first build restores ~600 MB)..." >&2
  bash "$HERE/peers/torchsharp/build.sh" >&2 || { echo "compare.sh: the TorchSharp peer did not build (--no-torchsharp skips it)" >&2; exit 1; }
fi

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
RESULTS="$WORK/results.jsonl"   # one JSON object per measurement, tagged with its section
: >"$RESULTS"

record() { # section, then a JSON line on stdin
  "$PY" -c 'import json,sys; d=json.loads(sys.stdin.readline()); d["section"]=sys.argv[1]; print(json.dumps(d))' "$1" >>"$RESULTS"
}
ours() { # extra args for `step`
  "$BENCH" step --json "$@"
}
peer() { # cell B T D H threads warmup iters
  # The peer's MKL gets the same CPU-dispatch shim ours loaded (none on Intel CPUs), so both run the same kernels.
  LD_PRELOAD="${PEER_PRELOAD:-}" "$PY" "$PEER" --json --cell "$1" --batch "$2" --steps-time "$3" --features "$4" --hidden "$5" --threads "$6" --warmup "$7" --iters "$8"
}
sgemm() {
  "$BENCH" sgemm --json --n 512 --threads 1 | record sgemm
}
torchsharp() { # cell B T D H threads warmup iters
  LD_PRELOAD="${PEER_PRELOAD:-}" "$TS_RUN" --json --cell "$1" --batch "$2" --steps-time "$3" --features "$4" --hidden "$5" --threads "$6" --warmup "$7" --iters "$8"
}
ts_sgemm() {
  [ $TORCHSHARP -eq 1 ] || return 0
  LD_PRELOAD="${PEER_PRELOAD:-}" "$TS_RUN" --json --sgemm 512 --threads 1 | record ts_sgemm
}

echo "compare: sgemm (start)..." >&2
sgemm; sgemm
PEER_PRELOAD=$("$PY" -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline()).get("shim") or "")' "$RESULTS")
[ -n "$PEER_PRELOAD" ] && echo "compare: our MKL runs its AVX-512 kernels through $PEER_PRELOAD; the peers get it too (LD_PRELOAD)" >&2
ts_sgemm

# --- 3. rows: ours and the peer alternately ---------------------------------------------------
if [ $QUICK -eq 1 ]; then
  ROWS="rnn,64,100,32,128,1 lstm,64,100,32,128,1 gru,64,100,32,128,1"
else
  ROWS=""
  for shape in 64,100,32,128 64,100,32,256 256,50,64,512; do
    for cell in rnn lstm gru; do ROWS="$ROWS $cell,$shape,1"; done
  done
  for cell in rnn lstm gru; do ROWS="$ROWS $cell,64,100,32,256,2"; done
fi

for row in $ROWS; do
  IFS=, read -r cell b t d h th <<<"$row"
  if [ "$h" -ge 512 ]; then ours_iters=5; peer_warmup=2; peer_iters=5
  elif [ $QUICK -eq 1 ]; then ours_iters=7; peer_warmup=3; peer_iters=7
  else ours_iters=10; peer_warmup=3; peer_iters=10; fi
  for r in $(seq 1 "$ROUNDS"); do
    echo "compare: $cell B=$b T=$t D=$d H=$h threads=$th, round $r/$ROUNDS" >&2
    ours --cell "$cell" --batch "$b" --steps-time "$t" --features "$d" --hidden "$h" --threads "$th" \
      --warmup 2 --warmup-seconds 1 --iters "$ours_iters" | record ours
    peer "$cell" "$b" "$t" "$d" "$h" "$th" "$peer_warmup" "$peer_iters" | record peer
    if [ $TORCHSHARP -eq 1 ]; then
      torchsharp "$cell" "$b" "$t" "$d" "$h" "$th" "$peer_warmup" "$peer_iters" | record torchsharp
    fi
  done
done

# --- 4. full run: MKL against managed math, local-mode scaling ---------------------------------
if [ $QUICK -eq 0 ]; then
  for cell in rnn lstm gru; do
    for r in $(seq 1 "$ROUNDS"); do
      echo "compare: $cell MKL vs managed at (32, 20, 16, 64), round $r/$ROUNDS" >&2
      ours --cell "$cell" --batch 32 --steps-time 20 --features 16 --hidden 64 --math mkl --warmup 5 --iters 15 | record mathcmp
      ours --cell "$cell" --batch 32 --steps-time 20 --features 16 --hidden 64 --math managed --warmup 5 --iters 15 | record mathcmp
    done
  done
fi

echo "compare: sgemm (end)..." >&2
sgemm; sgemm
ts_sgemm

if [ $QUICK -eq 0 ]; then
  echo "compare: local-mode scaling (bench/local-scaling.sh)..." >&2
  bash "$HERE/local-scaling.sh" --json-line --no-build | record local
fi

# --- 5. tables ---------------------------------------------------------------------------------
elapsed=$(( $(date +%s) - started ))
"$PY" - "$RESULTS" "$JSON_OUT" "$QUICK" "$elapsed" "$TORCH_VERSION" <<'EOF'
import json, statistics, sys

results_path, json_out, quick, elapsed, torch_version = sys.argv[1], sys.argv[2], sys.argv[3] == "1", int(sys.argv[4]), sys.argv[5]
items = [json.loads(l) for l in open(results_path) if l.strip()]
med = statistics.median
sg = [i for i in items if i["section"] == "sgemm"]
peak = med([i["gflops"] for i in sg])
mkl_version = sg[0].get("mkl", "?") if sg else "?"
code_path = sg[0].get("code_path", "?") if sg else "?"
cpu_dispatch = sg[0].get("cpu_dispatch", "?") if sg else "?"
shim = sg[0].get("shim") if sg else None

key = lambda i: (i["cell"], i["B"], i["T"], i["D"], i["H"], i["threads"])
rows, order = {}, []
for i in items:
    if i["section"] not in ("ours", "peer", "torchsharp"):
        continue
    k = key(i)
    if k not in rows:
        rows[k] = {"ours": [], "peer": [], "torchsharp": [], "bytes": [], "ws": []}
        order.append(k)
    if i["section"] == "ours":
        rows[k]["ours"].append(i["ms"])
        rows[k]["bytes"].append(i["bytes_per_step"])
        rows[k]["ws"].append(i["peak_working_set"])
    else:
        rows[k][i["section"]].append(i["ms"])

def flops(cell, b, t, d, h):
    g = {"rnn": 1, "lstm": 4, "gru": 3}[cell]
    return 6.0 * b * t * g * h * (d + h)

names = {"rnn": "SimpleRNN", "lstm": "LSTM", "gru": "GRU"}
out = []
for k in order:
    cell, b, t, d, h, th = k
    o, p = med(rows[k]["ours"]), med(rows[k]["peer"])
    ts = med(rows[k]["torchsharp"]) if rows[k]["torchsharp"] else None
    gf = flops(cell, b, t, d, h) / (o * 1e6)
    out.append({"cell": cell, "B": b, "T": t, "D": d, "H": h, "threads": th,
                "ours_ms": round(o, 3), "peer_ms": round(p, 3), "ratio": round(p / o, 3),
                "torchsharp_ms": round(ts, 3) if ts else None, "torchsharp_ratio": round(ts / o, 3) if ts else None,
                "gflops": round(gf, 2), "peak_fraction": round(gf / peak, 3),
                "bytes_per_step": max(rows[k]["bytes"]), "peak_working_set_mib": round(max(rows[k]["ws"]) / 2**20, 1)})

has_ts = any(r["torchsharp_ms"] for r in out)
tsg = [i for i in items if i["section"] == "ts_sgemm"]
print()
print(f"RnnCluster vs PyTorch {torch_version} (MKL)" + (" and TorchSharp-cpu 0.107.0 (libtorch 2.10, its bundled MKL)" if has_ts else "") +
      f", one Adam training step; median of per-run medians, {len(rows[order[0]]['ours']) if order else 0} alternating runs each")
print(f"single-core sgemm 512x512: {peak:.1f} GFLOP/s (median of {len(sg)}: " + ", ".join(f"{i['gflops']:.1f}" for i in sg) + f"); {mkl_version}")
if tsg:
    print(f"libtorch 2.10 single-core torch.mm 512x512: {med([i['gflops'] for i in tsg]):.1f} GFLOP/s (median of {len(tsg)}: " + ", ".join(f"{i['gflops']:.1f}" for i in tsg) + ")")
print(f"MKL code path {code_path} ({cpu_dispatch})" + (f"; the peers run with the same shim (LD_PRELOAD={shim})" if shim else ""))
print()
if has_ts:
    print("| cell | shape (B, T, D, H) | threads | ours ms/step | PyTorch ms/step | ratio (PyTorch / ours) | TorchSharp ms/step | ratio (TorchSharp / ours) | our GFLOP/s | of 1-core sgemm |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
else:
    print("| cell | shape (B, T, D, H) | threads | ours ms/step | PyTorch ms/step | ratio (PyTorch / ours) | our GFLOP/s | of 1-core sgemm |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
for r in out:
    ts_cols = (f"{r['torchsharp_ms']:.1f} | {r['torchsharp_ratio']:.2f} | " if r["torchsharp_ms"] else "- | - | ") if has_ts else ""
    print(f"| {names[r['cell']]} | {r['B']}, {r['T']}, {r['D']}, {r['H']} | {r['threads']} | {r['ours_ms']:.1f} | {r['peer_ms']:.1f} | "
          f"{r['ratio']:.2f} | {ts_cols}{r['gflops']:.1f} | {100 * r['peak_fraction']:.0f}% |")

# two threads against one, ours, same shape
two = [r for r in out if r["threads"] == 2]
if two:
    print()
    print("| cell | shape | ours 1 thread ms | ours 2 threads ms | speed-up | PyTorch 1 thread ms | PyTorch 2 threads ms | PyTorch speed-up |"
          + (" TorchSharp 1 thread ms | TorchSharp 2 threads ms | TorchSharp speed-up |" if has_ts else ""))
    print("| --- | --- | --- | --- | --- | --- | --- | --- |" + (" --- | --- | --- |" if has_ts else ""))
    for r in two:
        one = next((x for x in out if x["threads"] == 1 and key(x)[:5] == key(r)[:5]), None)
        if one:
            ts_cols = ""
            if has_ts and one["torchsharp_ms"] and r["torchsharp_ms"]:
                ts_cols = f" {one['torchsharp_ms']:.1f} | {r['torchsharp_ms']:.1f} | {one['torchsharp_ms'] / r['torchsharp_ms']:.2f}x |"
            elif has_ts:
                ts_cols = " - | - | - |"
            print(f"| {names[r['cell']]} | {r['B']}, {r['T']}, {r['D']}, {r['H']} | {one['ours_ms']:.1f} | {r['ours_ms']:.1f} | {one['ours_ms'] / r['ours_ms']:.2f}x | "
                  f"{one['peer_ms']:.1f} | {r['peer_ms']:.1f} | {one['peer_ms'] / r['peer_ms']:.2f}x |" + ts_cols)

print()
print("| cell | shape | threads | bytes allocated per step (after warm-up) | peak working set |")
print("| --- | --- | --- | --- | --- |")
for r in out:
    print(f"| {names[r['cell']]} | {r['B']}, {r['T']}, {r['D']}, {r['H']} | {r['threads']} | {r['bytes_per_step']} | {r['peak_working_set_mib']:.0f} MiB |")

mc = [i for i in items if i["section"] == "mathcmp"]
if mc:
    print()
    print("| cell | shape | ours MKL ms/step | ours managed ms/step | managed / MKL |")
    print("| --- | --- | --- | --- | --- |")
    for cell in ("rnn", "lstm", "gru"):
        m = [i["ms"] for i in mc if i["cell"] == cell and i["math"] == "mkl"]
        n = [i["ms"] for i in mc if i["cell"] == cell and i["math"] == "managed"]
        if m and n:
            x = next(i for i in mc if i["cell"] == cell)
            print(f"| {names[cell]} | {x['B']}, {x['T']}, {x['D']}, {x['H']} | {med(m):.2f} | {med(n):.2f} | {med(n) / med(m):.1f}x |")

loc = [i for i in items if i["section"] == "local"]
if loc:
    l = loc[0]
    print()
    print(f"Local mode ({names[l['cell']]} at ({l['B']}, {l['T']}, {l['D']}, {l['H']}), {l['optimizer']}, {l['steps']} timed steps after {l['warmup']}, "
          f"median of {l['rounds']} alternating rounds):")
    print()
    print("| run | samples/s | against |")
    print("| --- | --- | --- |")
    print(f"| bare engine (GradientComputer + optimizer, one thread) | {l['bare_samples_per_s']:.0f} | |")
    for w, s in sorted(l["local_samples_per_s"].items(), key=lambda kv: int(kv[0])):
        print(f"| local mode, {w} worker(s) | {s:.0f} | {s / l['bare_samples_per_s']:.3f} of bare |")
    if l.get("speedup_2_over_1"):
        print(f"| 2 workers / 1 worker | {l['speedup_2_over_1']:.2f}x | |")

print()
print(f"compare.sh{' --quick' if quick else ''}: {elapsed} s")
if json_out:
    with open(json_out, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    print(f"wrote {json_out}")
bad = [r for r in out if r["ratio"] < 1.0]
if bad:
    print("ratio below 1.0: " + ", ".join(f"{names[r['cell']]} H={r['H']} threads={r['threads']} ({r['ratio']:.2f})" for r in bad))
bad = [r for r in out if r["torchsharp_ratio"] is not None and r["torchsharp_ratio"] < 1.0]
if bad:
    print("TorchSharp ratio below 1.0: " + ", ".join(f"{names[r['cell']]} H={r['H']} threads={r['threads']} ({r['torchsharp_ratio']:.2f})" for r in bad))
EOF
