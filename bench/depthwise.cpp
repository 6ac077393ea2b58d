// The forward pass of depthwise convolutions (MobileNet's and EfficientNet's layer shapes) by
// the padded strips (kernels/conv/depthwise_strips.cpp) beside the general loops they replaced,
// the two taking turns in one process at one thread count: medians of --runs rounds. One JSON
// line per shape, GFLOP/s at 2 flops per multiply-add.
//   depthwise [--threads T] [--runs R]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "core/thread_pool.hpp"
#include "kernels/conv/conv_depthwise.hpp"
#include "kernels/conv/depthwise_strips.hpp"

using namespace footprint;

namespace {

struct DwShape {
  int64_t channels, size, kernel, stride;
};

// mobilenet_v2 and efficientnet_b0 at 224x224, input sizes.
const DwShape kShapes[] = {
    {32, 112, 3, 1}, {96, 112, 3, 2}, {144, 56, 3, 2}, {576, 14, 3, 2}, {144, 56, 3, 1},
    {192, 28, 3, 1}, {384, 14, 3, 1},
    {960, 7, 3, 1},  {240, 28, 5, 2}, {672, 14, 5, 1}, {1152, 7, 5, 1},
};

double seconds(const std::function<void()>& fn) {
  const auto start = std::chrono::steady_clock::now();
  fn();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 1, runs = 7;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--threads" && i + 1 < argc) threads = std::atoi(argv[++i]);
    else if (a == "--runs" && i + 1 < argc) runs = std::atoi(argv[++i]);
    else {
      std::fprintf(stderr, "usage: depthwise [--threads T] [--runs R]\n");
      return 2;
    }
  }
  ThreadPool pool(threads);
  for (const DwShape& s : kShapes) {
    ConvGeometry g;
    g.in_c = g.out_c = g.groups = s.channels;
    g.in_h = g.in_w = s.size;
    g.kernel_h = g.kernel_w = s.kernel;
    g.stride_h = g.stride_w = s.stride;
    g.pad_top = g.pad_left = s.kernel / 2;
    g.out_h = g.out_w = (s.size + 2 * (s.kernel / 2) - s.kernel) / s.stride + 1;
    std::vector<float> x(static_cast<size_t>(s.channels * s.size * s.size));
    for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i % 97) * 0.01f - 0.5f;
    std::vector<float> w(static_cast<size_t>(s.channels * s.kernel * s.kernel), 0.1f);
    std::vector<float> b(static_cast<size_t>(s.channels), 0.0f);
    std::vector<float> y(static_cast<size_t>(s.channels * g.out_h * g.out_w));
    // Enough calls per timing to take a few milliseconds.
    const double flops = 2.0 * s.channels * g.out_h * g.out_w * s.kernel * s.kernel;
    const int calls = std::max(1, static_cast<int>(2e8 / flops));
    auto strips = [&] {
      for (int c = 0; c < calls; ++c)
        conv_forward_depthwise(pool, g, 1, x.data(), w.data(), b.data(), y.data());
    };
    auto loops = [&] {
      for (int c = 0; c < calls; ++c)
        conv_forward_depthwise_loops(pool, g, 1, x.data(), w.data(), b.data(), y.data());
    };
    strips();
    loops();
    std::vector<double> ts, tl;
    for (int r = 0; r < runs; ++r) {
      ts.push_back(seconds(strips) / calls);
      tl.push_back(seconds(loops) / calls);
    }
    const double s_strips = median(ts), s_loops = median(tl);
    std::printf("{\"channels\": %lld, \"size\": %lld, \"kernel\": %lld, \"stride\": %lld, "
                "\"threads\": %d, \"strips_apply\": %s, \"strips_gflops\": %.1f, "
                "\"loops_gflops\": %.1f, \"strips_vs_loops\": %.2f}\n",
                static_cast<long long>(s.channels), static_cast<long long>(s.size),
                static_cast<long long>(s.kernel), static_cast<long long>(s.stride), threads,
                depthwise_strips_apply(g) ? "true" : "false", flops / s_strips * 1e-9,
                flops / s_loops * 1e-9, s_loops / s_strips);
  }
  return 0;
}
