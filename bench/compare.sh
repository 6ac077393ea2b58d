#!/usr/bin/env bash
# Footprint side by side with PyTorch and tiny-dnn on the same workloads, each framework in its
# own process with the same thread count, warm-up excluded, median of several runs. Prints a table
# (time per step, throughput, peak RSS, ratios) and appends one JSON object per framework and
# workload to bench/results/compare.jsonl (the format later runs are compared with).
# Usage: bench/compare.sh [--threads T] [--quick] [--lenet-seeds N]   (default: all cores; --quick
#        skips vgg19 and the LeNet epochs; LeNet runs N = 3 seeds per framework, medians compared;
#        Footprint and PyTorch take turns for R = 3 rounds of every timed workload, medians compared).
#        Needs root or sudo the first time, to install the peers.
set -euo pipefail
cd "$(dirname "$0")/.."
threads=$(nproc)
quick=0
lenet_seeds=3
rounds=3
while [[ $# -gt 0 ]]; do
  case $1 in
    --threads) threads=$2; shift 2 ;;
    --quick) quick=1; shift ;;
    --lenet-seeds) lenet_seeds=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    *) echo "usage: bench/compare.sh [--threads T] [--quick] [--lenet-seeds N] [--rounds R]" >&2; exit 2 ;;
  esac
done

# --- what the peers need, from Debian's archive --------------------------------------------------
scripts/setup.sh python3-torch tiny-dnn libcereal-dev libgemmlowp-dev libstb-dev libopenblas0-pthread

# --- build -----------------------------------------------------------------------------------------
build=build-bench
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DFOOTPRINT_BUILD_BENCH=ON \
  -DFOOTPRINT_BUILD_TESTS=OFF -DFOOTPRINT_BUILD_EXAMPLES=OFF >/dev/null
cmake --build "$build" -j"$(nproc)" --target compare_footprint footprint-cli >/dev/null
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Debian's tiny-dnn includes stb as third_party/stb/...: an include dir whose third_party/stb is
# Debian's stb. Flags as tiny-dnn's own CMake build uses them.
mkdir -p "$tmp/include/third_party"
ln -s /usr/include/stb "$tmp/include/third_party/stb"
tiny_flags=(-std=c++14 -O3 -march=native -DCNN_USE_SSE -DCNN_USE_AVX -I"$tmp/include" -pthread -w)
[[ $threads -eq 1 ]] && tiny_flags+=(-DCNN_SINGLE_THREAD)
echo "compare: compiling the tiny-dnn driver (about a minute)" >&2
g++ "${tiny_flags[@]}" bench/compare_tinydnn.cpp -o "$tmp/compare_tinydnn"
tiny_threads_ok=1
[[ $threads -ne 1 && $threads -ne $(nproc) ]] && tiny_threads_ok=0  # tiny-dnn uses every core

# Debian's python3-torch loads the reference BLAS through the alternatives; OpenBLAS's directory
# first on LD_LIBRARY_PATH, for this process only, makes it load OpenBLAS instead.
openblas_dir=/usr/lib/$(gcc -print-multiarch)/openblas-pthread
torch() {
  LD_LIBRARY_PATH="$openblas_dir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" OMP_NUM_THREADS=$threads \
    /usr/bin/python3 bench/compare_torch.py "$@" --threads "$threads"  # Debian's python, where python3-torch lives
}
echo "compare: PyTorch runs with LD_LIBRARY_PATH=$openblas_dir (OpenBLAS instead of the reference BLAS)" >&2

nets=nets
data=/usr/share/datasets/fashion-mnist
lines="$tmp/lines.jsonl"
: > "$lines"
run() {  # label, command...: the command prints JSON lines; a failure is recorded, not fatal
  local label=$1
  shift
  echo "compare: $label" >&2
  if ! "$@" >> "$lines" 2> "$tmp/err"; then
    echo "compare: $label failed: $(tail -1 "$tmp/err")" >&2
  fi
}

fp=$build/compare_footprint
# Footprint and PyTorch take turns, $rounds rounds of each workload, and the table shows the
# median over the rounds: this shared machine's speed drifts by tens of percent over minutes,
# and one run of each, minutes apart, once put either side ahead. tiny-dnn, an order of
# magnitude behind, runs once.
for batch in 1 8; do
  runs=$([[ $batch -eq 1 ]] && echo 10 || echo 5)
  for round in $(seq 1 "$rounds"); do
    run "six-block-512 batch $batch, round $round: footprint" $fp six-block $nets/six-block-512.net --batch $batch --threads "$threads" --runs $runs
    run "six-block-512 batch $batch, round $round: pytorch" torch six-block --net $nets/six-block-512.net --batch $batch --runs $runs
  done
  if [[ $tiny_threads_ok -eq 1 ]]; then
    run "six-block-512 batch $batch: tiny-dnn" "$tmp/compare_tinydnn" six-block --batch $batch --runs $([[ $batch -eq 1 ]] && echo 3 || echo 2)
  fi
done
for round in $(seq 1 "$rounds"); do
  run "conv 3x3 64->64 224x224, round $round: footprint" $fp conv --threads "$threads" --runs 5
  run "conv 3x3 64->64 224x224, round $round: pytorch" torch conv --runs 5
done
if [[ $quick -eq 0 ]]; then
  for round in $(seq 1 "$rounds"); do
    run "vgg19-style 512x512 fwd+bwd, round $round: footprint" $fp vgg $nets/vgg19-style.net --threads "$threads" --runs 2
    run "vgg19-style 512x512 fwd+bwd, round $round: pytorch" torch vgg --net $nets/vgg19-style.net --runs 2
  done
  # LeNet, one epoch of Fashion-MNIST, batch 32, SGD with momentum 0.9, lr 0.01. The accuracy
  # after one epoch moves by more than a point with the seed (Footprint: 83.3% to 85.4% over
  # seeds 1-5), so Footprint and PyTorch each run $lenet_seeds seeds and the table compares
  # medians; tiny-dnn, whose accuracy is not a target, runs once.
  footprint_lenet() {
    "$build/footprint" train $nets/lenet.net --data fashion-mnist --epochs 1 --batch 32 \
      --optimizer momentum --lr 0.01 --threads "$threads" --seed "$1" --report "$tmp/lenet.json" \
      >/dev/null 2>&1
    python3 - "$tmp/lenet.json" "$threads" "$1" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
s = r["epochs"][0]["seconds"] if r.get("epochs") else r["seconds_per_step"] * r["steps"]
print(json.dumps({"framework": "footprint", "workload": "lenet-fashion-mnist-epoch",
                  "threads": int(sys.argv[2]), "batch": 32, "seconds_per_step": s, "runs": [s],
                  "throughput": 60000 / s, "unit": "samples/s", "peak_rss_bytes": r["peak_rss_bytes"],
                  "test_accuracy": r.get("test_accuracy"), "planned_bytes": r["planned_bytes"],
                  "seed": int(sys.argv[3])}))
PY
  }
  for seed in $(seq 1 "$lenet_seeds"); do
    run "lenet epoch, seed $seed: footprint" footprint_lenet "$seed"
    run "lenet epoch, seed $seed: pytorch" torch lenet --data $data --batch 32 --seed "$seed"
  done
  if [[ $tiny_threads_ok -eq 1 ]]; then
    for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
      gunzip -c "$data/$f.gz" > "$tmp/$f"
    done
    run "lenet epoch: tiny-dnn" "$tmp/compare_tinydnn" lenet "$tmp" --batch 32
  fi
fi

# --- results -------------------------------------------------------------------------------------
mkdir -p bench/results
python3 - "$lines" bench/results/compare.jsonl "$threads" "$quick" "$tiny_threads_ok" <<'PY'
import json, platform, subprocess, sys, time
lines, out, threads, quick, tiny_ok = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4] == "1", sys.argv[5] == "1"
rows = [json.loads(l) for l in open(lines) if l.strip().startswith("{")]
stamp = time.strftime("%Y-%m-%dT%H:%M:%S%z")
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
try:
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
except OSError:
    commit = "?"
load = open("/proc/loadavg").read().split()[0]
with open(out, "a") as f:
    for r in rows:
        r.update({"time": stamp, "host": platform.node(), "cpu": cpu, "commit": commit, "load_at_end": float(load)})
        f.write(json.dumps(r) + "\n")

workloads = ["six-block-512-train@1", "six-block-512-train@8", "conv3x3-64-224-fwd", "conv3x3-64-224-fwd-bwd",
             "sgemm-64x50176x576", "sgemm-1536", "vgg19-style-512-fwd-bwd-input", "lenet-fashion-mnist-epoch"]
def key(r):
    return r["workload"] + ("@%d" % r["batch"] if r["workload"].startswith("six-block") else "")
import statistics
groups = {}
for r in rows:
    groups.setdefault((key(r), r["framework"]), []).append(r)
by = {}
for (k, fw), rs in groups.items():
    # Several runs of one workload (rounds, LeNet's seeds): the median time, GFLOP/s and accuracy.
    r = dict(rs[0])
    if len(rs) > 1:
        r["seconds_per_step"] = statistics.median(x["seconds_per_step"] for x in rs)
        r["throughput"] = statistics.median(x["throughput"] for x in rs)
        r["peak_rss_bytes"] = max(x["peak_rss_bytes"] for x in rs)
        if "gflops" in r:
            r["gflops"] = statistics.median(x["gflops"] for x in rs)
        r["rounds"] = len(rs)
        accs = [x["test_accuracy"] for x in rs if x.get("test_accuracy") is not None]
        if accs:
            r["test_accuracy"] = statistics.median(accs)
            r["accuracies"] = accs
    by.setdefault(k, {})[fw] = r
not_run = {
    "tiny-dnn": "not run: no driver (tiny-dnn has no input-gradient API and would take minutes per step)"
                if tiny_ok else f"not run: tiny-dnn cannot be limited to {threads} threads",
}
print(f"\nFootprint vs PyTorch vs tiny-dnn, {threads} thread(s), {cpu}, load {load} at the end")
print("PyTorch ran with OpenBLAS (LD_LIBRARY_PATH), not Debian's default reference BLAS.")
print("ratio = peer's time / Footprint's time (> 1: Footprint is faster)\n")
print(f"{'workload':34} {'framework':10} {'s/step':>9} {'throughput':>16} {'peak RSS':>10} {'ratio':>7}  notes")
for w in workloads:
    group = by.get(w, {})
    if not group:
        continue
    fp = group.get("footprint")
    for name in ["footprint", "pytorch", "tiny-dnn"]:
        r = group.get(name)
        if r is None:
            if name == "tiny-dnn" or (name == "pytorch" and w.startswith("sgemm-64")):
                note = not_run["tiny-dnn"] if name == "tiny-dnn" else "not run (Footprint's conv-shaped GEMM)"
                if name == "tiny-dnn" and w.startswith(("conv", "sgemm")):
                    note = "not run: no driver for single kernels"
                if name == "tiny-dnn" and tiny_ok and w.startswith("six-block") or (name == "tiny-dnn" and tiny_ok and w.startswith("lenet")):
                    note = "failed (see stderr)"
                print(f"{w:34} {name:10} {'-':>9} {'-':>16} {'-':>10} {'-':>7}  {note}")
            continue
        ratio = "" if fp is None or name == "footprint" else f"{r['seconds_per_step'] / fp['seconds_per_step']:.2f}"
        notes = []
        if "gflops" in r: notes.append(f"{r['gflops']:.1f} GFLOP/s")
        if r.get("test_accuracy") is not None:
            each = r.get("accuracies")
            notes.append(f"test acc {100 * r['test_accuracy']:.2f}%" +
                         (" (median of " + ", ".join(f"{100 * a:.2f}" for a in each) + ")" if each else ""))
        if "blas" in r: notes.append(r["blas"])
        tp = f"{r['throughput']:.2f} {r['unit']}"
        print(f"{w:34} {name:10} {r['seconds_per_step']:9.4f} {tp:>16} {r['peak_rss_bytes'] / 2**20:8.1f}Mi {ratio:>7}  {', '.join(notes)}")
sg = by.get("sgemm-1536", {}).get("footprint")
for w, share in [("conv3x3-64-224-fwd", 0.75), ("conv3x3-64-224-fwd-bwd", 0.65)]:
    c = by.get(w, {}).get("footprint")
    if c and sg:
        print(f"{w}: Footprint {c['gflops']:.1f} GFLOP/s = {100 * c['gflops'] / sg['gflops']:.0f}% of sgemm-1536 "
              f"({sg['gflops']:.1f} GFLOP/s, same run); target {100 * share:.0f}%")
print(f"\nappended {len(rows)} lines to {out}")
PY
