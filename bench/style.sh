#!/usr/bin/env bash
# Style transfer, Footprint beside PyTorch: seconds per iteration at 1024x1024 (same random
# VGG-19 up to relu5_1, Adam, same threads) and peak RSS, plus PyTorch's peak RSS at the other
# sizes it reaches. Results: bench/results/style.jsonl (one JSON object per run).
# Usage: bench/style.sh [--threads T] [--big 3840x2160 [--big-budget 2.5G]] [other style_bench.py flags]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh python3-torch python3-torchvision libopenblas0-pthread
build=build-bench
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DFOOTPRINT_BUILD_TESTS=OFF \
  -DFOOTPRINT_BUILD_EXAMPLES=OFF >/dev/null
cmake --build "$build" -j"$(nproc)" --target footprint-cli >/dev/null
exec /usr/bin/python3 bench/style_bench.py --footprint "$build/footprint" "$@"
