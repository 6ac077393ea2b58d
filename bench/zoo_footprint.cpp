// Footprint's side of bench/zoo.sh's inference runs: an ONNX model on a .npy batch, as
// `footprint run` does it (weights left in the file until the runtime exists), but timed over
// several forwards and with the memory figures `footprint train --report` gives. Prints one JSON
// line; comparing it with PyTorch and ONNX Runtime is the script's job.
//   zoo_footprint MODEL.onnx --input x.npy [--output y.npy] [--threads T] [--runs R] [--warmup W]
//                [--profile]   (also time each layer: milliseconds and GFLOP/s per layer, then
//                               milliseconds per op kind, to stderr)
//                [--no-fusion] (batch norms and activations as steps of their own, not run in
//                               their convolution's step: Runtime::set_epilogue_fusion)
// Fields: seconds (each timed forward), seconds_median, planned_bytes, tracked_peak_bytes (the
// counting allocator's peak), rss_growth_bytes (VmHWM growth from just before the runtime is
// created, -1 when the kernel cannot restart the peak), outside_bytes (what the plan names
// outside itself), batch, threads, blas (OpenBLAS's version and kernels), fused_layers (layers run
// inside a convolution's step).
#include <algorithm>
#include <map>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <thread>
#include <vector>

#include <footprint/blas_core.hpp>
#include <footprint/footprint.hpp>
#include <footprint/npy.hpp>
#include <footprint/onnx.hpp>
#include <footprint/process_memory.hpp>

using namespace footprint;

namespace {

struct Args {
  std::string model, input, output;
  int threads = 0, runs = 10, warmup = 1;
  bool profile = false;
  bool fusion = true;
};

[[noreturn]] void usage() {
  std::fprintf(stderr, "usage: zoo_footprint MODEL.onnx --input x.npy [--output y.npy] [--threads T] "
                       "[--runs R] [--warmup W] [--profile] [--no-fusion]\n");
  std::exit(2);
}

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string s = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage();
      return argv[++i];
    };
    if (s == "--input") a.input = value();
    else if (s == "--output") a.output = value();
    else if (s == "--threads") a.threads = std::atoi(value().c_str());
    else if (s == "--runs") a.runs = std::atoi(value().c_str());
    else if (s == "--warmup") a.warmup = std::atoi(value().c_str());
    else if (s == "--profile") a.profile = true;
    else if (s == "--no-fusion") a.fusion = false;
    else if (a.model.empty() && s[0] != '-') a.model = s;
    else usage();
  }
  if (a.model.empty() || a.input.empty() || a.runs < 1 || a.warmup < 0) usage();
  if (a.threads <= 0) a.threads = std::max(1u, std::thread::hardware_concurrency());
  return a;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

}  // namespace

int main(int argc, char** argv) try {
  restart_with_fast_blas(argv);  // as the CLI: the kernels this CPU can run
  const Args a = parse(argc, argv);
  NpyArray x = read_npy(a.input);
  if (x.shape.size() != 4) {
    std::fprintf(stderr, "zoo_footprint: %s: expected [N, C, H, W]\n", a.input.c_str());
    return 2;
  }
  const int batch = static_cast<int>(x.shape[0]);
  OnnxModel model = import_onnx(a.model, {.weights = OnnxImportOptions::Weights::deferred,
                                          .input_shape = Shape{x.shape[1], x.shape[2], x.shape[3]}});
  const Net& net = model.net;
  const Plan p = plan(net, {.batch = batch, .mode = Mode::infer, .threads = a.threads});
  reset_tracked_peak();
  const bool peak_restarted = restart_peak_resident();
  const int64_t resident_before = resident_bytes();
  Runtime runtime(net, p);
  model.restore_weights(runtime);
  runtime.set_layer_timing(a.profile);
  runtime.set_epilogue_fusion(a.fusion);
  std::vector<double> seconds;
  for (int run = 0; run < a.warmup + a.runs; ++run) {
    // Inference reuses the input's bytes once read: fill it before every forward.
    std::copy(x.data.begin(), x.data.end(), runtime.input());
    const auto start = std::chrono::steady_clock::now();
    runtime.forward(batch, /*training=*/false);
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
    if (run >= a.warmup) seconds.push_back(took.count());
  }
  const int64_t growth = peak_restarted ? peak_resident_bytes() - resident_before : -1;
  const int64_t tracked_peak = tracked_memory().peak_bytes;
  if (!a.output.empty()) {
    const Shape out = net.output_shape();
    write_npy(a.output, {batch, out.c, out.h, out.w}, runtime.output());
  }
  if (a.profile) {  // each layer, then each op kind: the mean over every forward, warm-up included
    const double forwards = a.warmup + a.runs;
    std::map<std::string, double> by_op;
    for (int i = 0; i < net.n_layers(); ++i) {
      const double seconds_each =
          runtime.layer_times()[static_cast<size_t>(i)].forward_seconds / forwards;
      by_op[net.node(i).spec.op] += seconds_each;
      // GFLOP/s from the plan's estimate of the layer's work (multiply-adds count 2).
      std::fprintf(stderr, "%-48s %-13s %-14s %8.3f ms %7.1f GFLOP/s\n",
                   net.node(i).spec.name.c_str(), net.node(i).spec.op.c_str(),
                   net.node(i).out_shape.str().c_str(), 1e3 * seconds_each,
                   seconds_each > 0 ? 1e-9 * static_cast<double>(p.layer_reports[i].forward_flops) / seconds_each : 0.0);
    }
    for (const auto& [op, total] : by_op) std::fprintf(stderr, "%-14s %8.3f ms\n", op.c_str(), 1e3 * total);
  }
  std::string list;
  for (double s : seconds) list += (list.empty() ? "" : ", ") + std::to_string(s);
  std::printf("{\"framework\": \"footprint\", \"batch\": %d, \"threads\": %d, \"seconds\": [%s], "
              "\"seconds_median\": %.6f, \"planned_bytes\": %lld, \"tracked_peak_bytes\": %lld, "
              "\"rss_growth_bytes\": %lld, \"outside_bytes\": %lld, \"blas\": \"%s\", \"fused_layers\": %d}\n",
              batch, a.threads, list.c_str(), median(seconds), static_cast<long long>(p.total_bytes),
              static_cast<long long>(tracked_peak), static_cast<long long>(growth),
              static_cast<long long>(p.outside_bytes()), blas_core_description().c_str(),
              runtime.fused_layers());
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "zoo_footprint: %s\n", e.what());
  return 1;
}
