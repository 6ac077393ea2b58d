#!/usr/bin/env bash
# What a memory budget costs in step time on any net: trains NET without a budget and then with
# budgets of 1/F of its unbudgeted plan, for each F given, and prints the plan, the peak RSS
# growth, the seconds per step (median of the timed steps after a warm-up, from --report) and
# their ratio to the unbudgeted step. A budget the planner cannot meet is reported with the
# smallest plan it names. Appends JSON lines to bench/results/budget_step.jsonl.
# Usage: bench/budget_step.sh NET [--batch B] [--threads T] [--steps S] [--fractions "2 3 4"]
#                             [--rounds R] [--budget-flags "FLAGS"]
#                             [other train flags, e.g. --loss softmax_xent for an ONNX model]
#   --budget-flags: flags for the budgeted runs only (e.g. "--saved-dtype bf16
#     --update-in-backward"); the fractions stay those of the plain plan, the baseline plain.
#   --rounds R: every configuration once a round (taking turns, as the machine's speed drifts);
#     each figure is the median over the rounds (default 1).
# resnet50 at 224, batch 16 (issue "Memory II"):
#   python3 bench/zoo_export.py /tmp/zoo resnet50
#   bench/budget_step.sh /tmp/zoo/resnet50/model.onnx --batch 16 --fractions 3 --loss softmax_xent
set -euo pipefail
cd "$(dirname "$0")/.."
[[ $# -ge 1 ]] || { sed -n 2,11p "$0" >&2; exit 2; }
net=$1; shift
batch=8 threads=$(nproc) steps=3 fractions="2 3 4" rounds=1 extra=() budget_flags=
while [[ $# -gt 0 ]]; do
  case $1 in
    --batch) batch=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --steps) steps=$2; shift 2 ;;
    --fractions) fractions=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --budget-flags) read -r -a budget_flags <<< "$2"; shift 2 ;;
    *) extra+=("$1"); shift ;;
  esac
done
[[ -x build/footprint ]] || scripts/build.sh
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
common=("$net" --batch "$batch" --threads "$threads" "${extra[@]}")
plain=$(build/footprint plan "${common[@]}" --mode train --json |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["total_bytes"])')
stamp=$(date -u +%Y-%m-%dT%H:%M:%SZ)
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
mkdir -p bench/results
: > "$tmp/lines"
for ((round = 1; round <= rounds; ++round)); do
for fraction in 1 $fractions; do
  args=("${common[@]}")
  ((fraction > 1)) && args+=("${budget_flags[@]}" --memory-budget $((plain / fraction)))
  if ! build/footprint plan "${args[@]}" --mode train --json > "$tmp/plan.json" 2> "$tmp/err"; then
    ((round > 1)) ||
      python3 -c 'import json,sys; print(json.dumps({"fraction": int(sys.argv[1]), "refused": open(sys.argv[2]).read().strip()}))' \
        "$fraction" "$tmp/err" >> "$tmp/lines"
    continue
  fi
  build/footprint train "${args[@]}" --data synthetic --steps $((steps + 1)) --lr 0.0001 \
    --report "$tmp/report.json" > /dev/null 2>&1
  python3 - "$tmp/plan.json" "$tmp/report.json" "$fraction" "$round" "${budget_flags[*]}" >> "$tmp/lines" <<'PY'
import json, sys
plan = json.load(open(sys.argv[1])); report = json.load(open(sys.argv[2]))
flags = sys.argv[5] if int(sys.argv[3]) > 1 else ""
print(json.dumps({"fraction": int(sys.argv[3]), "round": int(sys.argv[4]), "flags": flags,
                  "planned_bytes": plan["total_bytes"],
                  "extra_forward": plan["recompute_flops"] / plan["forward_flops"],
                  "seconds_per_step": report["step_seconds_median"],
                  "rss_growth_bytes": report["rss_growth_bytes"]}))
PY
done
done
python3 - "$tmp/lines" "$net" "$batch" "$threads" "$stamp" "$commit" <<'PY'
import json, os, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
net, batch, threads, stamp, commit = sys.argv[2:7]
with open("bench/results/budget_step.jsonl", "a") as out:
    for l in lines:
        out.write(json.dumps({"net": os.path.basename(net), "batch": int(batch), "threads": int(threads),
                              "date": stamp, "commit": commit, **l}) + "\n")
# Each fraction's rounds as one: the median time, the largest RSS growth.
import statistics
merged = {}
for l in lines:
    merged.setdefault(l["fraction"], []).append(l)
rows = []
for group in merged.values():
    row = dict(group[0])
    if "seconds_per_step" in row:
        row["seconds_per_step"] = statistics.median(g["seconds_per_step"] for g in group)
        row["rss_growth_bytes"] = max(g["rss_growth_bytes"] for g in group)
        row["rounds"] = len(group)
    rows.append(row)
base = next(l for l in rows if l["fraction"] == 1)
print(f"{os.path.basename(net)}, batch {batch}, {threads} threads")
print("budget | flags | plan | RSS growth | extra forward | s/step (median of rounds) | vs no budget")
for l in rows:
    name = "none" if l["fraction"] == 1 else f"1/{l['fraction']}"
    if "refused" in l:
        print(f"{name} | refused: {l['refused']}")
        continue
    print(f"{name} | {l.get('flags') or '-'} | {l['planned_bytes'] / 2**20:.1f} MiB | {l['rss_growth_bytes'] / 2**20:.1f} MiB | "
          f"{l['extra_forward']:.0%} | {l['seconds_per_step']:.3f} | {l['seconds_per_step'] / base['seconds_per_step']:.2f}x")
PY
