#!/usr/bin/env bash
# Tile-parallel style transfer on one machine: random VGG-19 (nets/vgg19-style.net), L-BFGS,
# 1024x1024, 3 iterations, as 1 process x 2 threads (untiled, and tiled by a smaller budget) and
# as 2 ranks x 1 thread (mpirun -np 2):
# seconds, peak RSS, the largest pixel difference between the two images; and at 3840x2160 the
# plan of one rank of 2 beside the single process's (--plan --ranks). Appends a JSON line to
# bench/results/style_ranks.jsonl.
# Usage: bench/style_ranks.sh [--size WxH] [--iterations N] [--optimizer lbfgs|adam] [--lr LR]
#                             [--style-weight W] [--content-weight W] [--init random|content]
#                             [--big WxH] [--big-budget BYTES]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh python3-pil python3-numpy
[[ -x build/footprint ]] || scripts/build.sh
command -v mpirun >/dev/null || { echo "bench/style_ranks.sh: no mpirun (openmpi-bin)" >&2; exit 1; }
export OMPI_MCA_btl_vader_single_copy_mechanism=${OMPI_MCA_btl_vader_single_copy_mechanism:-none}  # containers without ptrace rights
exec /usr/bin/python3 bench/style_ranks.py --footprint build/footprint "$@"
