// Exported models in ONNX Runtime: every test net (export_nets.hpp) with random weights, and a
// LeNet trained on Fashion-MNIST, saved, exported and run by Footprint and by ONNX Runtime (the
// npm package onnxruntime-node, through tests/export/ort_run.js), whose outputs must agree within
// 1e-5 of the output's largest magnitude. The package is installed into the build directory on
// the first run (npm install --ignore-scripts: its CPU libraries ship inside it) and reused
// after; without node, npm or the network the whole test exits 77, which ctest reports as skipped.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <sys/wait.h>
#include <filesystem>
#include <string>

#include "export/export_nets.hpp"
#include "footprint/data.hpp"
#include "footprint/npy.hpp"
#include "footprint/onnx.hpp"

namespace {

using namespace footprint;
using namespace footprint::testing;
namespace fs = std::filesystem;

constexpr double kTolerance = 1e-5;  // of the output's largest magnitude
constexpr int kSkipped = 77;         // ctest SKIP_RETURN_CODE

int run(const std::string& command) {
  const int status = std::system(command.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// Where onnxruntime-node is installed: this build's directory, or the main build's (build/)
// when this is another one (the sanitizer build), so the package is fetched once.
std::string& ort_dir() {
  static std::string dir = FOOTPRINT_ORT_DIR;
  return dir;
}

std::string node_env() { return "NODE_PATH='" + ort_dir() + "/node_modules' "; }

bool ort_loads() { return run(node_env() + "node -e \"require('onnxruntime-node')\" >/dev/null 2>&1") == 0; }

// Whether node can load onnxruntime-node, installing it first if need be; else why not.
bool onnx_runtime_available(std::string& why) {
  if (run("node --version >/dev/null 2>&1") != 0) {
    why = "node is not installed (scripts/setup.sh installs nodejs and npm)";
    return false;
  }
  for (const std::string& dir : {std::string(FOOTPRINT_ORT_DIR), std::string(FOOTPRINT_SOURCE_DIR) + "/build/onnxruntime-node"}) {
    ort_dir() = dir;
    if (ort_loads()) return true;
  }
  ort_dir() = FOOTPRINT_ORT_DIR;
  if (run("npm --version >/dev/null 2>&1") != 0) {
    why = "npm is not installed (scripts/setup.sh installs nodejs and npm)";
    return false;
  }
  fs::create_directories(ort_dir());
  const std::string log = ort_dir() + "/npm-install.log";
  std::printf("installing onnxruntime-node into %s (once)\n", ort_dir().c_str());
  std::fflush(stdout);
  const std::string install = "npm install --prefix '" + ort_dir() +
                              "' --ignore-scripts --no-audit --no-fund onnxruntime-node >'" + log + "' 2>&1";
  if (run(install) != 0 || !ort_loads()) {
    why = "could not install onnxruntime-node with npm (offline?); see " + log;
    return false;
  }
  return true;
}

std::string work_dir() {
  static const std::string dir = [] {
    const fs::path d = fs::temp_directory_path() / ("footprint_ort_" + std::to_string(getpid()));
    fs::create_directories(d);
    return d.string();
  }();
  return dir;
}

// Runs the model in ONNX Runtime on x and returns its outputs by name (as .npy files in a
// directory of their own).
std::string run_onnx_runtime(const std::string& model, const std::string& input, const std::string& tag) {
  const std::string out_dir = work_dir() + "/" + tag + "_ort";
  fs::create_directories(out_dir);
  const std::string command = node_env() + "node '" + std::string(FOOTPRINT_SOURCE_DIR) + "/tests/export/ort_run.js' '" +
                              model + "' '" + input + "' '" + out_dir + "'";
  EXPECT_EQ(run(command), 0) << command;
  return out_dir;
}

void expect_close(const std::string& what, const std::vector<float>& ort, const std::vector<float>& footprint) {
  ASSERT_EQ(ort.size(), footprint.size()) << what;
  const Difference d = difference(ort, footprint);
  std::printf("ONNX Runtime %-28s max |diff| %.3g, max |y| %.3g, relative %.3g\n", what.c_str(), d.max_abs, d.max_ref,
              d.relative());
  EXPECT_LE(d.relative(), kTolerance) << what << ": max |diff| " << d.max_abs << ", max |y| " << d.max_ref;
}

TEST(OnnxRuntime, RunsEveryExportedNetAsFootprintDoes) {
  constexpr int kBatch = 3;
  for (const ExportCase& c : export_cases()) {
    SCOPED_TRACE(c.name);
    const Net net = parse_net(c.net_text, c.name + ".net");
    const Plan p = plan(net, {.batch = kBatch, .mode = Mode::infer, .threads = 2});
    Runtime runtime(net, p, /*seed=*/7);
    randomise_parameters(runtime, /*seed=*/100);
    const std::vector<float> x = uniform_values(kBatch * net.input_shape().n_elems(), 5);
    std::copy(x.begin(), x.end(), runtime.input());
    runtime.forward(kBatch, /*training=*/false);
    const std::vector<std::vector<float>> expected = outputs_of(runtime, kBatch);
    const std::string model = work_dir() + "/" + c.name + ".onnx", input = work_dir() + "/" + c.name + ".x.npy";
    export_onnx(runtime, model, c.name);
    const Shape s = net.input_shape();
    write_npy(input, {kBatch, s.c, s.h, s.w}, x.data());
    const std::string out_dir = run_onnx_runtime(model, input, c.name);
    for (size_t k = 0; k < expected.size(); ++k) {
      const std::string name = net.value_name(net.outputs()[k]);
      const NpyArray y = read_npy(out_dir + "/" + name + ".npy");
      ASSERT_EQ(y.shape.at(0), kBatch) << name;
      expect_close(c.name + " " + name, y.data, expected[k]);
    }
  }
}

// (c) of the export issue: a model trained by `footprint train --save` travels. LeNet, 400 steps
// of Fashion-MNIST (a fifth of an epoch, under ten seconds), saved, exported, then run on 500
// test images by Footprint (on the .fpm and the .onnx) and by ONNX Runtime.
TEST(OnnxRuntime, ReproducesALeNetTrainedOnFashionMnist) {
  if (!fs::exists(kFashionMnistDir)) GTEST_SKIP() << "dataset-fashion-mnist is not installed (scripts/setup.sh)";
  const std::string dir = work_dir(), cli = FOOTPRINT_CLI;
  const std::string fpm = dir + "/lenet.fpm", onnx = dir + "/lenet.onnx", x_path = dir + "/fashion.npy";
  ASSERT_EQ(run(cli + " train " + FOOTPRINT_SOURCE_DIR + "/nets/lenet.net --steps 400 --batch 32 --optimizer momentum "
                "--lr 0.02 --threads 2 --save " + fpm + " >/dev/null 2>&1"), 0);
  ASSERT_EQ(run(cli + " export " + fpm + " " + onnx + " 2>/dev/null"), 0);
  // 500 test images as the net reads them.
  const DataSplit data = load_mnist_dir(kFashionMnistDir);
  const int64_t n = 500;
  std::vector<int64_t> indices(n);
  for (int64_t i = 0; i < n; ++i) indices[i] = i;
  std::vector<float> x(n * 28 * 28);
  std::vector<int32_t> labels(n);
  fill_batch(data.test, indices, LossKind::softmax_xent, 10, x.data(), labels.data());
  write_npy(x_path, {n, 1, 28, 28}, x.data());
  ASSERT_EQ(run(cli + " run " + fpm + " --input " + x_path + " --output " + dir + "/y_fpm.npy 2>/dev/null"), 0);
  const NpyArray y = read_npy(dir + "/y_fpm.npy");
  const NpyArray y_ort = read_npy(run_onnx_runtime(onnx, x_path, "lenet") + "/fc10.npy");
  expect_close("trained lenet, 500 images", y_ort.data, y.data);
  int correct = 0, same_class = 0;
  for (int64_t i = 0; i < n; ++i) {
    auto argmax = [&](const std::vector<float>& v) {
      return std::max_element(v.begin() + i * 10, v.begin() + (i + 1) * 10) - (v.begin() + i * 10);
    };
    correct += argmax(y.data) == labels[i];
    same_class += argmax(y.data) == argmax(y_ort.data);
  }
  std::printf("trained lenet: %d of %d test images right; ONNX Runtime picks the same class for %d\n", correct,
              static_cast<int>(n), same_class);
  EXPECT_GT(correct, n * 6 / 10) << "400 steps of LeNet get well above chance";
  EXPECT_EQ(same_class, n);
}

}  // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  std::string why;
  if (!onnx_runtime_available(why)) {
    std::printf("skipped: %s\n", why.c_str());
    return kSkipped;
  }
  const int result = RUN_ALL_TESTS();
  if (result == 0) fs::remove_all(work_dir());
  return result;
}
