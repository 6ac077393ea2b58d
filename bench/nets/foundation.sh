#!/usr/bin/env bash
# Reproduces the figures the README and the foundation issue quote: six-block-512 training memory
# (1 and 2 threads), one epoch of LeNet and five epochs of fashion-cnn on Fashion-MNIST.
# Results go to bench/results/foundation.jsonl (one JSON object per run) and a table on stdout.
# Usage: bench/nets/foundation.sh [--quick]   (--quick: skip the long fashion-cnn run)
set -euo pipefail
cd "$(dirname "$0")/../.."
scripts/setup.sh
scripts/build.sh
nets=nets
out=bench/results
mkdir -p "$out"
results="$out/foundation.jsonl"
: > "$results"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

run() {  # name, then footprint train arguments
  local name=$1
  shift
  echo "== $name: footprint train $*" >&2
  build/footprint train "$@" --report "$tmp/report.json" >/dev/null
  python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); r["run"]=sys.argv[2]; print(json.dumps(r))' \
    "$tmp/report.json" "$name" >> "$results"
}

run six-block-512-t1 "$nets/six-block-512.net" --data synthetic --batch 1 --steps 3 --threads 1
run six-block-512-t2 "$nets/six-block-512.net" --data synthetic --batch 1 --steps 3 --threads 2
run lenet-1-epoch-b16 "$nets/lenet.net" --data fashion-mnist --epochs 1 --batch 16 --optimizer momentum \
  --lr 0.02 --threads 2
# PyTorch's settings in the foundation issue (SGD momentum, lr 0.01, batch 32), for comparison.
run lenet-1-epoch-b32 "$nets/lenet.net" --data fashion-mnist --epochs 1 --batch 32 --optimizer momentum \
  --lr 0.01 --threads 2
if [[ ${1:-} != --quick ]]; then
  run fashion-cnn-5-epochs "$nets/fashion-cnn.net" --data fashion-mnist --epochs 5 --batch 64 \
    --optimizer adam --lr 0.001 --threads 2
fi

python3 - "$results" <<'PY'
import json, sys
print(f"{'run':24} {'planned':>12} {'tracked peak':>12} {'peak RSS':>10} {'s/step':>8} {'test acc':>8} {'epoch s':>9}")
for line in open(sys.argv[1]):
    r = json.loads(line)
    mib = lambda b: f"{b / 2**20:.1f} MiB"
    acc = f"{100 * r['test_accuracy']:.2f}%" if 'test_accuracy' in r else "-"
    epochs = ", ".join(f"{e['seconds']:.0f}" for e in r.get('epochs', [])) or "-"
    print(f"{r['run']:24} {mib(r['planned_bytes']):>12} {mib(r['tracked_peak_bytes']):>12} "
          f"{mib(r['peak_rss_bytes']):>10} {r['seconds_per_step']:8.4f} {acc:>8} {epochs:>9}")
PY
