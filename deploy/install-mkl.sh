#!/usr/bin/env bash
# Installs Intel MKL's single runtime library (libmkl_rt.so), which RnnCluster's math calls, and
# builds the CPU-dispatch shim (deploy/mkl-cpu-dispatch.c) that lets MKL use its AVX-512 kernels
# on non-Intel CPUs, into /usr/local/lib/rnncluster/libmkl-cpu-dispatch.so.
# Idempotent: does nothing when both are already there. On Debian it enables the `non-free`
# component only when it is missing, then installs `libmkl-rt` (and gcc when the shim needs it).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SHIM_DIR=/usr/local/lib/rnncluster
SHIM=$SHIM_DIR/libmkl-cpu-dispatch.so

mkl_present() {
  ldconfig -p 2>/dev/null | grep -q 'libmkl_rt\.so' || ls /usr/lib/x86_64-linux-gnu/libmkl_rt.so* >/dev/null 2>&1
}

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else SUDO="none"; fi
fi

# The shim is an optimisation: when it cannot be built, MKL runs its AVX2 kernels and says so at start.
build_shim() {
  if [ -f "$SHIM" ] && [ "$SHIM" -nt "$HERE/mkl-cpu-dispatch.c" ]; then
    echo "install-mkl: $SHIM is already built"
    return 0
  fi
  if [ "$SUDO" = none ]; then
    echo "install-mkl: needs root (or sudo) to build $SHIM; MKL will use its AVX2 kernels on non-Intel CPUs" >&2
    return 0
  fi
  if ! command -v gcc >/dev/null 2>&1; then
    if [ -f /etc/debian_version ]; then
      echo "install-mkl: installing gcc to build $SHIM"
      $SUDO apt-get update -qq && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends gcc libc6-dev >/dev/null \
        || { echo "install-mkl: could not install gcc; MKL will use its AVX2 kernels on non-Intel CPUs" >&2; return 0; }
    else
      echo "install-mkl: no gcc to build $SHIM; MKL will use its AVX2 kernels on non-Intel CPUs" >&2
      return 0
    fi
  fi
  $SUDO mkdir -p "$SHIM_DIR"
  local tmp
  tmp=$(mktemp -d)
  gcc -O2 -shared -fPIC -o "$tmp/libmkl-cpu-dispatch.so" "$HERE/mkl-cpu-dispatch.c"
  $SUDO install -m 0644 "$tmp/libmkl-cpu-dispatch.so" "$SHIM"
  rm -rf "$tmp"
  echo "install-mkl: built $SHIM"
}

if mkl_present; then
  echo "install-mkl: libmkl_rt.so is already installed"
  build_shim
  exit 0
fi

if [ ! -f /etc/debian_version ]; then
  echo "install-mkl: not a Debian system. Install Intel MKL (oneMKL) so that libmkl_rt.so is on the" >&2
  echo "  library path (e.g. 'apt-get install libmkl-rt' on Debian/Ubuntu with non-free/multiverse," >&2
  echo "  or Intel's oneAPI MKL package), or run with RNNCLUSTER_MATH=managed." >&2
  exit 1
fi

if [ "$SUDO" = none ]; then
  echo "install-mkl: needs root (or sudo) to install libmkl-rt" >&2; exit 1
fi

# Enable non-free (libmkl-rt lives there) only where it is missing.
add_non_free_deb822() {
  local f=$1
  if ! grep -Eq '^Components:.*\bnon-free\b' "$f"; then
    echo "install-mkl: adding 'non-free' to $f"
    $SUDO sed -i -E '/^Components:/{/(^|[[:space:]])non-free([[:space:]]|$)/!s/$/ non-free/}' "$f"
  fi
}
add_non_free_list() {
  local f=$1
  if grep -Eq '^deb ' "$f" && ! grep -Eq '^deb .*\bnon-free\b' "$f"; then
    echo "install-mkl: adding 'non-free' to $f"
    $SUDO sed -i -E '/^deb /{/[[:space:]]non-free([[:space:]]|$)/!s/$/ non-free/}' "$f"
  fi
}
[ -f /etc/apt/sources.list.d/debian.sources ] && add_non_free_deb822 /etc/apt/sources.list.d/debian.sources
[ -f /etc/apt/sources.list ] && add_non_free_list /etc/apt/sources.list

export DEBIAN_FRONTEND=noninteractive
# libmkl-rt asks a debconf question about making MKL the default BLAS; answer "no" so that
# installing it does not silently change other programs' BLAS.
echo "libmkl-rt libmkl-rt/use-as-default-blas-lapack boolean false" | $SUDO debconf-set-selections 2>/dev/null || true
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends libmkl-rt >/dev/null
if mkl_present; then
  echo "install-mkl: installed libmkl-rt"
else
  echo "install-mkl: apt-get finished but libmkl_rt.so was not found" >&2
  exit 1
fi
build_shim
