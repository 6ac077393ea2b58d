#!/usr/bin/env bash
# OpenBLAS on a CPU model it does not know: it falls back to its generic Prescott kernels (SSE
# only), which cloud VMs that mask their CPU model get. Simulated here with
# OPENBLAS_CORETYPE=PRESCOTT, which is what OpenBLAS then runs. Trains nets/vgg19-style.net
# (loss mse) at 512x512, batch 1, three ways: OpenBLAS's own choice on this machine; PRESCOTT,
# where Footprint's check (src/kernels/gemm/blas_core.cpp) sees the generic kernels under an
# AVX2/AVX-512 CPU and starts itself again with the right core; PRESCOTT with the check turned
# off (FOOTPRINT_KEEP_BLAS_CORE=1), what running on the fallback costs. Prints seconds per step
# (median of the timed steps after a warm-up) and the kernels each run used.
# Usage: bench/blas_fallback.sh [--threads T] [--steps S]
set -euo pipefail
cd "$(dirname "$0")/.."
threads=$(nproc) steps=3
while [[ $# -gt 0 ]]; do
  case $1 in
    --threads) threads=$2; shift 2 ;;
    --steps) steps=$2; shift 2 ;;
    *) echo "usage: bench/blas_fallback.sh [--threads T] [--steps S]" >&2; exit 2 ;;
  esac
done
[[ -x build/footprint ]] || scripts/build.sh
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
train=(build/footprint train nets/vgg19-style.net --loss mse --data synthetic --batch 1
       --threads "$threads" --steps $((steps + 1)) --lr 0.0001)
run() {  # name, environment...
  local name=$1; shift
  env "$@" "${train[@]}" --report "$tmp/$name.json" > /dev/null 2>&1
}
run native
run prescott OPENBLAS_CORETYPE=PRESCOTT
run prescott_kept OPENBLAS_CORETYPE=PRESCOTT FOOTPRINT_KEEP_BLAS_CORE=1
python3 - "$tmp" "$threads" <<'PY'
import datetime, json, os, subprocess, sys
tmp, threads = sys.argv[1], int(sys.argv[2])
runs = {n: json.load(open(os.path.join(tmp, n + ".json"))) for n in ("native", "prescott", "prescott_kept")}
base = runs["native"]["seconds_per_step"]
labels = {"native": "OpenBLAS's own choice", "prescott": "OPENBLAS_CORETYPE=PRESCOTT (Footprint restarts)",
          "prescott_kept": "PRESCOTT, FOOTPRINT_KEEP_BLAS_CORE=1"}
print(f"vgg19-style 512x512 training step, batch 1, {threads} threads")
for n, r in runs.items():
    print(f"  {labels[n]:50s} {r['seconds_per_step']:7.3f} s  {r['seconds_per_step'] / base:5.2f}x  [{r['blas']}]")
commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
os.makedirs("bench/results", exist_ok=True)
with open("bench/results/blas_fallback.jsonl", "a") as f:
    f.write(json.dumps({"date": datetime.datetime.utcnow().strftime("%Y-%m-%dT%H:%M:%SZ"), "commit": commit,
                        "threads": threads, **{n: {"seconds_per_step": r["seconds_per_step"], "blas": r["blas"]}
                                               for n, r in runs.items()}}) + "\n")
PY
