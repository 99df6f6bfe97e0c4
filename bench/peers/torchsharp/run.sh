#!/usr/bin/env bash
# Runs the TorchSharp peer built by build.sh; arguments go to it (--help lists them).
#
# Where the system's libstdc++ has no GLIBCXX_3.4.32 (Debian 12: GCC 12's libstdc++), preloads
# bin/.../libiosinit.so, which defines the one symbol libLibTorchSharp.so wanted from that version
# (see weaken-glibcxx.py); anything already in LD_PRELOAD stays (compare.sh passes MKL's
# CPU-dispatch shim there, as it does for the PyTorch peer).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BIN="$HERE/bin/Release/net10.0"
[ -x "$BIN/torchsharp-rnn" ] || { echo "torchsharp/run.sh: $BIN/torchsharp-rnn is missing; run bench/peers/torchsharp/build.sh" >&2; exit 1; }
preload=${LD_PRELOAD:-}
libstdcxx=$(/sbin/ldconfig -p 2>/dev/null | awk '/libstdc\+\+\.so\.6 .*x86-64/ { print $NF; exit }')
if [ -z "$libstdcxx" ] || ! grep -qa 'GLIBCXX_3\.4\.32' "$libstdcxx"; then
  [ -f "$BIN/libiosinit.so" ] || { echo "torchsharp/run.sh: $BIN/libiosinit.so is missing; run bench/peers/torchsharp/build.sh" >&2; exit 1; }
  preload="$BIN/libiosinit.so${preload:+ $preload}"
fi
LD_PRELOAD="$preload" exec "$BIN/torchsharp-rnn" "$@"
