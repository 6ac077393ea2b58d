// The ONNX importer on models built here with protobuf (no downloads): a small VGG-style model
// imports, plans, runs (in process and through `footprint run` on .npy files) and fine-tunes;
// bad files give clear errors; a large model is planned without holding its weights twice.
#include <gtest/gtest.h>

#include "testing/png_writer.hpp"

#include "footprint/image.hpp"
#include "testing/sanitizers.hpp"
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <tuple>
#include <utility>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "footprint/error.hpp"
#include "footprint/model_io.hpp"
#include "footprint/npy.hpp"
#include "footprint/onnx.hpp"
#include "footprint/plan.hpp"
#include "footprint/runtime.hpp"
#include "import/onnx/onnx_importer.hpp"
#include "testing/onnx_builder.hpp"

namespace footprint {
namespace {

namespace fs = std::filesystem;

// conv-relu-conv-relu-maxpool, conv-batchnorm-relu-maxpool, flatten, Gemm, relu, MatMul + Add
// (a bias to fold), over 3x16x16 inputs and 10 classes.
ModelBuilder vgg_style() {
  ModelBuilder b;
  b.input("image", {1, 3, 16, 16});
  auto conv = [&](const std::string& in, const std::string& out, int64_t in_c, int64_t out_c, uint32_t seed) {
    b.weight(out + ".W", {out_c, in_c, 3, 3}, seed);
    b.weight(out + ".B", {out_c}, seed + 1, 0.1f);
    auto& n = b.node("Conv", {in, out + ".W", out + ".B"}, out);
    ModelBuilder::ints(n, "kernel_shape", {3, 3});
    ModelBuilder::ints(n, "pads", {1, 1, 1, 1});
  };
  conv("image", "conv1", 3, 8, 1);
  b.node("Relu", {"conv1"}, "relu1");
  conv("relu1", "conv2", 8, 8, 3);
  b.node("Relu", {"conv2"}, "relu2");
  auto& pool1 = b.node("MaxPool", {"relu2"}, "pool1");
  ModelBuilder::ints(pool1, "kernel_shape", {2, 2});
  ModelBuilder::ints(pool1, "strides", {2, 2});
  conv("pool1", "conv3", 8, 16, 5);
  for (const char* p : {"scale", "bias", "mean"}) b.weight(std::string("bn.") + p, {16}, 7, 0.2f);
  b.weight("bn.var", {16}, 9, 0.2f);
  for (auto& v : *b.model().mutable_graph()->mutable_initializer()) {  // variances must be > 0
    if (v.name() != "bn.var") continue;
    float* f = reinterpret_cast<float*>(v.mutable_raw_data()->data());
    for (int i = 0; i < 16; ++i) f[i] = 1.0f + std::fabs(f[i]);
  }
  b.node("BatchNormalization", {"conv3", "bn.scale", "bn.bias", "bn.mean", "bn.var"}, "bn");
  b.node("Relu", {"bn"}, "relu3");
  auto& pool2 = b.node("AveragePool", {"relu3"}, "pool2");
  ModelBuilder::ints(pool2, "kernel_shape", {2, 2});
  ModelBuilder::ints(pool2, "strides", {2, 2});
  b.node("Flatten", {"pool2"}, "flat");
  b.weight("fc1.W", {32, 16 * 4 * 4}, 11, 0.05f);
  b.weight("fc1.B", {32}, 12, 0.1f);
  auto& gemm = b.node("Gemm", {"flat", "fc1.W", "fc1.B"}, "fc1");
  ModelBuilder::integer(gemm, "transB", 1);
  b.node("Relu", {"fc1"}, "relu4");
  b.weight("fc2.W", {32, 10}, 13, 0.2f);
  b.weight("fc2.B", {10}, 14, 0.1f);
  b.node("MatMul", {"relu4", "fc2.W"}, "fc2");
  b.node("Add", {"fc2", "fc2.B"}, "logits");
  b.output("logits");
  return b;
}

fs::path temp_path(const std::string& name) {
  return fs::temp_directory_path() / ("footprint_onnx_" + std::to_string(::getpid()) + "_" + name);
}

std::vector<float> random_values(int64_t n, uint32_t seed) {
  std::vector<float> v(n);
  for (auto& x : v) seed = seed * 1664525u + 1013904223u, x = static_cast<float>(seed >> 8) / 8388608.0f - 1.0f;
  return v;
}

TEST(OnnxImport, VggStyleModelImportsPlansRunsOnAPngAndFineTunes) {
  const fs::path path = temp_path("vgg.onnx");
  vgg_style().save(path);
  OnnxModel m = import_onnx(path.string());
  EXPECT_EQ(m.net.input_shape(), (Shape{3, 16, 16}));
  EXPECT_EQ(m.net.output_shape(), (Shape{10, 1, 1}));
  EXPECT_EQ(m.input_name, "image");
  EXPECT_EQ(m.output_name, "logits");
  std::vector<std::string> ops;
  for (const auto& node : m.net.nodes()) ops.push_back(node.spec.op);
  EXPECT_EQ(ops, (std::vector<std::string>{"conv", "relu", "conv", "relu", "maxpool", "conv", "batchnorm",
                                           "relu", "avgpool", "flatten", "fc", "relu", "fc"}))
      << m.net.to_text();
  // The MatMul's Add became the last fc's bias: every initializer is a parameter.
  EXPECT_EQ(m.weights.tensors.size(), 14u);
  EXPECT_EQ(m.weights.tensors.back().name, "fc2.bias");

  // Plan and run in inference; the same weights through `footprint run` give the same output.
  const int batch = 2;
  const Plan p = plan(m.net, {.batch = batch, .mode = Mode::infer, .threads = 2});
  Runtime runtime(m.net, p);
  restore_parameters(m.weights, runtime);
  const std::vector<float> x = random_values(batch * 3 * 16 * 16, 21);
  std::copy(x.begin(), x.end(), runtime.input());
  runtime.forward(batch, false);
  const std::vector<float> logits(runtime.output(), runtime.output() + batch * 10);
  for (float v : logits) EXPECT_TRUE(std::isfinite(v));

  const fs::path x_path = temp_path("x.npy"), y_path = temp_path("y.npy");
  write_npy(x_path.string(), {batch, 3, 16, 16}, x.data());
  const std::string command = std::string(FOOTPRINT_CLI) + " run " + path.string() + " --input " +
                              x_path.string() + " --output " + y_path.string() + " --threads 2 2>/dev/null";
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
  const NpyArray y = read_npy(y_path.string());
  EXPECT_EQ(y.shape, (std::vector<int64_t>{batch, 10}));
  ASSERT_EQ(y.data.size(), logits.size());
  for (size_t i = 0; i < logits.size(); ++i) EXPECT_NEAR(y.data[i], logits[i], 1e-5f) << i;

  // The same model on a PNG (a 20x24 RGB image, resized to 16x16): the CLI gives the output of
  // the preprocessed image through the library.
  const fs::path png_path = temp_path("x.png"), png_out = temp_path("png_y.npy");
  std::vector<unsigned char> rgb(24 * 20 * 3);
  for (size_t i = 0; i < rgb.size(); ++i) rgb[i] = static_cast<unsigned char>(i * 11 % 256);
  ASSERT_TRUE(stbi_write_png(png_path.c_str(), 24, 20, 3, rgb.data(), 24 * 3));
  const std::string png_command = std::string(FOOTPRINT_CLI) + " run " + path.string() +
                                  " --input " + png_path.string() + " --output " +
                                  png_out.string() + " --threads 2 2>/dev/null";
  ASSERT_EQ(std::system(png_command.c_str()), 0) << png_command;
  const Image image = load_image(png_path.string(), 3, kDefaultMaxImagePixels);
  image_to_input(image, Shape{3, 16, 16}, {}, runtime.input());
  runtime.forward(1, false);
  const NpyArray png_y = read_npy(png_out.string());
  ASSERT_EQ(png_y.shape, (std::vector<int64_t>{1, 10}));
  for (int i = 0; i < 10; ++i) EXPECT_NEAR(png_y.data[i], runtime.output()[i], 1e-5f) << i;
  fs::remove(png_path);
  fs::remove(png_out);

  // Fine-tune on one fixed batch with a loss added: the loss falls.
  Net trainable = m.net;
  trainable << loss(LossKind::softmax_xent);
  const int train_batch = 4;
  const Plan tp = plan(trainable, {.batch = train_batch, .mode = Mode::train, .threads = 2});
  Runtime trainer(trainable, tp);
  restore_parameters(m.weights, trainer);
  const std::vector<float> tx = random_values(train_batch * 3 * 16 * 16, 5);
  double first = 0, last = 0;
  for (int step = 0; step < 40; ++step) {
    std::copy(tx.begin(), tx.end(), trainer.input());
    int32_t* labels = static_cast<int32_t*>(trainer.target());
    for (int i = 0; i < train_batch; ++i) labels[i] = i * 3 % 10;
    const double l = trainer.train_step(train_batch, {.lr = 0.05f});
    if (step == 0) first = l;
    last = l;
  }
  EXPECT_LT(last, 0.8 * first) << "first loss " << first << ", last " << last;
  for (const fs::path& f : {path, x_path, y_path}) fs::remove(f);
}

// PyTorch's exporter deduplicates equal initializers (zero biases of a freshly made model) and
// reads the copies through Identity nodes: those are the constant under another name.
TEST(OnnxImport, IdentityOfAnInitializerIsThatConstant) {
  ModelBuilder b;
  b.input("image", {1, 3, 8, 8});
  b.weight("shared.B", {4}, 5, 0.1f);
  b.node("Identity", {"shared.B"}, "alias.B");
  for (const char* conv : {"conv1", "conv2"}) {
    const std::string in = std::string(conv) == "conv1" ? "image" : "relu1";
    b.weight(std::string(conv) + ".W", {4, std::string(conv) == "conv1" ? 3 : 4, 3, 3}, 7);
    auto& n = b.node("Conv", {in, std::string(conv) + ".W", std::string(conv) == "conv1" ? "shared.B" : "alias.B"}, conv);
    ModelBuilder::ints(n, "kernel_shape", {3, 3});
    ModelBuilder::ints(n, "pads", {1, 1, 1, 1});
    if (std::string(conv) == "conv1") b.node("Relu", {"conv1"}, "relu1");
  }
  b.output("conv2");
  const fs::path path = temp_path("identity.onnx");
  b.save(path);
  const OnnxModel m = import_onnx(path.string());
  ASSERT_EQ(m.net.n_layers(), 3);
  std::vector<std::vector<float>> biases;
  for (const SavedTensor& t : m.weights.tensors)
    if (t.name.size() > 5 && t.name.compare(t.name.size() - 5, 5, ".bias") == 0) biases.push_back(t.data);
  ASSERT_EQ(biases.size(), 2u);
  EXPECT_EQ(biases[0].size(), 4u);
  EXPECT_EQ(biases[0], biases[1]);  // both read the same bytes, neither released early
  fs::remove(path);
}

TEST(OnnxImport, PlanNeedsNoWeights) {
  const fs::path path = temp_path("vgg_plan.onnx");
  vgg_style().save(path);
  const OnnxModel m = import_onnx(path.string(), {.weights = OnnxImportOptions::Weights::none});
  EXPECT_TRUE(m.weights.tensors.empty());
  EXPECT_EQ(m.net.n_layers(), 13);
  EXPECT_TRUE(looks_like_onnx(path.string()));
  fs::remove(path);
}

std::string import_error(const fs::path& path) {
  try {
    (void)import_onnx(path.string());
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(OnnxImport, BadFilesGiveClearErrors) {
  const fs::path good = temp_path("good.onnx"), bad = temp_path("bad.onnx");
  vgg_style().save(good);
  std::string bytes;
  {
    std::ifstream in(good, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  auto write = [&](const std::string& content) {
    std::ofstream out(bad, std::ios::binary);
    out << content;
  };
  // Truncated at many points: always an IoError (or, cut between fields, a model that misses
  // its graph or weights), never a crash.
  for (size_t cut : {size_t{1}, size_t{7}, bytes.size() / 3, bytes.size() / 2, bytes.size() - 5}) {
    write(bytes.substr(0, cut));
    try {
      (void)import_onnx(bad.string());
      ADD_FAILURE() << "cut at " << cut << ": imported";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(bad.string()), std::string::npos) << e.what();
    }
  }
  write("");
  EXPECT_THROW((void)import_onnx(bad.string()), IoError);
  std::string noise(4096, '\0');
  uint32_t seed = 3;
  for (auto& ch : noise) seed = seed * 1664525u + 1013904223u, ch = static_cast<char>(seed >> 24);
  write(noise);
  EXPECT_THROW((void)import_onnx(bad.string()), IoError) << import_error(bad);
  EXPECT_THROW((void)import_onnx(temp_path("missing.onnx").string()), IoError);

  // An unsupported op names the op and node and lists what is supported.
  ModelBuilder elu = vgg_style();
  elu.model().mutable_graph()->mutable_node(1)->set_op_type("Elu");
  elu.save(bad);
  std::string message = import_error(bad);
  EXPECT_NE(message.find("'relu1' (Elu"), std::string::npos) << message;
  EXPECT_NE(message.find("supported ops: Conv, ConvTranspose, MaxPool"), std::string::npos) << message;

  // An unsupported attribute names it.
  ModelBuilder attr = vgg_style();
  ModelBuilder::integer(*attr.model().mutable_graph()->mutable_node(0), "frobnicate", 1);
  attr.save(bad);
  message = import_error(bad);
  EXPECT_NE(message.find("'conv1' (Conv"), std::string::npos) << message;
  EXPECT_NE(message.find("attribute 'frobnicate' is not supported"), std::string::npos) << message;

  // A node reading a value no earlier node writes names it.
  ModelBuilder unsorted = vgg_style();
  unsorted.model().mutable_graph()->mutable_node(2)->set_input(0, "relu3");  // conv2 reads a later value
  unsorted.save(bad);
  message = import_error(bad);
  EXPECT_NE(message.find("'conv2' (Conv"), std::string::npos) << message;
  EXPECT_NE(message.find("'relu3' is not produced by any earlier node"), std::string::npos) << message;
  for (const fs::path& f : {good, bad}) fs::remove(f);
}

// Peak resident memory of `footprint plan` on a model of ~256 MB of weights stays under a tenth
// of the file: the importer parses the structure and leaves the weights' bytes in the file.
TEST(OnnxImport, LargeModelPlansWithinItsFileSize) {
  FP_SKIP_UNDER_ASAN();
  const fs::path path = temp_path("large.onnx");
  {
    ModelBuilder b;
    b.input("x", {1, 4096});
    for (int i = 0; i < 4; ++i) {  // 4 x 4096 x 4096 floats = 256 MiB
      const std::string in = i == 0 ? "x" : "fc" + std::to_string(i - 1);
      const std::string out = "fc" + std::to_string(i);
      b.weight(out + ".W", {4096, 4096}, 100 + i, 0.01f);
      auto& n = b.node("Gemm", {in, out + ".W"}, out);
      ModelBuilder::integer(n, "transB", 1);
    }
    b.output("fc3");
    b.save(path);
  }
  const int64_t file_bytes = static_cast<int64_t>(fs::file_size(path));
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    const int null = ::open("/dev/null", O_WRONLY);
    ::dup2(null, 1);
    ::execl(FOOTPRINT_CLI, FOOTPRINT_CLI, "plan", path.c_str(), "--mode", "infer", "--threads", "1",
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  int status = 0;
  struct rusage usage {};
  ASSERT_EQ(::wait4(child, &status, 0, &usage), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "footprint plan failed";
  const int64_t peak_rss = static_cast<int64_t>(usage.ru_maxrss) * 1024;
  std::printf("footprint plan on a %lld-byte ONNX file: peak RSS %lld bytes (%.2fx the file)\n",
              static_cast<long long>(file_bytes), static_cast<long long>(peak_rss),
              static_cast<double>(peak_rss) / static_cast<double>(file_bytes));
  EXPECT_LT(peak_rss, file_bytes / 10);
  fs::remove(path);
}

// The vgg-style memory path: `footprint run` keeps each weight in the file until the runtime
// exists and then reads it straight into its parameter, so the process peaks at its plan (plus
// the program itself), not at the plan plus a parsed copy of the weights.
TEST(OnnxImport, LargeModelRunsWithinItsPlan) {
  FP_SKIP_UNDER_ASAN();
  const fs::path path = temp_path("large_run.onnx"), x_path = temp_path("large_x.npy"), y_path = temp_path("large_y.npy");
  {
    ModelBuilder b;
    b.input("x", {1, 4096});
    for (int i = 0; i < 4; ++i) {  // 4 x 4096 x 4096 floats = 256 MiB
      const std::string in = i == 0 ? "x" : "fc" + std::to_string(i - 1);
      const std::string out = "fc" + std::to_string(i);
      b.weight(out + ".W", {4096, 4096}, 200 + i, 0.01f);
      auto& n = b.node("Gemm", {in, out + ".W"}, out);
      ModelBuilder::integer(n, "transB", 1);
    }
    b.output("fc3");
    b.save(path);
  }
  const std::vector<float> x = random_values(4096, 3);
  write_npy(x_path.string(), {1, 4096}, x.data());
  OnnxModel architecture = import_onnx(path.string(), {.weights = OnnxImportOptions::Weights::none});
  const Plan p = plan(architecture.net, {.batch = 1, .mode = Mode::infer, .threads = 1});
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    const int null = ::open("/dev/null", O_WRONLY);
    ::dup2(null, 2);
    ::execl(FOOTPRINT_CLI, FOOTPRINT_CLI, "run", path.c_str(), "--input", x_path.c_str(), "--output", y_path.c_str(),
            "--threads", "1", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  int status = 0;
  struct rusage usage {};
  ASSERT_EQ(::wait4(child, &status, 0, &usage), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "footprint run failed";
  const int64_t peak_rss = static_cast<int64_t>(usage.ru_maxrss) * 1024;
  std::printf("footprint run on a %lld-byte ONNX file: plan %lld bytes, peak RSS %lld bytes (%.3fx the plan)\n",
              static_cast<long long>(fs::file_size(path)), static_cast<long long>(p.total_bytes),
              static_cast<long long>(peak_rss), static_cast<double>(peak_rss) / static_cast<double>(p.total_bytes));
  EXPECT_LT(peak_rss, p.total_bytes * 115 / 100);

  // The deferred weights are the in-memory ones.
  OnnxModel deferred = import_onnx(path.string(), {.weights = OnnxImportOptions::Weights::deferred});
  ASSERT_TRUE(deferred.deferred);
  EXPECT_TRUE(deferred.weights.tensors.empty());
  Runtime runtime(deferred.net, p);
  deferred.restore_weights(runtime);
  EXPECT_FALSE(deferred.deferred);  // released once written
  std::copy(x.begin(), x.end(), runtime.input());
  runtime.forward(1, false);
  const NpyArray y = read_npy(y_path.string());
  ASSERT_EQ(y.data.size(), 4096u);
  for (size_t i = 0; i < y.data.size(); ++i) ASSERT_EQ(y.data[i], runtime.output()[i]) << i;
  OnnxModel in_memory = import_onnx(path.string());
  ASSERT_EQ(in_memory.weights.tensors.size(), 4u);
  EXPECT_EQ(in_memory.weights.tensors[2].data[12345], runtime.parameters()[2].data[12345]);
  for (const fs::path& f : {path, x_path, y_path}) fs::remove(f);
}

// A MatMul's B [K, M] becomes an fc weight [M, K]: transposed in the parameter's own bytes, for
// every shape (square, wide, tall, a single row or column).
TEST(OnnxImport, MatMulWeightsAreTransposedExactly) {
  for (const auto& [k, m] : std::vector<std::pair<int64_t, int64_t>>{{3, 5}, {5, 3}, {4, 4}, {1, 7}, {7, 1}, {6, 10}, {31, 17}}) {
    ModelBuilder b;
    b.input("x", {1, k});
    const std::vector<float> w = random_values(k * m, static_cast<uint32_t>(10 * k + m));
    b.floats("w", {k, m}, w);
    b.node("MatMul", {"x", "w"}, "y");
    b.output("y");
    OnnxModel model = import_onnx_model(b.model(), "matmul.onnx", {});
    ASSERT_EQ(model.weights.tensors.size(), 1u);
    const std::vector<float>& got = model.weights.tensors[0].data;
    ASSERT_EQ(got.size(), w.size());
    for (int64_t r = 0; r < k; ++r)
      for (int64_t c = 0; c < m; ++c) ASSERT_EQ(got[c * k + r], w[r * m + c]) << k << "x" << m << " at " << r << "," << c;
  }
}

// Transposed weights keep the promise too: `footprint run` on two MatMul layers of 64 MiB each
// ([K, M] weights, which an fc holds as [M, K]) peaks at its plan (and the program itself, about
// 12 MB), not at its plan plus a copy of a weight (1.5x), and computes x B1 B2.
TEST(OnnxImport, LargeMatMulModelRunsWithinItsPlan) {
  FP_SKIP_UNDER_ASAN();
  const fs::path path = temp_path("matmul_run.onnx"), x_path = temp_path("matmul_x.npy"),
                 y_path = temp_path("matmul_y.npy");
  const int64_t k = 8192, m = 2048;
  const std::vector<float> w1 = random_values(k * m, 301), w2 = random_values(m * k, 302);
  {
    ModelBuilder b;
    b.input("x", {1, k});
    b.floats("w1", {k, m}, w1);
    b.node("MatMul", {"x", "w1"}, "h");
    b.floats("w2", {m, k}, w2);
    b.node("MatMul", {"h", "w2"}, "y");
    b.output("y");
    b.save(path);
  }
  const std::vector<float> x = random_values(k, 303);
  write_npy(x_path.string(), {1, k}, x.data());
  OnnxModel architecture = import_onnx(path.string(), {.weights = OnnxImportOptions::Weights::none});
  const Plan p = plan(architecture.net, {.batch = 1, .mode = Mode::infer, .threads = 1});
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    const int null = ::open("/dev/null", O_WRONLY);
    ::dup2(null, 2);
    ::execl(FOOTPRINT_CLI, FOOTPRINT_CLI, "run", path.c_str(), "--input", x_path.c_str(), "--output", y_path.c_str(),
            "--threads", "1", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  int status = 0;
  struct rusage usage {};
  ASSERT_EQ(::wait4(child, &status, 0, &usage), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "footprint run failed";
  const int64_t peak_rss = static_cast<int64_t>(usage.ru_maxrss) * 1024;
  std::printf("footprint run on two MatMul layers: plan %lld bytes, peak RSS %lld bytes (%.3fx the plan)\n",
              static_cast<long long>(p.total_bytes), static_cast<long long>(peak_rss),
              static_cast<double>(peak_rss) / static_cast<double>(p.total_bytes));
  EXPECT_LT(peak_rss, p.total_bytes * 115 / 100);
  std::vector<double> h(m, 0.0);
  for (int64_t r = 0; r < k; ++r)
    for (int64_t c = 0; c < m; ++c) h[c] += static_cast<double>(x[r]) * w1[r * m + c];
  const NpyArray y = read_npy(y_path.string());
  ASSERT_EQ(y.data.size(), static_cast<size_t>(k));
  double max_error = 0.0, max_y = 0.0;
  for (int64_t c = 0; c < k; ++c) {
    double want = 0.0;
    for (int64_t r = 0; r < m; ++r) want += h[r] * w2[r * k + c];
    max_error = std::max(max_error, std::abs(want - y.data[c]));
    max_y = std::max(max_y, std::abs(want));
  }
  EXPECT_LT(max_error, 1e-4 * max_y);
  for (const fs::path& f : {path, x_path, y_path}) fs::remove(f);
}

// Output and exit status of a shell command (stderr included).
std::pair<std::string, int> shell(const std::string& command) {
  std::string output;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (!pipe) return {"(popen failed)", -1};
  char buffer[4096];
  while (const size_t n = std::fread(buffer, 1, sizeof(buffer), pipe)) output.append(buffer, n);
  const int status = ::pclose(pipe);
  return {output, WIFEXITED(status) ? WEXITSTATUS(status) : -1};
}

// A model exported with dynamic H and W (torch.onnx dynamic_axes): plan takes its size from
// --size, run from the .npy input; without a size, the error names the dimension and the flag.
TEST(OnnxImport, CommandLineResolvesSymbolicSizes) {
  const fs::path path = temp_path("dynamic.onnx"), x_path = temp_path("dynamic_x.npy"), y_path = temp_path("dynamic_y.npy");
  {
    ModelBuilder b;
    b.symbolic_input("image", {1, 3, 0, 0}, {"batch", "", "height", "width"});
    b.conv("image", "conv", 3, 4, 3, 1, 1);
    b.node("Relu", {"conv"}, "relu");
    b.output("relu");
    b.save(path);
  }
  const std::string cli = FOOTPRINT_CLI;
  auto [message, status] = shell(cli + " plan " + path.string() + " --mode infer");
  EXPECT_NE(status, 0);
  EXPECT_NE(message.find("input 'image' dimension 2 (H) is the symbolic 'height'; give the input size: --size WxH"),
            std::string::npos)
      << message;
  std::tie(message, status) = shell(cli + " plan " + path.string() + " --mode infer --size 40x24 --json");
  EXPECT_EQ(status, 0) << message;
  EXPECT_NE(message.find("\"peak_bytes\""), std::string::npos) << message;
  std::tie(message, status) = shell(cli + " plan " + path.string() + " --mode infer --size 40x24");
  EXPECT_NE(message.find("input 3x24x40"), std::string::npos) << message;

  const std::vector<float> x = random_values(2 * 3 * 10 * 14, 9);
  write_npy(x_path.string(), {2, 3, 10, 14}, x.data());
  std::tie(message, status) = shell(cli + " run " + path.string() + " --input " + x_path.string() + " --output " +
                                    y_path.string() + " --threads 1");
  ASSERT_EQ(status, 0) << message;
  EXPECT_EQ(read_npy(y_path.string()).shape, (std::vector<int64_t>{2, 4, 10, 14}));
  OnnxModel m = import_onnx(path.string(), {.input_shape = Shape{3, 10, 14}});
  const Plan p = plan(m.net, {.batch = 2, .mode = Mode::infer, .threads = 1});
  Runtime runtime(m.net, p);
  m.restore_weights(runtime);
  std::copy(x.begin(), x.end(), runtime.input());
  runtime.forward(2, false);
  const NpyArray y = read_npy(y_path.string());
  for (size_t i = 0; i < y.data.size(); ++i) ASSERT_EQ(y.data[i], runtime.output()[i]) << i;
  for (const fs::path& f : {path, x_path, y_path}) fs::remove(f);
}

// Deferred weights go only into a runtime planned for the same net.
TEST(OnnxImport, DeferredWeightsRefuseAnotherNet) {
  const fs::path path = temp_path("vgg_deferred.onnx");
  vgg_style().save(path);
  OnnxModel m = import_onnx(path.string(), {.weights = OnnxImportOptions::Weights::deferred});
  Net other(Shape{3, 16, 16});
  other << conv(8, {.k = 3, .pad = 1});
  const Plan p = plan(other, {.batch = 1, .mode = Mode::infer, .threads = 1});
  Runtime runtime(other, p);
  try {
    m.restore_weights(runtime);
    ADD_FAILURE() << "restored into another net";
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("'conv0.weight' is missing"), std::string::npos) << e.what();
  }
  fs::remove(path);
}

}  // namespace
}  // namespace footprint

namespace footprint {
namespace {

// `footprint run` reads float32 C-order .npy only, and says what it found otherwise.
TEST(Npy, RoundTripsAndRefusesOtherLayouts) {
  const fs::path path = temp_path("a.npy");
  const std::vector<float> values = {1.5f, -2.0f, 3.25f, 0.0f, 7.0f, 8.0f};
  write_npy(path.string(), {2, 3}, values.data());
  const NpyArray a = read_npy(path.string());
  EXPECT_EQ(a.shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(a.data, values);
  auto write_header = [&](const std::string& dict) {
    std::string header = dict;
    header.append(128 - 10 - header.size() - 1, ' ');
    header += '\n';
    std::ofstream out(path, std::ios::binary);
    out << std::string("\x93NUMPY\x01\x00", 8) << static_cast<char>(header.size()) << '\0' << header
        << std::string(48, '\0');
  };
  auto error = [&]() -> std::string {
    try {
      (void)read_npy(path.string());
    } catch (const IoError& e) {
      return e.what();
    }
    return "(no error)";
  };
  write_header("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }");
  EXPECT_NE(error().find("dtype '<f8' is not supported"), std::string::npos) << error();
  write_header("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }");
  EXPECT_NE(error().find("Fortran"), std::string::npos) << error();
  write_header("{'descr': '<f4', 'fortran_order': False, 'shape': (20, 3), }");
  EXPECT_NE(error().find("truncated"), std::string::npos) << error();
  // A header claiming 146 million floats in a tiny file is refused before anything is allocated
  // (fuzz_npy found it allocating 584 MB): the test would take seconds and the RSS would show it.
  write_header("{'descr': '<f4', 'fortran_order': False, 'shape': (6565, 22256), }");
  EXPECT_NE(error().find("the file has 12 (truncated file?)"), std::string::npos) << error();
  fs::remove(path);
}

}  // namespace
}  // namespace footprint
