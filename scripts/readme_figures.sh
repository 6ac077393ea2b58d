#!/usr/bin/env bash
# Prints again every figure the README quotes that this machine can recompute quickly, each with
# the command that gives it. Plans and byte counts are exact and machine-independent (tests pin
# the six-block-512 ones); --all also runs the measured ones (times, resident memory, accuracy),
# which depend on the machine and on what else runs on it.
# Usage: scripts/readme_figures.sh [--all]
set -euo pipefail
cd "$(dirname "$0")/.."
[[ -x build/footprint ]] || scripts/build.sh
fp=build/footprint

show() {  # show COMMAND...: print it, then what it prints
  echo "\$ $*"
  "$@"
  echo
}
json_fields() {  # json_fields FIELD... : the fields of a JSON object on stdin
  python3 -c 'import json,sys; d=json.load(sys.stdin); print({k: d.get(k) for k in sys.argv[1:]})' "$@"
}

echo "== exact figures (plans)"
show $fp plan nets/six-block-512.net --mode train --batch 1 --threads 2
show $fp plan nets/six-block-512.net --explain --threads 2
echo "\$ $fp plan nets/six-block-512.net --no-reuse --json | total_bytes"
$fp plan nets/six-block-512.net --no-reuse --threads 2 --json | json_fields total_bytes
echo "\$ $fp plan nets/six-block-512.net --memory-budget 20M --json"
$fp plan nets/six-block-512.net --memory-budget 20M --threads 2 --json | json_fields total_bytes recompute_flops forward_flops
echo "\$ $fp plan nets/vgg19-style.net --mode infer --size 1024x1024 --json"
$fp plan nets/vgg19-style.net --mode infer --size 1024x1024 --json | json_fields total_bytes floor_bytes
for net in resnet-block inception-block; do
  echo "\$ $fp plan nets/$net.net --batch 8 --json"
  $fp plan nets/$net.net --batch 8 --threads 2 --json | json_fields total_bytes floor_bytes
done

[[ "${1:-}" == "--all" ]] || exit 0
echo "== measured figures (depend on the machine and its load)"
show $fp train nets/six-block-512.net --data synthetic --batch 1 --steps 3 --threads 1
show $fp train nets/six-block-512.net --data synthetic --batch 1 --steps 3 --threads 2
show $fp train nets/lenet.net --epochs 1 --batch 16 --optimizer momentum --lr 0.02 --threads 2
echo "Side by side with PyTorch and tiny-dnn: bench/compare.sh --threads 2; style: bench/style.sh --threads 2"
