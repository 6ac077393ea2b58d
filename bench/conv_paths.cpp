// Direct 3x3 loops against im2col + GEMM on every 3x3 layer shape of the reference nets
// (six-block-512 at batch 8, VGG-19 at 512x512 and the 224x224 64->64 layer at batch 1): the
// measurements behind choose_conv_paths() in src/kernels/conv/conv_direct.cpp. Prints one JSON
// line per shape with the median milliseconds of each pass by each path, and which path the
// planner picks for it; then one line timing the forward GEMM on 2- and 4-row tiles.
//   conv_paths [--threads T] [--runs R]
#include "footprint/blas_core.hpp"
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include <footprint/footprint.hpp>

#include "conv_shape.hpp"
#include "core/rng.hpp"
#include "core/thread_pool.hpp"
#include "kernels/conv/conv_direct.hpp"
#include "kernels/conv/conv_gemm.hpp"
#include "kernels/gemm/gemm.hpp"

using namespace footprint;
using footprint::bench::Shape3x3;

namespace {

template <typename Fn>
double median_ms(int runs, Fn&& fn) {
  fn();  // warm-up
  std::vector<double> ms;
  for (int r = 0; r < runs; ++r) {
    const auto start = std::chrono::steady_clock::now();
    fn();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  footprint::restart_with_fast_blas(argv);  // as the CLI: the kernels this CPU can run
  int threads = 2, runs = 5;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--threads")) threads = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--runs")) runs = std::atoi(argv[i + 1]);
  }
  ThreadPool pool(threads);
  gemm_blas_init();
  const Shape3x3 shapes[] = {
      {3, 512, 6, 8},    {6, 256, 12, 8},  {12, 128, 24, 8},  {24, 64, 48, 8},  {48, 32, 96, 8},
      {96, 16, 192, 8},  {3, 512, 6, 1},   {64, 224, 64, 1},  {3, 512, 64, 1},  {64, 512, 64, 1},
      {64, 256, 128, 1}, {128, 256, 128, 1}, {128, 128, 256, 1}, {256, 128, 256, 1},
      {256, 64, 512, 1}, {512, 64, 512, 1}, {512, 32, 512, 1}};
  Rng rng(5);
  for (const Shape3x3& s : shapes) {
    const ConvGeometry g = bench::geometry_of(s);
    const int64_t tile = bench::planned_gemm_tile(s, threads);
    auto random = [&](int64_t n) {
      std::vector<float> v(n);
      for (float& x : v) x = rng.uniform(-1.0f, 1.0f);
      return v;
    };
    const int64_t plane = s.size * s.size;
    std::vector<float> src = random(s.batch * s.in_c * plane), w = random(s.out_c * g.col_rows()),
                       b = random(s.out_c), d_dst = random(s.batch * s.out_c * plane);
    std::vector<float> dst(d_dst.size()), d_src(src.size()), d_w(w.size()), d_b(s.out_c),
        ws(conv_gemm_workspace_floats(g, tile));
    const double fwd_gemm = median_ms(runs, [&] {
      conv_forward_gemm(pool, g, s.batch, src.data(), w.data(), b.data(), dst.data(), ws.data(), tile);
    });
    const double fwd_direct = median_ms(runs, [&] {
      conv_forward_direct(pool, g, s.batch, src.data(), w.data(), b.data(), dst.data());
    });
    const double dw_gemm = median_ms(runs, [&] {
      conv_backward_gemm(pool, g, s.batch, src.data(), w.data(), d_dst.data(), nullptr, false,
                         d_w.data(), d_b.data(), ws.data(), tile);
    });
    const double dw_direct = median_ms(runs, [&] {
      conv_backward_direct(pool, g, s.batch, src.data(), w.data(), d_dst.data(), nullptr, false,
                           d_w.data(), d_b.data());
    });
    const double dx_gemm = median_ms(runs, [&] {
      conv_backward_gemm(pool, g, s.batch, src.data(), w.data(), d_dst.data(), d_src.data(), false,
                         nullptr, nullptr, ws.data(), tile);
    });
    const double dx_direct = median_ms(runs, [&] {
      conv_backward_direct(pool, g, s.batch, src.data(), w.data(), d_dst.data(), d_src.data(),
                           false, nullptr, nullptr);
    });
    const ConvPaths picked = choose_conv_paths(g);
    std::printf("{\"in_c\": %lld, \"out_c\": %lld, \"size\": %lld, \"batch\": %lld, \"threads\": %d, "
                "\"forward_ms\": {\"gemm\": %.3f, \"direct\": %.3f, \"picked\": \"%s\"}, "
                "\"weight_grad_ms\": {\"gemm\": %.3f, \"direct\": %.3f, \"picked\": \"%s\"}, "
                "\"data_grad_ms\": {\"gemm\": %.3f, \"direct\": %.3f, \"picked\": \"%s\"}}\n",
                static_cast<long long>(s.in_c), static_cast<long long>(s.out_c),
                static_cast<long long>(s.size), static_cast<long long>(s.batch), threads, fwd_gemm,
                fwd_direct, picked.forward ? "direct" : "gemm", dw_gemm, dw_direct,
                picked.weight_grad ? "direct" : "gemm", dx_gemm, dx_direct,
                picked.data_grad ? "direct" : "gemm");
    std::fflush(stdout);
  }
  // The forward GEMM on 2- and 4-row tiles of 64 -> 64 channels at 224x224 (the auto tile's
  // 16 positions per output channel gives 4), taking turns: behind kAutoConvTileColumnsPerOutput.
  const ConvGeometry g{.in_c = 64, .in_h = 224, .in_w = 224, .out_c = 64, .out_h = 224,
                       .out_w = 224, .kernel_h = 3, .kernel_w = 3, .pad_top = 1, .pad_left = 1};
  std::vector<float> src(64 * 224 * 224, 0.5f), w(64 * 576, 0.01f), b(64), dst(src.size()),
      ws(conv_gemm_workspace_floats(g, 4));
  std::vector<double> ms[2];
  for (int turn = 0; turn < 2 * runs; ++turn) {
    const int64_t tile = turn % 2 ? 4 : 2;
    ms[turn % 2].push_back(median_ms(1, [&] {
      conv_forward_gemm(pool, g, 1, src.data(), w.data(), b.data(), dst.data(), ws.data(), tile);
    }));
  }
  for (auto& v : ms) std::sort(v.begin(), v.end());
  std::printf("{\"forward_tile_rows_ms\": {\"2\": %.3f, \"4\": %.3f}, \"threads\": %d}\n",
              ms[0][ms[0].size() / 2], ms[1][ms[1].size() / 2], threads);
}
