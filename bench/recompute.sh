#!/usr/bin/env bash
# Training under a memory budget, side by side with PyTorch's checkpoint_sequential: a chain of
# 48 conv 64->64 (3x3) + ReLU layers at 128x128, batch 4, SGD (issue "Memory II"). Footprint
# plans at 1, 1/2, 1/4 and 1/8 of its unbudgeted (float32) plan, with float32 saved values,
# again with float32 and --update-in-backward (each layer's weight gradients live only until its
# update), and with --saved-dtype bf16 (a budget it refuses is reported with the smallest plan it
# names), and trains 3 steps at each; PyTorch trains with 0 (none), 2, 4, 8 and 16 segments
# (--torch-segments). Each run is a fresh process; a run's time is the median of its timed
# steps, the warm-up step excluded; every configuration runs once per round (3 rounds, all of
# them taking turns) and its figure is the median over the rounds; memory is the peak resident
# growth from just before the runtime or model is created (the largest over the rounds). Prints
# a table and appends JSON lines (one per run) to bench/results/recompute.jsonl.
# Usage: bench/recompute.sh [--threads T] [--layers L] [--size S] [--batch B] [--rounds R]
#                           [--steps S] [--torch-segments "0 2 4 8 16"]
set -euo pipefail
cd "$(dirname "$0")/.."
threads=$(nproc) layers=48 size=128 batch=4 steps=3 rounds=3 torch_segments="0 2 4 8 16"
while [[ $# -gt 0 ]]; do
  case $1 in
    --threads) threads=$2; shift 2 ;;
    --layers) layers=$2; shift 2 ;;
    --size) size=$2; shift 2 ;;
    --batch) batch=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --steps) steps=$2; shift 2 ;;
    --torch-segments) torch_segments=$2; shift 2 ;;
    *) echo "usage: bench/recompute.sh [--threads T] [--layers L] [--size S] [--batch B] [--rounds R] [--steps S] [--torch-segments LIST]" >&2; exit 2 ;;
  esac
done
scripts/setup.sh python3-torch libopenblas0-pthread
[[ -x build/footprint ]] || scripts/build.sh
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
net=$tmp/chain.net
{
  echo "input 64 $size $size"
  for ((i = 0; i < layers; ++i)); do echo "conv 64 k=3 pad=1"; echo "relu"; done
  echo "globalavgpool"; echo "fc 10"; echo "loss mse"
} > "$net"
results=bench/results/recompute.jsonl
mkdir -p bench/results
stamp=$(date -u +%Y-%m-%dT%H:%M:%SZ)
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)

plain=$(build/footprint plan "$net" --batch "$batch" --threads "$threads" --json |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["total_bytes"])')
echo "recompute: the unbudgeted plan takes $plain B" >&2
lines=$tmp/lines.jsonl
: > "$lines"
# One Footprint configuration (saved dtype, budget fraction): a JSON line, or a refusal.
# A variant is f32, f32+update (float32 with --update-in-backward) or bf16.
footprint_run() {
  local variant=$1 fraction=$2 round=$3
  local dtype=${variant%+update} update=false
  local budget=$((plain / fraction))
  local args=("$net" --batch "$batch" --threads "$threads" --saved-dtype "$dtype")
  [[ $variant == *+update ]] && { args+=(--update-in-backward); update=true; }
  ((fraction > 1)) && args+=(--memory-budget "$budget")
  if ! build/footprint plan "${args[@]}" --json > "$tmp/plan.json" 2> "$tmp/err"; then
    ((round == 1)) && echo "{\"framework\": \"footprint\", \"saved_dtype\": \"$dtype\", \"update_in_backward\": $update, \"fraction\": $fraction, \"budget_bytes\": $budget, \"refused\": \"$(tr -d '"\n' < "$tmp/err")\"}" >> "$lines"
    return 0
  fi
  build/footprint train "${args[@]}" --data synthetic --steps $((steps + 1)) --lr 0.0001 \
    --report "$tmp/report.json" > /dev/null 2>&1
  python3 - "$tmp/plan.json" "$tmp/report.json" "$fraction" "$budget" "$dtype" "$round" "$update" >> "$lines" <<'PY'
import json, sys
plan = json.load(open(sys.argv[1])); report = json.load(open(sys.argv[2]))
print(json.dumps({"framework": "footprint", "saved_dtype": sys.argv[5],
                  "update_in_backward": sys.argv[7] == "true", "fraction": int(sys.argv[3]),
                  "budget_bytes": int(sys.argv[4]), "round": int(sys.argv[6]),
                  "planned_bytes": plan["total_bytes"],
                  "extra_forward": plan["recompute_flops"] / plan["forward_flops"],
                  "seconds_per_step": report["step_seconds_median"],
                  "rss_growth_bytes": report["rss_growth_bytes"]}))
PY
}
openblas_dir=/usr/lib/$(gcc -print-multiarch)/openblas-pthread
# Rounds, every configuration once in each, Footprint's and PyTorch's taking turns: the machine's
# speed drifts over minutes, and each figure is the median over the rounds.
for ((round = 1; round <= rounds; ++round)); do
  for variant in f32 f32+update bf16; do
    for fraction in 1 2 4 8; do footprint_run "$variant" "$fraction" "$round"; done
  done
  for segments in $torch_segments; do
    LD_LIBRARY_PATH="$openblas_dir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" OMP_NUM_THREADS=$threads \
      /usr/bin/python3 bench/recompute_torch.py --layers "$layers" --size "$size" --batch "$batch" \
      --segments "$segments" --steps "$steps" --threads "$threads" >> "$lines"
  done
done
python3 - "$lines" "$results" "$stamp" "$commit" "$threads" <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
with open(sys.argv[2], "a") as out:
    for l in lines:
        l.update({"time": sys.argv[3], "commit": sys.argv[4], "threads": int(sys.argv[5])})
        out.write(json.dumps(l) + "\n")
# Each configuration's rounds as one: the median time, the largest RSS growth.
import statistics
def merge(group):
    out = dict(group[0])
    if "seconds_per_step" in out:
        out["seconds_per_step"] = statistics.median(g["seconds_per_step"] for g in group)
        out["rss_growth_bytes"] = max(g["rss_growth_bytes"] for g in group)
        out["rounds"] = len(group)
    return out
def merged(rows, key):
    groups = {}
    for r in rows:
        groups.setdefault(key(r), []).append(r)
    return [merge(g) for g in groups.values()]
variant = lambda l: l["saved_dtype"] + ("+update" if l.get("update_in_backward") else "")
fp = merged([l for l in lines if l["framework"] == "footprint"], lambda l: (variant(l), l["fraction"]))
pt = merged([l for l in lines if l["framework"] == "pytorch"], lambda l: l["segments"])
base = next(l for l in fp if l["fraction"] == 1 and variant(l) == "f32")
pt_base = next(l for l in pt if l["segments"] == 0)
mib = lambda b: f"{b / 2**20:.0f} MiB"
print("saved (+update: --update-in-backward) | budget | Footprint plan | RSS growth | s/step | vs no budget (f32) | PyTorch at that memory (segments: RSS, s/step, vs none)")
for l in fp:
    if "refused" in l:
        print(f"{variant(l)} | 1/{l['fraction']} | refused: {l['refused']}")
        continue
    fits = [p for p in pt if p["rss_growth_bytes"] <= l["rss_growth_bytes"] * 1.05]
    p = min(fits, key=lambda p: p["seconds_per_step"]) if fits else None
    torch_text = (f"{p['segments']}: {mib(p['rss_growth_bytes'])}, {p['seconds_per_step']:.2f} s, "
                  f"{p['seconds_per_step'] / pt_base['seconds_per_step']:.2f}x") if p else "none reaches it"
    print(f"{variant(l)} | 1/{l['fraction']} | {mib(l['planned_bytes'])} (+{100 * l['extra_forward']:.0f}% forward) | "
          f"{mib(l['rss_growth_bytes'])} | {l['seconds_per_step']:.2f} | "
          f"{l['seconds_per_step'] / base['seconds_per_step']:.2f}x | {torch_text}")
print("PyTorch:", ", ".join(f"{p['segments']} seg {mib(p['rss_growth_bytes'])} {p['seconds_per_step']:.2f} s" for p in pt))
PY
