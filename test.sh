#!/usr/bin/env bash
# Runs the whole test suite: installs MKL when it is missing (the tests exercise it for real),
# then `dotnet test`. Extra arguments go to dotnet test (e.g. --filter Parity).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
command -v dotnet >/dev/null 2>&1 || { echo "test.sh: the .NET 10 SDK is needed (https://dot.net), 'dotnet' is not on PATH" >&2; exit 1; }
"$root/deploy/install-mkl.sh"
"$root/tools/interop/install.sh"   # h5py and onnx for the interop tests' Python checks
dotnet test "$root/RnnCluster.sln" -c Release -nologo "$@"
