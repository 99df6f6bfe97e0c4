#!/usr/bin/env bash
# Installs what the interop tests call from Python: Debian's h5py (reads the HDF5 files we write
# and writes Keras-layout reference files), numpy, and the onnx package (its checker validates
# the ONNX files we export; Debian 12's onnx 1.12 checks up to opset 17). Idempotent: does
# nothing when /usr/bin/python3 already imports all three.
set -euo pipefail
PY=/usr/bin/python3
if [ -x "$PY" ] && "$PY" -c 'import h5py, numpy, onnx' >/dev/null 2>&1; then
  echo "interop/install: python3-h5py, python3-numpy and python3-onnx are already installed"
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "interop/install: needs root (or sudo) to install python3-h5py python3-numpy python3-onnx" >&2; exit 1
  fi
fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq python3 python3-h5py python3-numpy python3-onnx hdf5-tools >/dev/null
"$PY" -c 'import h5py, numpy, onnx; print("interop/install: h5py", h5py.__version__, "onnx", onnx.__version__)'
