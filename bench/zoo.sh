#!/usr/bin/env bash
# The model zoo: 16 torchvision architectures (random weights, random batch-norm statistics,
# opset 13, batch norm kept as nodes) exported as ONNX, fixed-size and with dynamic H and W, then
# for each: `footprint run` against PyTorch's output (and the dynamic export at 224 and 320),
# tracked peak == plan and the process's RSS growth within the plan for inference and training
# (SGD, Adam), Footprint's plans beside PyTorch's peak RSS growth (inference batch 1, training
# batch 8), and inference times beside PyTorch's and ONNX Runtime's (taking turns, medians of
# rounds). Also resnet50's inference plan against weights + 1.1x its activation floor, and
# densenet121's training at batch 8 under half PyTorch's memory. Each run is a fresh process.
# Prints the tables, writes bench/results/zoo.md and appends JSON lines to bench/results/zoo.jsonl.
# Exports are cached in build-zoo/models (redone when bench/zoo_export.py or torch changes).
# Usage: bench/zoo.sh [--threads T] [--rounds R] [--runs N] [--models a,b,...]
#        (default: every core, 3 rounds of 10 timed runs, all 16 models). About an hour on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
threads=$(nproc) rounds=3 runs=10
models=alexnet,vgg11,resnet18,resnet50,resnext50_32x4d,squeezenet1_1,densenet121,googlenet,inception_v3
models+=,mobilenet_v2,mobilenet_v3_small,shufflenet_v2_x1_0,mnasnet0_5,efficientnet_b0,regnet_y_400mf,convnext_tiny
while [[ $# -gt 0 ]]; do
  case $1 in
    --threads) threads=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --models) models=$2; shift 2 ;;
    *) echo "usage: bench/zoo.sh [--threads T] [--rounds R] [--runs N] [--models a,b,...]" >&2; exit 2 ;;
  esac
done

# --- what the peers need: Debian's torch and torchvision, OpenBLAS for them, Node for ONNX Runtime
scripts/setup.sh python3-torch python3-torchvision python3-numpy libopenblas0-pthread
command -v npm >/dev/null || scripts/setup.sh nodejs npm  # a Node from elsewhere (nodesource) is fine
work=build-zoo
mkdir -p "$work"
if [[ ! -f $work/node_modules/onnxruntime-node/package.json ]]; then
  # From npm into build-zoo/ only (its CPU libraries ship in the package; no install scripts run).
  echo "zoo: installing onnxruntime-node into $work/node_modules" >&2
  (cd "$work" && npm install --ignore-scripts --no-audit --no-fund --no-save onnxruntime-node >/dev/null)
fi

# --- build ------------------------------------------------------------------------------------------
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DFOOTPRINT_BUILD_BENCH=ON >/dev/null
cmake --build build -j"$(nproc)" --target footprint-cli zoo_footprint >/dev/null

# Debian's python3-torch loads the reference BLAS through the alternatives; OpenBLAS's directory
# first on LD_LIBRARY_PATH, for PyTorch's processes only, makes it load OpenBLAS instead.
openblas_dir=/usr/lib/$(gcc -print-multiarch)/openblas-pthread
echo "zoo: PyTorch runs with LD_LIBRARY_PATH=$openblas_dir (OpenBLAS instead of the reference BLAS)" >&2

# --- exports (cached) ---------------------------------------------------------------------------
LD_LIBRARY_PATH="$openblas_dir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
  /usr/bin/python3 bench/zoo_export.py "$work/models" ${models//,/ }

# --- runs and report --------------------------------------------------------------------------
/usr/bin/python3 bench/zoo_run.py --models "$models" --threads "$threads" --rounds "$rounds" --runs "$runs" \
  --build build --work "$work" --models-dir "$work/models" --node-modules "$PWD/$work/node_modules" \
  --openblas "$openblas_dir" --results bench/results
