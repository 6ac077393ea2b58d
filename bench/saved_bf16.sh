#!/usr/bin/env bash
# What --saved-dtype bf16 does to a plan and to accuracy: fashion-cnn trained on Fashion-MNIST
# for E epochs (Adam lr 0.001, batch 64, seed 1) with float32 saved values and then with
# bfloat16 ones, same seed and data order; prints each run's test accuracy, planned bytes,
# peak RSS growth and seconds per step, and the plan arithmetic: the float32 bytes of the values
# kept in bfloat16, half of them, and what the plan actually shrank by. Appends JSON lines to
# bench/results/saved_bf16.jsonl.
# Usage: bench/saved_bf16.sh [--epochs E] [--threads T] [--net NET] [--batch B]
set -euo pipefail
cd "$(dirname "$0")/.."
epochs=5 threads=2 net=nets/fashion-cnn.net batch=64
while [[ $# -gt 0 ]]; do
  case $1 in
    --epochs) epochs=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --net) net=$2; shift 2 ;;
    --batch) batch=$2; shift 2 ;;
    *) sed -n 2,8p "$0" >&2; exit 2 ;;
  esac
done
scripts/setup.sh
[[ -x build/footprint ]] || scripts/build.sh
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
stamp=$(date -u +%Y-%m-%dT%H:%M:%SZ)
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
mkdir -p bench/results
common=("$net" --batch "$batch" --threads "$threads" --optimizer adam)
for dtype in f32 bf16; do
  build/footprint plan "${common[@]}" --saved-dtype "$dtype" --json > "$tmp/plan_$dtype.json"
  echo "== footprint train ${common[*]} --lr 0.001 --epochs $epochs --seed 1 --data fashion-mnist --saved-dtype $dtype" >&2
  build/footprint train "${common[@]}" --lr 0.001 --epochs "$epochs" --seed 1 --data fashion-mnist \
    --saved-dtype "$dtype" --report "$tmp/run_$dtype.json" > "$tmp/run_$dtype.out" 2>&1
  grep -E "^epoch|test" "$tmp/run_$dtype.out" | tail -n "$((epochs + 2))" >&2 || true
done
python3 - "$tmp" bench/results/saved_bf16.jsonl "$stamp" "$commit" "$net" "$batch" "$epochs" "$threads" <<'PY'
import json, sys
tmp, results, stamp, commit, net, batch, epochs, threads = sys.argv[1:9]
plan = {d: json.load(open(f"{tmp}/plan_{d}.json")) for d in ("f32", "bf16")}
run = {d: json.load(open(f"{tmp}/run_{d}.json")) for d in ("f32", "bf16")}
# The bfloat16 copies are the saved category's growth; the float32 values they stand for are
# twice that.
copies = plan["bf16"]["categories"]["saved"] - plan["f32"]["categories"]["saved"]
kept_f32 = 2 * copies
shrink = plan["f32"]["total_bytes"] - plan["bf16"]["total_bytes"]
mib = 1 << 20
print(f"{net}, batch {batch}, {epochs} epochs of Fashion-MNIST, Adam lr 0.001, {threads} threads")
for d in ("f32", "bf16"):
    r = run[d]
    print(f"  saved {d:4}: test accuracy {100 * r['test_accuracy']:.2f}%  plan {plan[d]['total_bytes'] / mib:.1f} MiB"
          f"  tracked == plan {r['tracked_peak_bytes'] == r['planned_bytes']}"
          f"  RSS growth {r['rss_growth_bytes'] / mib:.1f} MiB  {r['seconds_per_step'] * 1e3:.1f} ms/step")
print(f"  accuracy bf16 - f32: {100 * (run['bf16']['test_accuracy'] - run['f32']['test_accuracy']):+.2f} points")
print(f"  values kept in bf16: {kept_f32 / mib:.1f} MiB as float32, half of that {kept_f32 / 2 / mib:.1f} MiB;"
      f" the plan shrank by {shrink / mib:.1f} MiB ({shrink / max(1, kept_f32 / 2):.2f}x the half)")
print(f"  step time bf16 / f32: {run['bf16']['seconds_per_step'] / run['f32']['seconds_per_step']:.3f}")
with open(results, "a") as out:
    for d in ("f32", "bf16"):
        r = run[d]
        out.write(json.dumps({"stamp": stamp, "commit": commit, "net": net, "batch": int(batch),
                              "epochs": int(epochs), "threads": int(threads), "saved_dtype": d,
                              "test_accuracy": r["test_accuracy"], "planned_bytes": r["planned_bytes"],
                              "tracked_peak_bytes": r["tracked_peak_bytes"],
                              "rss_growth_bytes": r["rss_growth_bytes"],
                              "seconds_per_step": r["seconds_per_step"],
                              "kept_float_bytes": kept_f32 if d == "bf16" else 0}) + "\n")
PY
