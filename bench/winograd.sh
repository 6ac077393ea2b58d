#!/usr/bin/env bash
# Winograd F(2x2, 3x3) against the default paths (im2col + GEMM, direct loops) on 3x3 stride-1
# layers from 32 channels at 28x28 to 512 at 7x7: a net of two such convs trained with --profile,
# the second conv's forward and backward milliseconds per call with --winograd and without.
# What decided that Winograd is off by default (PlanOptions::winograd_conv).
# Usage: bench/winograd.sh [--threads T]
set -euo pipefail
cd "$(dirname "$0")/.."
threads=2
[[ ${1:-} == --threads ]] && threads=$2
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" --target footprint-cli >/dev/null
net=$(mktemp --suffix=.net)
trap 'rm -f "$net"' EXIT
conv_ms() {  # forward and backward ms of the second conv
  build/footprint train "$net" --data synthetic --batch "$1" --steps 6 --threads "$threads" --profile "${@:2}" 2>/dev/null |
    awk '$1 == "conv1" {print $4, $5}'
}
build/footprint train nets/lenet.net --data synthetic --steps 1 --profile 2>/dev/null | grep '^GEMM' || true
printf "%-22s %22s %22s\n" "channels, size, batch" "winograd fwd / bwd ms" "default fwd / bwd ms"
for shape in "32 28 64" "64 14 64" "64 28 16" "64 56 8" "64 112 1" "64 224 1" "128 28 8" "128 56 2" \
             "256 28 2" "256 14 8" "512 14 2" "512 7 8"; do
  read -r c hw batch <<<"$shape"
  printf "input %s %s %s\nconv %s k=3 pad=1\nconv %s k=3 pad=1\nloss mse\n" "$c" "$hw" "$hw" "$c" "$c" >"$net"
  printf "%-22s %22s %22s\n" "$c, ${hw}x$hw, $batch" "$(conv_ms "$batch" --winograd)" "$(conv_ms "$batch")"
done
