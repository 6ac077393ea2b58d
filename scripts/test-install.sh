#!/usr/bin/env bash
# Footprint as a user installs it: builds the project (reusing build/), installs it into a
# temporary prefix, builds examples/consumer against that prefix with find_package(Footprint),
# runs its programs, and compiles and runs a one-file program with `pkg-config footprint`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" --target footprint footprint_shared footprint_onnx footprint-cli

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix
cmake --install build --prefix "$prefix" >/dev/null
echo "test-install: installed into $prefix"

libdir=$prefix/$(sed -n 's/^CMAKE_INSTALL_LIBDIR:PATH=//p' build/CMakeCache.txt)
for file in include/footprint/footprint.hpp include/footprint/layer.hpp \
    include/footprint/gradcheck.hpp include/footprint/version.hpp include/footprint/onnx.hpp \
    bin/footprint; do
  [[ -f $prefix/$file ]] || { echo "test-install: $file was not installed" >&2; exit 1; }
done
for file in libfootprint.a libfootprint.so libfootprint_onnx.a cmake/Footprint/FootprintConfig.cmake \
    cmake/Footprint/FootprintConfigVersion.cmake pkgconfig/footprint.pc; do
  [[ -e $libdir/$file ]] || { echo "test-install: $libdir/$file was not installed" >&2; exit 1; }
done

version=$(sed -n 's/^project(footprint VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
got=$("$prefix/bin/footprint" --version)
[[ $got == "footprint $version" ]] || { echo "test-install: footprint --version says '$got', want 'footprint $version'" >&2; exit 1; }
echo "test-install: $got"

# A separate CMake project: find_package(Footprint REQUIRED COMPONENTS onnx).
cmake -S examples/consumer -B "$work/consumer" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$work/consumer" -j"$(nproc)"
(cd "$work" && "$work/consumer/consumer" && "$work/consumer/consumer_shared" && "$work/consumer/consumer_onnx")

# One file, compiled with pkg-config's flags against the shared library.
export PKG_CONFIG_PATH=$libdir/pkgconfig
[[ $(pkg-config --modversion footprint) == "$version" ]] || { echo "test-install: footprint.pc has the wrong version" >&2; exit 1; }
pkg-config --static --libs footprint >/dev/null  # its Requires.private resolve
# Every installed header compiles on its own, warning-free: none reaches for a private one.
for header in "$prefix"/include/footprint/*.hpp; do
  # shellcheck disable=SC2046  # pkg-config prints several words on purpose
  echo "#include <footprint/$(basename "$header")>" |
    c++ -std=c++20 -Wall -Wextra -Werror -fsyntax-only -x c++ - $(pkg-config --cflags footprint) ||
    { echo "test-install: $header does not compile on its own" >&2; exit 1; }
done
cat > "$work/plan_lenet.cpp" <<'CPP'
#include <cstdio>
#include <footprint/footprint.hpp>
int main() {
  footprint::Net net{footprint::Shape{1, 28, 28}};
  net << footprint::conv(6, {.k = 5}) << footprint::relu() << footprint::maxpool(2)
      << footprint::fc(10) << footprint::loss(footprint::LossKind::softmax_xent);
  const footprint::Plan plan = footprint::plan(net, {.batch = 32});
  std::printf("footprint %s: lenet-ish batch 32 plans %lld bytes\n", footprint::version(),
              static_cast<long long>(plan.total_bytes));
  return plan.total_bytes > 0 ? 0 : 1;
}
CPP
# shellcheck disable=SC2046  # pkg-config prints several words on purpose
c++ -std=c++20 -Wall -Wextra -Werror "$work/plan_lenet.cpp" -o "$work/plan_lenet" $(pkg-config --cflags --libs footprint)
LD_LIBRARY_PATH=$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} "$work/plan_lenet"
echo "test-install: ok"
