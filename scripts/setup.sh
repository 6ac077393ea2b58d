#!/usr/bin/env bash
# Installs from Debian's archive what Footprint needs to build, test and run its demo.
# Idempotent and quiet when everything is already there. Needs root (or sudo).
# Usage: scripts/setup.sh [PACKAGE ...]   (extra packages, e.g. the benchmarks' peers)
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  libopenblas-dev zlib1g-dev
  libcli11-dev nlohmann-json3-dev
  libgtest-dev libstb-dev libjpeg-dev
  libonnx-dev libprotobuf-dev protobuf-compiler libonnx-testdata
  libopenmpi-dev openmpi-bin
  dataset-fashion-mnist
  python3-torch python3-torchvision   # tests/import/torch_gradients_test.py (skipped without them)
  python3-onnx                        # tests/export/onnx_export_test.cpp: ONNX's own checker
  "$@"
)
# node and npm run the export tests' ONNX Runtime check (the test installs the npm package
# onnxruntime-node into build/ itself). Checked as commands: a node from elsewhere (NodeSource's
# nodejs brings its own npm) is kept, and Debian's npm is not installed over it.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  packages+=(nodejs npm)
fi

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

as_root=()
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "setup: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  as_root=(sudo)
fi
echo "setup: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
