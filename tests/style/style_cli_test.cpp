// `footprint style` end to end on a small VGG-shaped ONNX model generated here: 10 L-BFGS
// iterations lower the loss and write the PNG atomically; --plan --json, --fit, a forced tiling
// and a missing model behave as documented.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <regex>
#include <string>
#include <vector>

#include "footprint/image.hpp"
#include "testing/onnx_builder.hpp"

namespace footprint {
namespace {

namespace fs = std::filesystem;

fs::path temp_dir() {
  static const fs::path dir = [] {
    fs::path d = fs::temp_directory_path() / ("footprint_style_" + std::to_string(::getpid()));
    fs::create_directories(d);
    return d;
  }();
  return dir;
}

// VGG-19's feature layout (blocks of 2, 2, 4, 4 convs and one of block 5) at small widths,
// with exporter-style node names, so the CLI must find relu1_1 .. conv4_2 by position.
void write_small_vgg(const fs::path& path) {
  ModelBuilder b;
  b.input("image", {1, 3, 64, 64});
  const int widths[] = {4, 6, 8, 8, 8};
  const int convs[] = {2, 2, 4, 4, 1};
  std::string x = "image";
  int64_t in_c = 3;
  int id = 0;
  uint32_t seed = 1;
  for (int block = 0; block < 5; ++block) {
    for (int i = 0; i < convs[block]; ++i) {
      const std::string conv = "/features/" + std::to_string(id++) + "/Conv";
      b.weight(conv + ".W", {widths[block], in_c, 3, 3}, seed++, 0.4f);
      b.weight(conv + ".B", {widths[block]}, seed++, 0.05f);
      auto& n = b.node("Conv", {x, conv + ".W", conv + ".B"}, conv);
      ModelBuilder::ints(n, "kernel_shape", {3, 3});
      ModelBuilder::ints(n, "pads", {1, 1, 1, 1});
      x = "/features/" + std::to_string(id++) + "/Relu";
      b.node("Relu", {conv}, x);
      in_c = widths[block];
    }
    if (block == 4) break;
    const std::string pool = "/features/" + std::to_string(id++) + "/MaxPool";
    auto& p = b.node("MaxPool", {x}, pool);
    ModelBuilder::ints(p, "kernel_shape", {2, 2});
    ModelBuilder::ints(p, "strides", {2, 2});
    x = pool;
  }
  b.output(x);
  b.save(path);
}

void write_pattern(const fs::path& path, int64_t w, int64_t h, int kind) {
  Image image{.width = w, .height = h, .channels = 3};
  image.pixels.resize(static_cast<size_t>(w * h * 3));
  for (int64_t i = 0; i < w * h * 3; ++i) {
    const int64_t x = i / 3 % w, y = i / 3 / w;
    image.pixels[static_cast<size_t>(i)] =
        static_cast<uint8_t>(kind == 0 ? (x * 4 + y * 2 + i % 3 * 60) % 256 : ((x / 5 + y / 5) % 2) * 250);
  }
  save_image(path.string(), image);
}

struct Result {
  int status;
  std::string output;
};

Result cli(const std::string& args) {
  // A line per iteration (not every few seconds), so the losses can be read back.
  const std::string command =
      "FOOTPRINT_PROGRESS_SECONDS=0 " + std::string(FOOTPRINT_CLI) + " style " + args + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  std::string out;
  char buffer[4096];
  while (size_t n = fread(buffer, 1, sizeof buffer, pipe)) out.append(buffer, n);
  const int status = pclose(pipe);
  return {WEXITSTATUS(status), out};
}

class StyleCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    write_small_vgg(temp_dir() / "vgg.onnx");
    write_pattern(temp_dir() / "content.png", 64, 64, 0);
    write_pattern(temp_dir() / "style.png", 48, 40, 1);
  }
  static std::string inputs() {
    const fs::path d = temp_dir();
    return "--content " + (d / "content.png").string() + " --style " + (d / "style.png").string() +
           " --model " + (d / "vgg.onnx").string() + " --threads 2";
  }
};

std::vector<double> losses(const std::string& output) {
  std::vector<double> values;
  const std::regex loss(R"(loss ([0-9.eE+-]+))");
  for (auto it = std::sregex_iterator(output.begin(), output.end(), loss); it != std::sregex_iterator(); ++it)
    values.push_back(std::stod((*it)[1]));
  return values;
}

TEST_F(StyleCli, TenLbfgsIterationsLowerTheLossAndWriteThePng) {
  const fs::path out = temp_dir() / "out.png";
  const Result r = cli(inputs() + " --out " + out.string() + " --iterations 10 --style-weight 100");
  ASSERT_EQ(r.status, 0) << r.output;
  const std::vector<double> l = losses(r.output);
  ASSERT_EQ(l.size(), 10u) << r.output;
  EXPECT_LT(l.back(), l.front()) << r.output;
  const Image image = load_image(out.string(), 3, 1 << 20);
  EXPECT_EQ(image.width, 64);
  EXPECT_EQ(image.height, 64);
  EXPECT_FALSE(fs::exists(out.string() + ".tmp"));
}

TEST_F(StyleCli, PlanJsonFitAndForcedTiles) {
  Result r = cli(inputs() + " --plan --json --size 96x64");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("\"peak_bytes\""), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("\"tiles\": 1"), std::string::npos) << r.output;

  r = cli(inputs() + " --fit 64M --size 300x200");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("largest output that fits"), std::string::npos) << r.output;

  // A budget below the untiled plan tiles the image, and the run still writes its output.
  const fs::path out = temp_dir() / "tiled.png";
  r = cli(inputs() + " --size 256x256 --iterations 2 --optimizer adam --memory-budget 8M --out " +
          out.string());
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find(" tiles"), std::string::npos) << r.output;
  EXPECT_TRUE(fs::exists(out));
}

TEST_F(StyleCli, MissingModelSaysWhereToGetOne) {
  const fs::path d = temp_dir();
  const Result r = cli("--content " + (d / "content.png").string() + " --style " +
                       (d / "style.png").string() + " --model " + (d / "nope.onnx").string() +
                       " --out " + (d / "x.png").string());
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.output.find("export_vgg19_onnx.py"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace footprint
