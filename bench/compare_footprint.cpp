// Footprint's side of bench/compare.sh: times one workload and prints one JSON line with the
// median seconds per step over several runs (warm-up excluded) and the process's peak RSS.
// It does not compare anything itself; the script puts the lines of every framework side by side.
//   compare_footprint six-block NET --batch B --threads T [--runs R]
//   compare_footprint vgg NET --threads T [--runs R]       (forward + backward to the input, mse on
//                                                         the output, weights frozen)
//   compare_footprint conv --threads T [--runs R]          (3x3 conv 64->64 at 224x224 and sgemm)
#include "footprint/blas_core.hpp"
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include <footprint/footprint.hpp>

#include "core/rng.hpp"
#include "core/thread_pool.hpp"
#include "kernels/conv/conv_gemm.hpp"
#include "kernels/gemm/gemm.hpp"

using namespace footprint;

namespace {

using Clock = std::chrono::steady_clock;

struct Args {
  std::string workload, net_path;
  int batch = 1, threads = 1, runs = 5, warmup = 1;
};

Args parse(int argc, char** argv) {
  Args a;
  if (argc < 2) {
    std::fprintf(stderr, "usage: compare_footprint six-block|vgg|conv [NET] [--batch B] "
                         "[--threads T] [--runs R] [--warmup W]\n");
    std::exit(2);
  }
  a.workload = argv[1];
  for (int i = 2; i < argc; ++i) {
    std::string s = argv[i];
    auto next = [&] { return i + 1 < argc ? std::atoi(argv[++i]) : 0; };
    if (s == "--batch") a.batch = next();
    else if (s == "--threads") a.threads = next();
    else if (s == "--runs") a.runs = next();
    else if (s == "--warmup") a.warmup = next();
    else a.net_path = s;
  }
  return a;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

int64_t peak_rss_bytes() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<int64_t>(u.ru_maxrss) * 1024;
}

std::string list(const std::vector<double>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%s%.6f", i ? ", " : "", v[i]);
    s += buf;
  }
  return s + "]";
}

void print_line(const Args& a, const char* workload, const std::vector<double>& seconds,
                double items_per_step, const char* unit, const std::string& extra) {
  const double med = median(seconds);
  std::printf("{\"framework\": \"footprint\", \"workload\": \"%s\", \"threads\": %d, \"batch\": %d, "
              "\"seconds_per_step\": %.6f, \"runs\": %s, \"throughput\": %.4f, \"unit\": \"%s\", "
              "\"peak_rss_bytes\": %lld%s}\n",
              workload, a.threads, a.batch, med, list(seconds).c_str(), items_per_step / med, unit,
              static_cast<long long>(peak_rss_bytes()), extra.c_str());
  std::fflush(stdout);
}

// Training steps on synthetic data through the public API, as a user would run them.
void run_net(const Args& a, bool input_grad, const char* workload) {
  Net net = load_net_file(a.net_path);
  if (net.loss_kind() == LossKind::none) net.add(loss(LossKind::mse));
  // The input-gradient workload is the style-transfer inner loop: weights frozen, so no weight
  // gradients (PyTorch's side sets requires_grad False on its parameters).
  PlanOptions options{.batch = a.batch, .threads = a.threads, .input_grad = input_grad,
                      .train_params = !input_grad};
  Plan p = plan(net, options);
  Runtime runtime(net, p, /*seed=*/1);
  Rng rng(7);
  const int64_t in_elems = a.batch * net.input_shape().n_elems();
  const int64_t out_elems = a.batch * net.output_shape().n_elems();
  auto fill = [&] {  // training keeps input and target for the whole step: fill once per step
    for (int64_t i = 0; i < in_elems; ++i) runtime.input()[i] = rng.uniform(-1.0f, 1.0f);
    float* target = static_cast<float*>(runtime.target());
    for (int64_t i = 0; i < out_elems; ++i) target[i] = 0.0f;
  };
  const OptimizerParams sgd{.lr = 1e-3f};
  std::vector<double> seconds;
  for (int i = 0; i < a.warmup + a.runs; ++i) {
    fill();
    const auto start = Clock::now();
    if (input_grad) {  // the style-transfer inner loop: no optimizer step
      runtime.forward(a.batch, /*training=*/true);
      (void)runtime.loss_and_backward(a.batch);
    } else {
      (void)runtime.train_step(a.batch, sgd);
    }
    if (i >= a.warmup) seconds.push_back(std::chrono::duration<double>(Clock::now() - start).count());
  }
  char extra[128];
  std::snprintf(extra, sizeof extra, ", \"planned_bytes\": %lld%s",
                static_cast<long long>(p.total_bytes), input_grad ? ", \"frozen_weights\": true" : "");
  print_line(a, workload, seconds, a.batch, "samples/s", extra);
}

// 3x3 conv 64->64 at 224x224, batch 1, with the tile the planner gives it, beside a square sgemm
// of the same order of work, all on one pool of a.threads threads.
void run_conv(const Args& a) {
  ThreadPool pool(a.threads);
  gemm_blas_init();
  ConvGeometry g{.in_c = 64, .in_h = 224, .in_w = 224, .out_c = 64, .out_h = 224, .out_w = 224,
                 .kernel_h = 3, .kernel_w = 3, .pad_top = 1, .pad_left = 1};
  // The planner's own choice for this layer's im2col tile (--tile-bytes auto), with Winograd off:
  // with it on, the planner runs this layer by Winograd and plans no GEMM tile at all.
  Net layer{Shape{64, 224, 224}};
  layer << conv(64, {.k = 3, .pad = 1});
  const int64_t tile_rows =
      plan(layer, {.mode = Mode::infer, .threads = a.threads, .winograd_conv = false}).layers[0].tile;
  Rng rng(3);
  auto random = [&](int64_t n) {
    std::vector<float> v(n);
    for (float& x : v) x = rng.uniform(-1.0f, 1.0f);
    return v;
  };
  std::vector<float> src = random(64 * 224 * 224), w = random(64 * 576), bias = random(64);
  std::vector<float> dst(64 * 224 * 224), d_dst = random(64 * 224 * 224), d_src(src.size());
  std::vector<float> d_w(w.size()), d_b(64);
  std::vector<float> ws(conv_gemm_workspace_floats(g, tile_rows));
  const double conv_flop = 2.0 * 64 * 576 * 224 * 224;  // one pass; backward is two passes
  char extra[160];

  // sgemm: the conv's own GEMM shape as one call over the whole image (64 x 50176, k = 576),
  // and a square 1536^3, both split over the pool the way the conv splits its GEMMs.
  std::vector<float> col = random(576 * 224 * 224);
  const int64_t n = 1536;
  std::vector<float> ma = random(n * n), mb = random(n * n), mc(n * n);
  const std::function<void()> workloads[] = {
      [&] {
        conv_forward_gemm(pool, g, 1, src.data(), w.data(), bias.data(), dst.data(), ws.data(),
                          tile_rows);
      },
      [&] {
        conv_forward_gemm(pool, g, 1, src.data(), w.data(), bias.data(), dst.data(), ws.data(),
                          tile_rows);
        conv_backward_gemm(pool, g, 1, src.data(), w.data(), d_dst.data(), d_src.data(),
                           /*accumulate_d_src=*/false, d_w.data(), d_b.data(), ws.data(), tile_rows);
      },
      [&] {
        gemm_blas(pool, {.m = 64, .n = 224 * 224, .k = 576, .lda = 576, .ldb = 224 * 224,
                         .ldc = 224 * 224}, 1.0f, w.data(), col.data(), 0.0f, dst.data());
      },
      [&] {
        gemm_blas(pool, {.m = n, .n = n, .k = n, .lda = n, .ldb = n, .ldc = n}, 1.0f, ma.data(),
                  mb.data(), 0.0f, mc.data());
      }};
  // Interleaved, one run of each in turn, so a slow spell of this shared machine slows the
  // conv and the sgemm it is compared with alike.
  std::vector<double> seconds[4];
  for (int r = 0; r < a.warmup + a.runs; ++r) {
    for (int k = 0; k < 4; ++k) {
      const auto start = Clock::now();
      workloads[k]();
      if (r >= a.warmup) seconds[k].push_back(std::chrono::duration<double>(Clock::now() - start).count());
    }
  }
  std::snprintf(extra, sizeof extra, ", \"gflops\": %.2f, \"tile_rows\": %lld",
                conv_flop / median(seconds[0]) * 1e-9, static_cast<long long>(tile_rows));
  print_line(a, "conv3x3-64-224-fwd", seconds[0], 1, "images/s", extra);
  std::snprintf(extra, sizeof extra, ", \"gflops\": %.2f", 3 * conv_flop / median(seconds[1]) * 1e-9);
  print_line(a, "conv3x3-64-224-fwd-bwd", seconds[1], 1, "images/s", extra);
  std::snprintf(extra, sizeof extra, ", \"gflops\": %.2f", conv_flop / median(seconds[2]) * 1e-9);
  print_line(a, "sgemm-64x50176x576", seconds[2], 1, "calls/s", extra);
  std::snprintf(extra, sizeof extra, ", \"gflops\": %.2f",
                2.0 * n * n * n / median(seconds[3]) * 1e-9);
  print_line(a, "sgemm-1536", seconds[3], 1, "calls/s", extra);
}

}  // namespace

int main(int argc, char** argv) {
  footprint::restart_with_fast_blas(argv);  // as the CLI: the kernels this CPU can run
  Args a = parse(argc, argv);
  try {
    if (a.workload == "six-block") run_net(a, /*input_grad=*/false, "six-block-512-train");
    else if (a.workload == "vgg") run_net(a, /*input_grad=*/true, "vgg19-style-512-fwd-bwd-input");
    else if (a.workload == "conv") run_conv(a);
    else {
      std::fprintf(stderr, "unknown workload %s\n", a.workload.c_str());
      return 2;
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "compare_footprint: %s\n", e.what());
    return 1;
  }
}
