#!/usr/bin/env bash
# Builds the fuzz targets with clang (libFuzzer + ASan + UBSan) in build-fuzz/ and runs each for
# SECONDS (default 60), starting from the seed corpus in fuzz/corpus/<target>/. New inputs go to
# a scratch directory, crashes to build-fuzz/crashes/; any crash fails the script.
# Usage: fuzz/run.sh [SECONDS] [TARGET ...]
#   FUZZ_RUNS=N      exactly N inputs from a fixed seed instead of SECONDS (CI smoke)
#   FUZZ_MAX_RUNS=N  stop a target after N inputs or SECONDS, whichever comes first
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=(net_parser model_file idx npy onnx image)
scripts/setup.sh
if ! command -v clang++ >/dev/null || ! dpkg-query -W libclang-rt-14-dev >/dev/null 2>&1; then
  as_root=(); [[ $(id -u) -eq 0 ]] || as_root=(sudo)
  "${as_root[@]}" apt-get update -qq
  "${as_root[@]}" apt-get install -y -qq clang libclang-rt-14-dev >/dev/null
fi
CC=clang CXX=clang++ cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DFOOTPRINT_BUILD_FUZZ=ON -DFOOTPRINT_BUILD_TESTS=OFF -DFOOTPRINT_BUILD_EXAMPLES=OFF >/dev/null
cmake --build build-fuzz -j"$(nproc)" --target $(printf 'fuzz_%s ' "${targets[@]}")
mkdir -p build-fuzz/crashes
# FUZZ_RUNS=N: exactly N inputs from a fixed seed instead of SECONDS of time, so a smoke run in
# CI does the same work every time (it replays the corpus and the same mutations).
if [[ -n ${FUZZ_RUNS:-} ]]; then
  limit=(-runs="$FUZZ_RUNS" -seed=1)
else
  limit=(-max_total_time="$seconds")
  [[ -z ${FUZZ_MAX_RUNS:-} ]] || limit+=(-runs="$FUZZ_MAX_RUNS")
fi
for target in "${targets[@]}"; do
  scratch=$(mktemp -d)
  mkdir -p "$scratch/new"
  seeds=()
  if [[ $target == onnx && -d /usr/share/libonnx-testdata/data/node ]]; then
    # Debian's ONNX node tests make a varied seed corpus without copying them into the repo.
    seeds=("$scratch/seeds")
    mkdir -p "$scratch/seeds"
    i=0
    for model in /usr/share/libonnx-testdata/data/node/*/model.onnx; do
      cp "$model" "$scratch/seeds/$((i++)).onnx"
    done
  fi
  echo "== fuzz_$target: ${limit[*]}" >&2
  ASAN_OPTIONS=detect_leaks=1 \
    UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:suppressions="$PWD/fuzz/ubsan.supp" \
    "build-fuzz/fuzz/fuzz_$target" "$scratch/new" "fuzz/corpus/$target" "${seeds[@]}" \
    "${limit[@]}" -rss_limit_mb=2048 -max_len=65536 -timeout=10 \
    -artifact_prefix="build-fuzz/crashes/${target}-" -print_final_stats=1 > "$scratch/log" 2>&1 ||
    true  # a crash stops that target only; the check below fails the run
  grep -E "^(#[0-9]+.*DONE|stat::number_of_executed_units|stat::peak_rss_mb|==[0-9]+==ERROR|SUMMARY)" \
    "$scratch/log" | tail -4 || true
  # A crash: where it happened, and the input itself (the crash file stays on this machine only).
  if grep -qE "^(==[0-9]+==ERROR|SUMMARY)" "$scratch/log"; then
    grep -E "runtime error|^ *#[0-9]+ 0x" "$scratch/log" | head -40 >&2 || true
    for crash in build-fuzz/crashes/"${target}"-*; do
      [[ -f $crash && $(stat -c %s "$crash") -le 65536 ]] || continue
      echo "fuzz: $crash, base64:" >&2
      base64 -w 0 "$crash" >&2
      echo >&2
    done
  fi
  rm -rf "$scratch"
done
if compgen -G "build-fuzz/crashes/*" >/dev/null; then
  echo "fuzz: crashes found in build-fuzz/crashes/" >&2
  exit 1
fi
