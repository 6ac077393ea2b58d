#!/usr/bin/env bash
# Training from an image folder, the figures of the data issue, in one run:
#  1. accuracy: fashion-cnn from the PNG folder against the IDX files, same epochs, seeds and
#     flags (two seeds each, so the seed-to-seed spread is there to compare with);
#  2. memory: the same run on 1k, 10k and 60k training images, peak RSS of each;
#  3. speed: one epoch from the folder, samples/s and the share of step time spent waiting for
#     data (--prefetch 2, 2 threads), beside PyTorch's ImageFolder + DataLoader with 1 and 2
#     workers on the same folder (frameworks taking turns, nothing else running);
#  4. six-block-512 trained on a folder of 512x512 PNGs, the data ring in its plan.
# Prints a table, writes bench/results/data_folder.md and appends JSON lines to
# bench/results/data_folder.jsonl. The folders are written once into build-data/ (about 20 s
# each, by scripts/fashion_to_folder.py).
# Usage: bench/data_folder.sh [--epochs E] [--threads T] [--quick]
#   --quick: 200 steps instead of whole epochs (a smoke run of the script, not the figures)
set -euo pipefail
cd "$(dirname "$0")/.."
epochs=1 threads=2 quick=0
while [[ $# -gt 0 ]]; do
  case $1 in
    --epochs) epochs=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --quick) quick=1; shift ;;
    *) echo "usage: bench/data_folder.sh [--epochs E] [--threads T] [--quick]" >&2; exit 2 ;;
  esac
done

scripts/setup.sh dataset-fashion-mnist python3-torch python3-torchvision python3-pil libopenblas0-pthread
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" --target footprint-cli >/dev/null
fp=build/footprint
work=build-data
mkdir -p "$work" bench/results
python=/usr/bin/python3
openblas_dir=/usr/lib/$(gcc -print-multiarch)/openblas-pthread

# --- folders (cached) -----------------------------------------------------------------------
[[ -f $work/fm/.done ]] || { rm -rf "$work/fm"; $python scripts/fashion_to_folder.py "$work/fm" && touch "$work/fm/.done"; }
for n in 1000 10000; do
  [[ -f $work/fm$n/.done ]] || { rm -rf "$work/fm$n"; $python scripts/fashion_to_folder.py "$work/fm$n" --limit $n && touch "$work/fm$n/.done"; }
done
if [[ ! -f $work/big512/.done ]]; then  # 2 classes x 16 RGB images of 512x512 (smooth noise)
  rm -rf "$work/big512"
  $python - "$work/big512" <<'EOF'
import os, sys, random
from PIL import Image, ImageFilter
root = sys.argv[1]
random.seed(1)
for split, n in (("train", 16), ("test", 4)):
    for c in range(10):
        d = os.path.join(root, split, f"class{c}")
        os.makedirs(d, exist_ok=True)
        for i in range(n if c < 2 else 0):
            img = Image.effect_noise((512, 512), 40 + 20 * c).convert("RGB").filter(ImageFilter.GaussianBlur(2))
            img.save(os.path.join(d, f"{i}.png"))
EOF
  touch "$work/big512/.done"
fi

stamp=$(date -u +%Y-%m-%dT%H:%M:%SZ)
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
cpu=$(grep -m1 "model name" /proc/cpuinfo | cut -d: -f2 | xargs)
jsonl=bench/results/data_folder.jsonl
goal=(--epochs "$epochs")
[[ $quick == 1 ]] && goal=(--steps 200)
common=(--batch 64 --optimizer momentum --lr 0.02 --threads "$threads")

# Runs footprint train with a report; prints the report's path.
train() {
  local name=$1; shift
  local report=$work/$name.json
  echo "data_folder: $name: $fp train $*" >&2
  "$fp" train "$@" --report "$report" >"$work/$name.out" 2>"$work/$name.err" || {
    echo "data_folder: $name failed:" >&2; tail -5 "$work/$name.err" >&2; exit 1; }
  echo "$report"
}
field() { $python -c "import json,sys; d=json.load(open(sys.argv[1])); print(d.get(sys.argv[2], ''))" "$1" "$2"; }

# --- 1 and 3: accuracy and speed ------------------------------------------------------------------
declare -A acc
for seed in 1 2; do
  r=$(train idx_s$seed nets/fashion-cnn.net --data fashion-mnist "${common[@]}" "${goal[@]}" --seed $seed)
  acc[idx_$seed]=$(field "$r" test_accuracy)
  r=$(train folder_s$seed nets/fashion-cnn.net --data folder:$work/fm --prefetch 2 "${common[@]}" "${goal[@]}" --seed $seed)
  acc[folder_$seed]=$(field "$r" test_accuracy)
done
folder_report=$work/folder_s1.json

# PyTorch on the same folder, 1 and 2 loader workers (one epoch; 200 steps with --quick).
declare -A torch_line
for workers in 1 2; do
  echo "data_folder: pytorch, $workers workers" >&2
  torch_line[$workers]=$(LD_LIBRARY_PATH="$openblas_dir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
    $python bench/data_folder_torch.py --root "$work/fm/train" --net nets/fashion-cnn.net \
    --workers $workers --threads "$threads" --batch 64 $([[ $quick == 1 ]] && echo --steps 200))
done

# --- 2: memory against the size of the data set (same steps on each) ------------------------------
declare -A rss
for n in 1000 10000 60000; do
  dir=$work/fm$n; [[ $n == 60000 ]] && dir=$work/fm
  r=$(train rss_$n nets/fashion-cnn.net --data folder:$dir --prefetch 2 "${common[@]}" --steps 150 --seed 1)
  rss[$n]=$(field "$r" peak_rss_bytes)
done

# --- 4: six-block-512 on 512x512 PNGs ------------------------------------------------------------
r=$(train big512 nets/six-block-512.net --data folder:$work/big512 --batch 1 --steps 8 --threads "$threads" --prefetch 2)
big_planned=$(field "$r" planned_bytes) big_tracked=$(field "$r" tracked_peak_bytes)
big_wait=$(field "$r" data_wait_fraction) big_rss=$(field "$r" peak_rss_bytes)

# --- report ------------------------------------------------------------------------------------
$python - "$work" "$folder_report" "$stamp" "$commit" "$cpu" "$threads" "$quick" "${goal[*]}" \
  "${acc[idx_1]}" "${acc[idx_2]}" "${acc[folder_1]}" "${acc[folder_2]}" \
  "${rss[1000]}" "${rss[10000]}" "${rss[60000]}" \
  "$big_planned" "$big_tracked" "$big_wait" "$big_rss" \
  "${torch_line[1]}" "${torch_line[2]}" <<'EOF' | tee bench/results/data_folder.md
import json, sys
(work, folder_report, stamp, commit, cpu, threads, quick, goal, idx1, idx2, f1, f2, r1k, r10k, r60k,
 big_planned, big_tracked, big_wait, big_rss, torch1, torch2) = sys.argv[1:]
folder = json.load(open(folder_report))
t1, t2 = json.loads(torch1), json.loads(torch2)
mib = lambda b: f"{int(b) / 2**20:.1f} MiB"
pct = lambda x: f"{100 * float(x):.2f}%"
fp_rate = folder["steps"] * folder["batch"] / (folder["seconds_per_step"] * folder["steps"])
print(f"## Training from an image folder ({stamp}, commit {commit}, {cpu}, {threads} threads{', QUICK' if quick == '1' else ''})\n")
print(f"fashion-cnn, batch 64, momentum 0.9, lr 0.02, {goal}:\n")
print("| data | test accuracy, seed 1 | seed 2 | mean |")
print("|---|---|---|---|")
m_idx, m_f = (float(idx1) + float(idx2)) / 2, (float(f1) + float(f2)) / 2
print(f"| IDX files (in memory) | {pct(idx1)} | {pct(idx2)} | {pct(m_idx)} |")
print(f"| PNG folder (streamed) | {pct(f1)} | {pct(f2)} | {pct(m_f)} |")
print(f"\nmeans {100 * abs(m_idx - m_f):.2f} points apart; seeds within a path "
      f"{100 * abs(float(idx1) - float(idx2)):.2f} (IDX) and {100 * abs(float(f1) - float(f2)):.2f} (folder) apart\n")
print("| framework (one epoch from the folder) | samples/s | waiting for data | peak RSS |")
print("|---|---|---|---|")
print(f"| Footprint, --prefetch 2, 1 loader thread | {fp_rate:.0f} | {pct(folder['data_wait_fraction'])} of step time | {mib(folder['peak_rss_bytes'])} |")
for t in (t1, t2):
    print(f"| PyTorch {t['torch']} ImageFolder + DataLoader, {t['workers']} worker{'s' if t['workers'] > 1 else ''} | "
          f"{t['samples_per_second']:.0f} | {pct(t['data_wait_fraction'])} of the epoch | {mib(t['peak_rss_bytes'])} (main + workers) |")
print(f"\nPeak RSS against the number of training images (150 steps each): 1k {mib(r1k)}, 10k {mib(r10k)}, "
      f"60k {mib(r60k)}: {mib(max(map(int, (r1k, r10k, r60k))) - min(map(int, (r1k, r10k, r60k))))} apart\n")
print(f"six-block-512 on 512x512 PNGs, batch 1, 8 steps, 2 batches read ahead: planned {int(big_planned):,} B, "
      f"counting allocator peak {int(big_tracked):,} B ({'equal' if big_planned == big_tracked else 'DIFFERENT'}), "
      f"waiting for data {pct(big_wait)}, peak RSS {mib(big_rss)}")
with open("bench/results/data_folder.jsonl", "a") as out:
    out.write(json.dumps({"time": stamp, "commit": commit, "cpu": cpu, "threads": int(threads), "quick": quick == "1",
                          "accuracy": {"idx": [float(idx1), float(idx2)], "folder": [float(f1), float(f2)]},
                          "footprint_folder": folder, "pytorch": [t1, t2],
                          "rss_by_images": {"1000": int(r1k), "10000": int(r10k), "60000": int(r60k)},
                          "six_block_512": {"planned": int(big_planned), "tracked": int(big_tracked),
                                            "data_wait_fraction": float(big_wait), "peak_rss": int(big_rss)}}) + "\n")
EOF
