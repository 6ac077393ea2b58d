#!/usr/bin/env bash
# What --state-dtype bf16 costs style transfer: the same L-BFGS run with float and with bfloat16
# state (random VGG-19 weights from nets/vgg19-style.net), the final losses side by side.
# Usage: bench/style_state.sh [--size N] [--iterations I] [--threads T]
set -euo pipefail
cd "$(dirname "$0")/.."
size=128 iterations=40 threads=$(nproc)
while [[ $# -gt 0 ]]; do
  case $1 in
    --size) size=$2; shift 2 ;;
    --iterations) iterations=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    *) echo "usage: bench/style_state.sh [--size N] [--iterations I] [--threads T]" >&2; exit 2 ;;
  esac
done
[[ -x build/footprint ]] || scripts/build.sh
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# A smooth content pattern and a checkerboard style, as PNG (Python's zlib; no imaging library).
python3 - "$tmp" "$size" <<'PY'
import math, struct, sys, zlib
out, n = sys.argv[1], int(sys.argv[2])
def png(path, f):
    raw = b"".join(b"\0" + bytes(f(x, y, c) for x in range(n) for c in range(3)) for y in range(n))
    chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
    open(path, "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", n, n, 8, 2, 0, 0, 0))
                           + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
png(out + "/content.png", lambda x, y, c: int(127 + 120 * math.sin(0.1 * x + c) * math.cos(0.07 * y)))
png(out + "/style.png", lambda x, y, c: ((x // 8 + y // 8 + c) % 2) * 255)
PY
for dtype in f32 bf16; do
  line=$(build/footprint style --content "$tmp/content.png" --style "$tmp/style.png" \
    --model nets/vgg19-style.net --size "${size}x${size}" --iterations "$iterations" \
    --threads "$threads" --state-dtype "$dtype" --out "$tmp/out_$dtype.png" 2>&1 | grep "iter" | tail -1)
  echo "$dtype: $line"
done
