#!/usr/bin/env bash
# Data-parallel training on one machine: fashion-cnn, one epoch of Fashion-MNIST at global batch
# 64, as 2 ranks x 1 thread (mpirun -np 2) against 1 rank x 2 threads. Prints seconds per step,
# samples per second and, for the 2 ranks, how rank 0's step time splits into compute,
# all-reduce wait and idle (of which data wait; from --report); appends JSON lines to bench/results/dist.jsonl.
# Usage: bench/dist.sh [--epochs E] [--batch B] [--net NET]
set -euo pipefail
cd "$(dirname "$0")/.."
epochs=1 batch=64 net=nets/fashion-cnn.net
while [[ $# -gt 0 ]]; do
  case $1 in
    --epochs) epochs=$2; shift 2 ;;
    --batch) batch=$2; shift 2 ;;
    --net) net=$2; shift 2 ;;
    *) echo "usage: bench/dist.sh [--epochs E] [--batch B] [--net NET]" >&2; exit 2 ;;
  esac
done
scripts/setup.sh
[[ -x build/footprint ]] || scripts/build.sh
command -v mpirun >/dev/null || { echo "bench/dist.sh: no mpirun (openmpi-bin)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
results=bench/results/dist.jsonl
mkdir -p bench/results
stamp=$(date -u +%Y-%m-%dT%H:%M:%SZ)
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
export OMPI_MCA_btl_vader_single_copy_mechanism=${OMPI_MCA_btl_vader_single_copy_mechanism:-none}  # containers without ptrace rights
common=(train "$net" --data fashion-mnist --batch "$batch" --epochs "$epochs" --lr 0.01)

# One process, two threads.
build/footprint "${common[@]}" --threads 2 --report "$tmp/one.json" > "$tmp/one.out" 2>&1
# Two ranks, one thread each (as root, Open MPI must be told; --bind-to core keeps each rank on
# its core, as one rank's two threads are).
mpirun --allow-run-as-root --bind-to core -np 2 \
  build/footprint "${common[@]}" --threads 1 --report "$tmp/two.json" > "$tmp/two.out" 2>&1

python3 - "$tmp/one.json" "$tmp/two.json" "$results" "$stamp" "$commit" "$net" "$batch" <<'PY'
import json, sys
one, two = (json.load(open(p)) for p in sys.argv[1:3])
results, stamp, commit, net, batch = sys.argv[3:8]
def rate(r):
    return int(batch) / r["seconds_per_step"] if r["seconds_per_step"] > 0 else 0.0
print(f"{net}, global batch {batch}, {two['steps']} steps")
print(f"  1 rank  x 2 threads: {one['seconds_per_step'] * 1e3:8.2f} ms/step  {rate(one):8.0f} samples/s"
      f"  test accuracy {one.get('test_accuracy', float('nan')):.4f}")
print(f"  2 ranks x 1 thread:  {two['seconds_per_step'] * 1e3:8.2f} ms/step  {rate(two):8.0f} samples/s"
      f"  test accuracy {two.get('test_accuracy', float('nan')):.4f}")
print(f"  2 ranks / 1 rank throughput: {rate(two) / rate(one):.3f}")
steps = max(1, two["steps"])
print(f"  rank 0's step: compute {two['compute_seconds'] / steps * 1e3:.2f} ms "
      f"(moving sums on {two['allreduce_progress_seconds'] / steps * 1e3:.2f} ms), "
      f"all-reduce wait {two['allreduce_wait_seconds'] / steps * 1e3:.2f} ms, "
      f"idle {two['idle_seconds'] / steps * 1e3:.2f} ms "
      f"(of which data wait {two['data_wait_seconds'] / steps * 1e3:.2f} ms)")
print(f"  tracked peak equals the plan on every rank: {two['tracked_equals_plan_on_every_rank']}")
with open(results, "a") as out:
    for ranks, r in ((1, one), (2, two)):
        out.write(json.dumps({"stamp": stamp, "commit": commit, "net": net, "batch": int(batch),
                              "ranks": ranks, "threads": r["threads"],
                              "seconds_per_step": r["seconds_per_step"],
                              "samples_per_second": rate(r), "steps": r["steps"],
                              "compute_seconds": r.get("compute_seconds"),
                              "allreduce_wait_seconds": r.get("allreduce_wait_seconds"),
                              "idle_seconds": r.get("idle_seconds"),
                              "data_wait_seconds": r["data_wait_seconds"],
                              "test_accuracy": r.get("test_accuracy")}) + "\n")
PY
