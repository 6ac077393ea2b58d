#!/usr/bin/env bash
# The main job in one command: install, build, then show where six-block-512's memory goes and
# train LeNet on Fashion-MNIST for one epoch with its memory report.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
nets=nets
echo
echo "== footprint plan $nets/six-block-512.net --mode train --batch 1"
build/footprint plan "$nets/six-block-512.net" --mode train --batch 1
echo
echo "== footprint train $nets/lenet.net --data fashion-mnist --epochs 1 --batch 16 --optimizer momentum --lr 0.02"
build/footprint train "$nets/lenet.net" --data fashion-mnist --epochs 1 --batch 16 \
  --optimizer momentum --lr 0.02
