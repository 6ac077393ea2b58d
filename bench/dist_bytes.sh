#!/usr/bin/env bash
# What data parallelism over a network would cost, as a model built on measured compute: for
# six-block-512 (global batch 2), fashion-cnn (64) and torchvision's resnet50 (16) at N = 2
# ranks, the bytes each rank sends per step (the ring all-reduce of the gradients and the
# running statistics: 2 (N - 1) / N of them) and the time they take at 10 and 100 Gbit/s,
# beside one rank's measured compute per step (its share of the batch, 1 thread: what each of 2
# ranks does on a 2-core machine). Style at 3840x2160 is measured as 2 ranks x 1 thread, one
# Adam iteration (seconds per evaluation), with the bytes one evaluation sends: the pixel
# gradient's all-reduce, the image parts gathered, the Gram sums.
# Prints a Markdown table and appends JSON lines to bench/results/dist_bytes.jsonl.
# Usage: bench/dist_bytes.sh [--no-style]
set -euo pipefail
cd "$(dirname "$0")/.."
style=1
[[ ${1:-} == --no-style ]] && style=0
scripts/setup.sh python3-torch python3-torchvision
[[ -x build/footprint ]] || scripts/build.sh
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export OMPI_MCA_btl_vader_single_copy_mechanism=${OMPI_MCA_btl_vader_single_copy_mechanism:-none}
/usr/bin/python3 bench/zoo_export.py "$tmp/zoo" resnet50 >/dev/null
exec /usr/bin/python3 bench/dist_bytes.py --footprint build/footprint --resnet50 "$tmp/zoo/resnet50/model.onnx" \
  --tmp "$tmp" --style "$style"
