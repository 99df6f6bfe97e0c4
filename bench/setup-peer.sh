#!/usr/bin/env bash
# Prepares the PyTorch peer benchmark (bench/peers/pytorch_rnn.py) on Debian.
#
#   1. Installs Debian's python3-torch + python3-numpy for /usr/bin/python3 when
#      `/usr/bin/python3 -c 'import torch'` fails (a pyenv python3 on PATH is ignored:
#      the peer must always be run with /usr/bin/python3).
#   2. Makes sure Intel MKL (libmkl_rt.so) is installed, via ../deploy/install-mkl.sh.
#   3. Points the system BLAS/LAPACK alternatives (libblas.so.3-x86_64-linux-gnu,
#      liblapack.so.3-x86_64-linux-gnu) at libmkl_rt.so, only if they do not already.
#      Debian's torch links libblas.so.3, which defaults to the reference BLAS (~10x slower).
#      NOTE: this is machine-wide; every program using libblas.so.3/liblapack.so.3 then uses MKL.
#      Undo with:  update-alternatives --auto libblas.so.3-x86_64-linux-gnu
#                  update-alternatives --auto liblapack.so.3-x86_64-linux-gnu
#
# Idempotent and non-interactive. Prints one line summarising what it changed; exits non-zero
# with a message on failure. Run the peer with MKL_THREADING_LAYER=GNU (the peer sets it itself
# when unset).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PY=/usr/bin/python3
MKL=/usr/lib/x86_64-linux-gnu/libmkl_rt.so
ARCH_TRIPLET=x86_64-linux-gnu
changes=()

die() { echo "setup-peer: ERROR: $*" >&2; exit 1; }

[ "$(uname -m)" = "x86_64" ] || die "only x86_64 is supported (MKL), found $(uname -m)"
[ -f /etc/debian_version ] || die "not a Debian system; install PyTorch for /usr/bin/python3 and point its BLAS at MKL by hand"
[ -x "$PY" ] || die "$PY not found"

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || die "needs root (or sudo)"
  SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
export MKL_THREADING_LAYER=${MKL_THREADING_LAYER:-GNU}

# --- 1. MKL --------------------------------------------------------------------------------
[ -f "$HERE/../deploy/install-mkl.sh" ] \
  || die "$HERE/../deploy/install-mkl.sh not found"
mkl_out=$(bash "$HERE/../deploy/install-mkl.sh" 2>&1) || { echo "$mkl_out" >&2; die "deploy/install-mkl.sh failed"; }
case "$mkl_out" in
  *"installed libmkl-rt"*) changes+=("installed libmkl-rt") ;;
esac
[ -e "$MKL" ] || die "$MKL not found after install-mkl.sh (this script needs it at that path)"

# --- 2. PyTorch for /usr/bin/python3 -----------------------------------------------------
if ! "$PY" -c 'import torch, numpy' >/dev/null 2>&1; then
  # --no-install-recommends: skips libtorch-dev/build-essential/...; also avoids pulling a
  # different BLAS implementation in.
  apt_log=$($SUDO apt-get update -qq 2>&1) || { echo "$apt_log" >&2; die "apt-get update failed"; }
  apt_log=$($SUDO apt-get install -y -qq --no-install-recommends python3-torch python3-numpy 2>&1) \
    || { echo "$apt_log" | tail -n 30 >&2; die "apt-get install python3-torch python3-numpy failed"; }
  "$PY" -c 'import torch, numpy' >/dev/null 2>&1 \
    || die "python3-torch installed but '$PY -c \"import torch\"' still fails"
  changes+=("installed python3-torch $("$PY" -c 'import torch; print(torch.__version__)') + python3-numpy")
fi

# --- 3. BLAS/LAPACK alternatives -> MKL ---------------------------------------------------
point_at_mkl() {
  local name=$1 link=$2
  local current
  current=$(readlink -f "/etc/alternatives/$name" 2>/dev/null || true)
  if [ "$current" = "$(readlink -f "$MKL")" ]; then
    return 0
  fi
  if ! update-alternatives --list "$name" 2>/dev/null | grep -qxF "$MKL"; then
    # libmkl-rt normally registers itself (priority 1); register it if it did not.
    $SUDO update-alternatives --quiet --install "$link" "$name" "$MKL" 1 \
      || die "update-alternatives --install $name $MKL failed"
  fi
  $SUDO update-alternatives --quiet --set "$name" "$MKL" || die "update-alternatives --set $name $MKL failed"
  current=$(readlink -f "/etc/alternatives/$name" 2>/dev/null || true)
  [ "$current" = "$(readlink -f "$MKL")" ] || die "$name still points at '$current' after update-alternatives --set"
  changes+=("$name: ${3:-?} -> libmkl_rt.so")
}
prev_blas=$(readlink -f /etc/alternatives/libblas.so.3-$ARCH_TRIPLET 2>/dev/null || echo none)
prev_lapack=$(readlink -f /etc/alternatives/liblapack.so.3-$ARCH_TRIPLET 2>/dev/null || echo none)
point_at_mkl "libblas.so.3-$ARCH_TRIPLET" "/usr/lib/$ARCH_TRIPLET/libblas.so.3" "$prev_blas"
point_at_mkl "liblapack.so.3-$ARCH_TRIPLET" "/usr/lib/$ARCH_TRIPLET/liblapack.so.3" "$prev_lapack"

# --- sanity: torch really loads MKL through libblas.so.3 ----------------------------------
maps=$("$PY" -c 'import torch; print(open("/proc/self/maps").read())' 2>/dev/null) \
  || die "'$PY -c \"import torch\"' fails"
grep -q 'libmkl_rt\.so' <<<"$maps" \
  || die "torch does not load libmkl_rt.so (mapped BLAS: $(grep -oE '/[^ ]*lib(blas|openblas|blis)[^ ]*' <<<"$maps" | sort -u | tr '\n' ' '))"

if [ ${#changes[@]} -eq 0 ]; then
  echo "setup-peer: no changes (torch $("$PY" -c 'import torch; print(torch.__version__)') for $PY, MKL present, BLAS/LAPACK alternatives already on libmkl_rt.so)"
else
  summary=$(printf '%s; ' "${changes[@]}")
  echo "setup-peer: changed: ${summary%; }"
fi
