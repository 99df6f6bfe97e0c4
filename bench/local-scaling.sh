#!/usr/bin/env bash
# Local-mode scaling (issue: local mode): SimpleRNN at (B, T, D, H) = (256, 50, 64, 512), a synthetic
# job (random x, y; Adam; zero initial states; no shuffle) trained by LocalMode with 1 and 2 worker
# actors, and the bare engine (GradientComputer + Adam on the calling thread) on the same batches.
# Runs alternate (bare, 1 worker, 2 workers, bare, ...) and the medians are reported, with
# 2 workers / 1 worker (target >= 1.7 on 2 cores) and 1 worker / bare (target >= 0.95).
#
#   bench/local-scaling.sh [--rounds N] [--steps S] [--cell rnn|lstm|gru] [--json-line] [--no-build]
#
# compare.sh's full run calls it (--json-line: one JSON object on stdout, for compare's table).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BENCH="$HERE/RnnCluster.Bench/bin/Release/net10.0/rnncluster-bench"
ROUNDS=3 STEPS=12 CELL=rnn JSON=0 BUILD=1
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) ROUNDS=$2; shift ;;
    --steps) STEPS=$2; shift ;;
    --cell) CELL=$2; shift ;;
    --json-line) JSON=1 ;;
    --no-build) BUILD=0 ;;
    -h|--help) sed -n '2,11p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "local-scaling.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
  shift
done
if [ $BUILD -eq 1 ]; then
  dotnet build "$HERE/RnnCluster.Bench/RnnCluster.Bench.csproj" -c Release -nologo -v q >/dev/null \
    || { echo "local-scaling.sh: the build failed (run: dotnet build bench/RnnCluster.Bench -c Release)" >&2; exit 1; }
fi
args=(local --cell "$CELL" --batch 256 --steps-time 50 --features 64 --hidden 512 --workers 1,2
      --steps "$STEPS" --warmup 3 --rounds "$ROUNDS" --optimizer adam)
if [ $JSON -eq 1 ]; then "$BENCH" "${args[@]}" --json; else "$BENCH" "${args[@]}"; fi
