// The plan's promise held to the whole process: each case runs `footprint train` (or `footprint
// run` on a saved model) in a fresh process, which restarts the peak resident size (VmHWM) just
// before the runtime allocates the plan; the growth from there to the end must stay within the
// plan's total, the bounded lines it names outside itself (Plan::outside) and 2 MiB. A kernel
// that allocated an untracked 4 MiB buffer per step would fail here.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include <sys/wait.h>
#include <unistd.h>

#include "testing/png_writer.hpp"

#include "footprint/model_io.hpp"
#include "footprint/npy.hpp"
#include "testing/nets.hpp"
#include "testing/sanitizers.hpp"

namespace {

using footprint::testing::net_path;

constexpr int64_t kMarginBytes = int64_t{2} << 20;

struct Growth {
  int64_t planned = 0, outside = 0, rss_growth = -1;
};

std::string temp_file(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("footprint_rss_" + std::to_string(getpid()) + "_" + name))
      .string();
}

// Runs `footprint COMMAND ARGS --report R` and reads the figures from R.
Growth in_fresh_process(const std::string& command_and_args) {
  const std::string report = temp_file("report.json");
  const std::string command =
      std::string(FOOTPRINT_CLI) + " " + command_and_args + " --report " + report + " >/dev/null 2>&1";
  EXPECT_EQ(std::system(command.c_str()), 0) << command;
  std::ifstream in(report);
  const nlohmann::json doc = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  std::filesystem::remove(report);
  if (doc.is_discarded()) return {};
  return {doc.value("planned_bytes", int64_t{0}), doc.value("outside_bytes", int64_t{0}),
          doc.value("rss_growth_bytes", int64_t{-1})};
}

Growth train_in_fresh_process(const std::string& args) {
  return in_fresh_process("train " + args + " --data synthetic --steps 3");
}

// reused_bytes: how much of the plan may fit in pages the process already had. None when
// nothing was freed just before the runtime; `run` lets go of a saved model's optimizer state
// there, and glibc, having raised its mmap threshold on freeing a large block, serves the
// runtime's smaller blocks from those heap pages (up to 134 KB measured), which do not grow it.
void expect_within_the_plan(const Growth& g, int64_t reused_bytes = 0) {
  ASSERT_GE(g.rss_growth, 0) << "no rss_growth_bytes in the report (peak not restartable?)";
  EXPECT_GT(g.planned, 0);
  EXPECT_GE(g.rss_growth, g.planned - reused_bytes) << "the arena is filled on allocation, so all of it is resident";
  EXPECT_LE(g.rss_growth, g.planned + g.outside + kMarginBytes)
      << "plan " << g.planned << " B + outside " << g.outside << " B + 2 MiB, measured growth " << g.rss_growth
      << " B";
}

TEST(ProcessMemory, TrainingGrowsByThePlanAndItsNamedLinesOnly) {
  FP_SKIP_UNDER_ASAN();
  const std::string nets[] = {
      net_path("six-block-512"), net_path("lenet"), net_path("fashion-cnn"),
      net_path("resnet-block"), net_path("inception-block"),
      net_path("vgg19-style") + " --loss mse --size 96x96",
  };
  for (const std::string& net : nets) {
    for (int batch : {1, 8}) {
      for (int threads : {1, 2}) {
        const std::string args =
            net + " --batch " + std::to_string(batch) + " --threads " + std::to_string(threads);
        SCOPED_TRACE(args);
        expect_within_the_plan(train_in_fresh_process(args));
      }
    }
  }
}

// `footprint run` on a model saved by `train --save` (with Adam's state, which run lets go of
// before the runtime exists) and on its ONNX export (weights read from the file straight into
// the runtime): the same promise, for every reference net at batch 1 and 8, 1 and 2 threads.
TEST(ProcessMemory, RunningASavedModelGrowsByThePlanAndItsNamedLinesOnly) {
  FP_SKIP_UNDER_ASAN();
  struct Case {
    std::string net, train_flags;
  };
  const Case cases[] = {
      {"six-block-512", ""}, {"lenet", ""}, {"fashion-cnn", ""}, {"resnet-block", ""}, {"inception-block", ""},
      {"vgg19-style", " --loss mse --size 96x96"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.net);
    const std::string model = temp_file(c.net + ".fpm"), onnx = temp_file(c.net + ".onnx");
    const std::string train = std::string(FOOTPRINT_CLI) + " train " + net_path(c.net) + c.train_flags +
                              " --data synthetic --steps 1 --optimizer adam --save " + model + " >/dev/null 2>&1";
    ASSERT_EQ(std::system(train.c_str()), 0) << train;
    const std::string to_onnx = std::string(FOOTPRINT_CLI) + " export " + model + " " + onnx + " >/dev/null 2>&1";
    ASSERT_EQ(std::system(to_onnx.c_str()), 0) << to_onnx;
    // The input as the saved net takes it (vgg19-style was trained at 96x96).
    const footprint::Shape in = footprint::parse_net(footprint::load_model(model).net_text, model).input_shape();
    for (int batch : {1, 8}) {
      std::vector<float> x(static_cast<size_t>(batch * in.n_elems()), 0.25f);
      const std::string input = temp_file("x.npy"), output = temp_file("y.npy");
      footprint::write_npy(input, {batch, in.c, in.h, in.w}, x.data());
      for (int threads : {1, 2}) {
        for (const std::string& file : {model, onnx}) {
          const std::string args = file + " --input " + input + " --output " + output + " --threads " +
                                   std::to_string(threads);
          SCOPED_TRACE(args);
          expect_within_the_plan(in_fresh_process("run " + args), /*reused_bytes=*/int64_t{1} << 20);
        }
      }
      std::filesystem::remove(input);
      std::filesystem::remove(output);
    }
    std::filesystem::remove(model);
    std::filesystem::remove(onnx);
  }
}

// Training read from an image folder through the plan's data ring: the ring is in the plan, the
// loader threads' decoding scratch and stacks are named lines, and the folder's index and the
// epoch's order are the data held; nothing else grows. 120 PNGs of 40x36 (resized to 28x28).
TEST(ProcessMemory, TrainingFromAnImageFolderGrowsByThePlanAndItsNamedLinesOnly) {
  FP_SKIP_UNDER_ASAN();
  namespace fs = std::filesystem;
  const fs::path dir = temp_file("folder");
  fs::remove_all(dir);
  for (int c = 0; c < 10; ++c) {
    const fs::path class_dir = dir / "train" / ("class" + std::to_string(c));
    fs::create_directories(class_dir);
    for (int i = 0; i < 12; ++i) {
      std::vector<uint8_t> pixels(40 * 36);
      for (size_t k = 0; k < pixels.size(); ++k) pixels[k] = static_cast<uint8_t>(c * 20 + i + k * 7 % 31);
      ASSERT_TRUE(stbi_write_png((class_dir / (std::to_string(i) + ".png")).c_str(), 40, 36, 1, pixels.data(), 40));
    }
  }
  for (int threads : {1, 2}) {
    for (const char* prefetch : {"0", "2"}) {
      const std::string args = net_path("fashion-cnn") + " --data folder:" + dir.string() +
                               " --val-split 0.2 --batch 8 --steps 6 --loader-threads 2 --prefetch " +
                               prefetch + " --threads " + std::to_string(threads);
      SCOPED_TRACE(args);
      expect_within_the_plan(in_fresh_process("train " + args));
    }
  }
  fs::remove_all(dir);
}

}  // namespace
