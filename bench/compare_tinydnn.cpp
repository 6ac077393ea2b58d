// tiny-dnn's side of bench/compare.sh (compiled by the script against Debian's tiny-dnn headers,
// never built by CMake): the same workloads as compare_footprint, one JSON line each.
//   compare_tinydnn six-block --batch B [--runs R]     six 3x3 conv+tanh+avgpool blocks, fc 10, mse, SGD
//   compare_tinydnn lenet DATA_DIR --batch B            one epoch of LeNet on Fashion-MNIST (unzipped IDX)
// tiny-dnn's layers differ in details: activations are fused into conv/fc, and its average
// pooling has a trainable scale and bias per channel. Threads: tiny-dnn splits over
// std::thread::hardware_concurrency(), or one thread when built with -DCNN_SINGLE_THREAD.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "tiny_dnn/tiny_dnn.h"

using namespace tiny_dnn;
using namespace tiny_dnn::activation;
using Clock = std::chrono::steady_clock;

namespace {

long long peak_rss_bytes() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<long long>(u.ru_maxrss) * 1024;
}

int threads() {
#ifdef CNN_SINGLE_THREAD
  return 1;
#else
  return static_cast<int>(std::thread::hardware_concurrency());
#endif
}

void emit(const char* workload, int batch, std::vector<double> seconds, double items,
          const char* unit, const std::string& extra) {
  std::vector<double> sorted = seconds;
  std::sort(sorted.begin(), sorted.end());
  const size_t n = sorted.size();
  const double med = n % 2 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]);
  std::string runs = "[";
  for (size_t i = 0; i < seconds.size(); ++i) runs += (i ? ", " : "") + std::to_string(seconds[i]);
  runs += "]";
  std::printf("{\"framework\": \"tiny-dnn\", \"workload\": \"%s\", \"threads\": %d, \"batch\": %d, "
              "\"seconds_per_step\": %.6f, \"runs\": %s, \"throughput\": %.4f, \"unit\": \"%s\", "
              "\"peak_rss_bytes\": %lld%s}\n",
              workload, threads(), batch, med, runs.c_str(), items / med, unit, peak_rss_bytes(),
              extra.c_str());
  std::fflush(stdout);
}

void six_block(int batch, int runs) {
  network<sequential> net;
  serial_size_t size = 512, in_c = 3, out_c = 6;
  for (int block = 0; block < 6; ++block) {
    net << convolutional_layer<tan_h>(size, size, 3, in_c, out_c, padding::same)
        << average_pooling_layer<identity>(size, size, out_c, 2);
    size /= 2;
    in_c = out_c;
    out_c *= 2;
  }
  net << fully_connected_layer<identity>(in_c * size * size, 10);
  gradient_descent opt;
  opt.alpha = 1e-3f;
  std::vector<vec_t> x(batch, vec_t(3 * 512 * 512)), t(batch, vec_t(10, 0.0f));
  for (auto& v : x)
    for (auto& e : v) e = static_cast<float_t>(std::rand()) / RAND_MAX * 2 - 1;
  std::vector<double> seconds;
  for (int i = 0; i < runs + 1; ++i) {  // the first step is warm-up
    const auto start = Clock::now();
    net.fit<mse>(opt, x, t, batch, 1, [] {}, [] {}, /*reset_weights=*/i == 0);
    if (i > 0) seconds.push_back(std::chrono::duration<double>(Clock::now() - start).count());
  }
  emit("six-block-512-train", batch, seconds, batch, "samples/s", "");
}

void lenet(const std::string& dir, int batch) {
  std::vector<vec_t> train_x, test_x;
  std::vector<label_t> train_y, test_y;
  parse_mnist_images(dir + "/train-images-idx3-ubyte", &train_x, -1.0, 1.0, 0, 0);
  parse_mnist_labels(dir + "/train-labels-idx1-ubyte", &train_y);
  parse_mnist_images(dir + "/t10k-images-idx3-ubyte", &test_x, -1.0, 1.0, 0, 0);
  parse_mnist_labels(dir + "/t10k-labels-idx1-ubyte", &test_y);
  network<sequential> net;
  net << convolutional_layer<tan_h>(28, 28, 5, 1, 6, padding::same)
      << average_pooling_layer<identity>(28, 28, 6, 2)
      << convolutional_layer<tan_h>(14, 14, 5, 6, 16)
      << average_pooling_layer<identity>(10, 10, 16, 2)
      << fully_connected_layer<tan_h>(400, 120) << fully_connected_layer<tan_h>(120, 84)
      << fully_connected_layer<softmax>(84, 10);
  momentum opt;
  opt.alpha = 0.01f;
  opt.mu = 0.9f;
  const auto start = Clock::now();
  net.train<cross_entropy_multiclass>(opt, train_x, train_y, batch, 1);
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  const result r = net.test(test_x, test_y);
  char extra[96];
  std::snprintf(extra, sizeof extra, ", \"test_accuracy\": %.4f", r.num_success / double(r.num_total));
  emit("lenet-fashion-mnist-epoch", batch, {seconds}, train_x.size(), "samples/s", extra);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  std::string workload = argv[1], path;
  int batch = 1, runs = 3;
  for (int i = 2; i < argc; ++i) {
    std::string s = argv[i];
    if (s == "--batch" && i + 1 < argc) batch = std::atoi(argv[++i]);
    else if (s == "--runs" && i + 1 < argc) runs = std::atoi(argv[++i]);
    else path = s;
  }
  if (workload == "six-block") six_block(batch, runs);
  else if (workload == "lenet") lenet(path, batch);
  else return 2;
}
