// Each path of a 3x3 stride-1 convolution (im2col + GEMM, direct loops, Winograd F(4x4, 3x3))
// timed on the layer shapes of the reference nets, beside OpenBLAS's sgemm on a square product
// measured in the same run, all at one thread count. Every figure is GFLOP/s counted at the
// direct convolution's multiply-adds (2 * out_c * in_c * 9 per output position), so a path that
// does fewer multiplies can pass sgemm: the issue #15 bar is Winograd's forward pass on 64 -> 64
// channels at 224x224 at >= 110% of sgemm. Paths take turns within each round; medians of
// --runs rounds. One JSON line per shape.
//   conv3x3 [--threads T] [--runs R] [--block TILES] [--shape IN_C,SIZE,OUT_C,BATCH]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include <footprint/footprint.hpp>

#include "conv_shape.hpp"
#include "core/rng.hpp"
#include "core/thread_pool.hpp"
#include "footprint/blas_core.hpp"
#include "kernels/conv/conv_direct.hpp"
#include "kernels/conv/conv_gemm.hpp"
#include "kernels/conv/conv_winograd.hpp"
#include "kernels/gemm/gemm.hpp"

using namespace footprint;
using footprint::bench::Shape3x3;

namespace {

double seconds(const std::function<void()>& fn) {
  const auto start = std::chrono::steady_clock::now();
  fn();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Medians over `runs` rounds in which every function runs once, in turn, after one warm-up each.
std::vector<double> medians(int runs, const std::vector<std::function<void()>>& fns) {
  for (const auto& fn : fns) fn();
  std::vector<std::vector<double>> s(fns.size());
  for (int r = 0; r < runs; ++r)
    for (size_t i = 0; i < fns.size(); ++i) s[i].push_back(seconds(fns[i]));
  std::vector<double> out;
  for (auto& v : s) {
    std::sort(v.begin(), v.end());
    out.push_back(v[v.size() / 2]);
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  restart_with_fast_blas(argv);  // as the CLI: the kernels this CPU can run
  int threads = 2, runs = 5;
  int64_t block = 0;
  std::vector<Shape3x3> shapes = {
      {64, 224, 64, 1},   {64, 512, 64, 1},  {128, 256, 128, 1}, {256, 128, 256, 1},
      {512, 64, 512, 1},  {512, 32, 512, 1}, {32, 28, 32, 64},   {128, 56, 128, 8},
      {256, 28, 256, 8}, {512, 14, 512, 8}};
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--threads")) threads = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--runs")) runs = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--block")) block = std::atoll(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--shape")) {
      Shape3x3 s{};
      if (std::sscanf(argv[i + 1], "%ld,%ld,%ld,%ld", &s.in_c, &s.size, &s.out_c, &s.batch) != 4) {
        std::fprintf(stderr, "--shape wants IN_C,SIZE,OUT_C,BATCH\n");
        return 2;
      }
      shapes = {s};
    } else {
      std::fprintf(stderr, "unknown option %s\n", argv[i]);
      return 2;
    }
  }
  ThreadPool pool(threads);
  gemm_blas_init();
  gemm_blas_warm_up(pool);
  Rng rng(5);
  auto random = [&](int64_t n) {
    std::vector<float> v(n);
    for (float& x : v) x = rng.uniform(-1.0f, 1.0f);
    return v;
  };
  // The square sgemm every figure is compared with: 1024^3, split over the threads as the
  // library's GEMM path splits it.
  const int64_t n = 1024;
  std::vector<float> a = random(n * n), b = random(n * n), c(n * n);
  const GemmShape square{.m = n, .n = n, .k = n, .lda = n, .ldb = n, .ldc = n};
  for (const Shape3x3& s : shapes) {
    const ConvGeometry g = bench::geometry_of(s);
    const int64_t tile = bench::planned_gemm_tile(s, threads);
    const int64_t plane = s.size * s.size;
    std::vector<float> src = random(s.batch * s.in_c * plane), w = random(s.out_c * s.in_c * 9),
                       bias = random(s.out_c), d_dst = random(s.batch * s.out_c * plane);
    std::vector<float> dst(d_dst.size()), d_src(src.size()),
        gemm_ws(conv_gemm_workspace_floats(g, tile));
    // Winograd as the planner runs it: within the bytes of the GEMM tile, or where it does not
    // fit there (the planner keeps another path then), with no limit (--block: all the
    // channels in one group, blocks of that many tiles).
    WinogradBlocking wb =
        block > 0 ? WinogradBlocking{.group = std::max(s.in_c, s.out_c), .block = block}
                  : conv_winograd_blocking(g, s.batch, threads,
                                           static_cast<int64_t>(gemm_ws.size() * sizeof(float)));
    const bool within_tile = wb.group > 0;
    if (!within_tile) wb = conv_winograd_blocking(g, s.batch, threads, 0);
    std::vector<float> wino_ws(conv_winograd_workspace_floats(g, wb, threads));
    const std::vector<double> t = medians(runs, {
        [&] { gemm_blas(pool, square, 1.0f, a.data(), b.data(), 0.0f, c.data()); },
        [&] { conv_forward_gemm(pool, g, s.batch, src.data(), w.data(), bias.data(), dst.data(),
                                gemm_ws.data(), tile); },
        [&] { conv_forward_direct(pool, g, s.batch, src.data(), w.data(), bias.data(), dst.data()); },
        [&] { conv_forward_winograd(pool, g, s.batch, src.data(), w.data(), bias.data(), dst.data(),
                                    wino_ws.data(), wb); },
        [&] { conv_backward_gemm(pool, g, s.batch, src.data(), w.data(), d_dst.data(), d_src.data(),
                                 false, nullptr, nullptr, gemm_ws.data(), tile); },
        [&] { conv_backward_direct(pool, g, s.batch, src.data(), w.data(), d_dst.data(),
                                   d_src.data(), false, nullptr, nullptr); },
        [&] { conv_data_grad_winograd(pool, g, s.batch, w.data(), d_dst.data(), d_src.data(), false,
                                      wino_ws.data(), wb); },
    });
    const double sgemm = 2.0 * n * n * n / t[0] / 1e9;
    const double flops = 2.0 * s.batch * plane * s.out_c * s.in_c * 9;
    auto gf = [&](double sec) { return flops / sec / 1e9; };
    std::printf("{\"in_c\": %ld, \"out_c\": %ld, \"size\": %ld, \"batch\": %ld, \"threads\": %d, "
                "\"sgemm_gflops\": %.1f, \"winograd_group\": %ld, \"winograd_block\": %ld, "
                "\"forward_gflops\": {\"gemm\": %.1f, \"direct\": %.1f, \"winograd\": %.1f}, "
                "\"data_grad_gflops\": {\"gemm\": %.1f, \"direct\": %.1f, \"winograd\": %.1f}, "
                "\"winograd_forward_vs_sgemm\": %.2f, \"winograd_within_gemm_tile\": %s}\n",
                s.in_c, s.out_c, s.size, s.batch, threads, sgemm, wb.group, wb.block, gf(t[1]), gf(t[2]),
                gf(t[3]), gf(t[4]), gf(t[5]), gf(t[6]), gf(t[3]) / sgemm,
                within_tile ? "true" : "false");
    std::fflush(stdout);
  }
}
