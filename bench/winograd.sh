#!/usr/bin/env bash
# Every path of a 3x3 stride-1 convolution (im2col + GEMM, direct loops, Winograd F(4x4, 3x3))
# on the layer shapes of the reference nets, in GFLOP/s counted at the direct convolution's
# multiply-adds, beside sgemm measured in the same run (bench/conv3x3.cpp; Winograd within the
# bytes of the layer's GEMM tile, as the planner runs it). What Conv2d::winograd_pays is based on
# (docs/design.md, "Convolution paths"), and issue #15's bar: Winograd's forward pass on 64 -> 64
# channels at 224x224 at 110% of sgemm or more.
# Usage: bench/winograd.sh [--threads T] [--runs R]
set -euo pipefail
cd "$(dirname "$0")/.."
threads=2 runs=5
while [[ $# -gt 0 ]]; do
  case $1 in
    --threads) threads=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    *) echo "usage: bench/winograd.sh [--threads T] [--runs R]" >&2; exit 2 ;;
  esac
done
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" --target conv3x3 >/dev/null
printf "%-24s %7s %22s %22s %9s\n" "in->out, size, batch" "sgemm" "forward gemm/dir/wino" \
  "data grad gemm/dir/wino" "wino/sgemm"
for shape in 64,224,64,1 64,512,64,1 128,256,128,1 256,128,256,1 512,64,512,1 512,32,512,1 \
             6,256,12,8 12,128,24,8 24,64,48,8 48,32,96,8 96,16,192,8 16,56,16,8 32,28,32,64 \
             128,56,128,8 256,28,256,8 512,14,512,8; do
  build/conv3x3 --threads "$threads" --runs "$runs" --shape "$shape" | python3 -c '
import json, sys
d = json.loads(sys.stdin.read())
f, b = d["forward_gflops"], d["data_grad_gflops"]
shape = "%d->%d, %dx%d, %d" % (d["in_c"], d["out_c"], d["size"], d["size"], d["batch"])
note = "" if d["winograd_within_gemm_tile"] else "  (Winograd would not fit the GEMM tile: not planned)"
print("%-24s %7.1f %6.1f %6.1f %6.1f   %6.1f %6.1f %6.1f   %6.2fx%s" % (
    shape, d["sgemm_gflops"], f["gemm"], f["direct"], f["winograd"], b["gemm"], b["direct"],
    b["winograd"], d["winograd_forward_vs_sgemm"], note))'
done
