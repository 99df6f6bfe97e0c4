#!/usr/bin/env bash
# Builds the TorchSharp peer (Release) and checks that it loads; prints one line.
#
#   bench/peers/torchsharp/build.sh
#
# The first build restores TorchSharp-cpu 0.107.0 from NuGet (~600 MB into ~/.nuget/packages);
# this project is not in RnnCluster.sln, so ./test.sh and CI never restore it. The build applies
# the Debian 12 loading fix to its own output (TorchSharpRnn.csproj, target Debian12LoadingFix:
# weaken-glibcxx.py on bin/.../libLibTorchSharp.so, ios_base_library_init.c compiled to
# bin/.../libiosinit.so); run.sh preloads that object where the system libstdc++ needs it.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
command -v dotnet >/dev/null 2>&1 || { echo "torchsharp/build.sh: the .NET 10 SDK is needed, 'dotnet' is not on PATH" >&2; exit 1; }
command -v cc >/dev/null 2>&1 || { echo "torchsharp/build.sh: a C compiler (cc) is needed for the preloaded libiosinit.so (Debian: apt-get install gcc)" >&2; exit 1; }
[ -x /usr/bin/python3 ] || { echo "torchsharp/build.sh: /usr/bin/python3 is needed (weaken-glibcxx.py)" >&2; exit 1; }

log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! dotnet build "$HERE/TorchSharpRnn.csproj" -c Release -nologo -v q >"$log" 2>&1; then
  tail -n 30 "$log" >&2
  echo "torchsharp/build.sh: the build failed" >&2
  exit 1
fi
rc=0
out=$("$HERE/run.sh" --cell lstm --batch 2 --steps-time 3 --features 2 --hidden 4 --warmup 0 --iters 1 2>&1) || rc=$?
if [ $rc -ne 0 ]; then
  echo "$out" | tail -n 20 >&2
  echo "torchsharp/build.sh: the built peer does not run (exit code $rc; output above)" >&2
  exit 1
fi
echo "torchsharp/build.sh: built and loads: $out"
