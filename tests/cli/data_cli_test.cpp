// `footprint train --data folder:DIR` as a user runs it: a folder with a truncated JPEG, a text
// file named .png and an empty class trains to the end, naming what it skipped; the class names
// and normalisation saved with the model come back in `run` and `eval`.
#include "testing/cli_runner.hpp"
#include "testing/png_writer.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include <unistd.h>

namespace {

using Result = footprint::testing::CommandResult;
using footprint::testing::run_cli;

namespace fs = std::filesystem;

fs::path fresh_dir(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("footprint_data_cli_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

using footprint::testing::write_pattern_jpeg;
using footprint::testing::write_pattern_png;

void write_jpeg(const fs::path& path, int w, int h, uint8_t base, bool truncated) {
  write_pattern_jpeg(path, w, h, base);
  if (truncated) fs::resize_file(path, fs::file_size(path) / 2);
}

// DIR/train/{bird,cat,dog,empty} and DIR/test/{bird,cat,dog,empty}: images of several sizes
// (resized to the net's 12x12), a truncated JPEG, a text file named .png, an empty class.
fs::path make_folder(const std::string& name) {
  const fs::path dir = fresh_dir(name);
  for (const char* part : {"train", "test"}) {
    for (const char* c : {"bird", "cat", "dog", "empty"}) fs::create_directories(dir / part / c);
    const int n = std::string(part) == "train" ? 6 : 2;
    for (int i = 0; i < n; ++i) {
      write_pattern_png(dir / part / "bird" / ("b" + std::to_string(i) + ".png"), 20 + i, 16, 3, static_cast<uint8_t>(10 + i));
      write_jpeg(dir / part / "cat" / ("c" + std::to_string(i) + ".jpg"), 30, 24 + i, static_cast<uint8_t>(30 + i), false);
      write_pattern_png(dir / part / "dog" / ("d" + std::to_string(i) + ".png"), 12, 12, 1, static_cast<uint8_t>(90 + i));
    }
  }
  write_jpeg(dir / "train" / "cat" / "broken.jpg", 64, 48, 50, /*truncated=*/true);
  std::ofstream(dir / "train" / "dog" / "fake.png") << "this is not an image\n";
  return dir;
}

const char* kNet = "input 3 12 12\nconv 4 k=3 pad=1\nrelu\nmaxpool k=2\nfc 4\nloss softmax_xent\n";

TEST(DataCli, AFolderWithBrokenFilesTrainsToTheEndNamingWhatItSkipped) {
  const fs::path dir = make_folder("broken");
  const fs::path net = dir / "small.net";
  std::ofstream(net) << kNet;
  const fs::path model = dir / "small.fpm", report = dir / "report.json";
  const Result r = run_cli("train " + net.string() + " --data folder:" + dir.string() +
                           " --batch 4 --epochs 3 --threads 2 --loader-threads 2 --save " +
                           model.string() + " --report " + report.string());
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("fake.png"), std::string::npos) << r.output;    // found when indexing
  EXPECT_NE(r.output.find("broken.jpg"), std::string::npos) << r.output;  // found when decoded
  EXPECT_NE(r.output.find("empty class"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("classes: 0 bird, 1 cat, 2 dog, 3 empty"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("epoch 3:"), std::string::npos) << r.output;
  std::ifstream in(report);
  const nlohmann::json doc = nlohmann::json::parse(in);
  EXPECT_EQ(doc["tracked_peak_bytes"], doc["planned_bytes"]);
  EXPECT_EQ(doc["prefetch_batches"], 2);
  EXPECT_GE(doc["skipped_samples"].get<int64_t>(), 1);  // the truncated JPEG, named once
  EXPECT_EQ(doc["epochs"].size(), 3u);
  fs::remove_all(dir);
}

TEST(DataCli, ClassNamesAndNormalisationTravelToRunAndEval) {
  const fs::path dir = make_folder("labels");
  const fs::path net = dir / "small.net";
  std::ofstream(net) << kNet;
  const fs::path model = dir / "small.fpm";
  ASSERT_EQ(run_cli("train " + net.string() + " --data folder:" + dir.string() +
                    " --batch 4 --steps 6 --threads 1 --save " + model.string()).status, 0);
  const Result run = run_cli("run " + model.string() + " --input " + (dir / "test" / "dog" / "d0.png").string() +
                             " --output " + (dir / "out.npy").string() + " --softmax");
  ASSERT_EQ(run.status, 0) << run.output;
  const bool named = run.output.find("sample 0: bird (probability") != std::string::npos ||
                     run.output.find("sample 0: cat (probability") != std::string::npos ||
                     run.output.find("sample 0: dog (probability") != std::string::npos ||
                     run.output.find("sample 0: empty (probability") != std::string::npos;
  EXPECT_TRUE(named) << run.output;
  const Result eval = run_cli("eval " + model.string() + " --data folder:" + dir.string());
  ASSERT_EQ(eval.status, 0) << eval.output;
  EXPECT_NE(eval.output.find("(6 samples): accuracy"), std::string::npos) << eval.output;
  fs::remove_all(dir);
}

TEST(DataCli, BadDataSpecsSayWhatWasExpected) {
  const fs::path dir = fresh_dir("specs");
  const fs::path net = dir / "small.net";
  std::ofstream(net) << kNet;
  const Result missing = run_cli("train " + net.string() + " --data folder:" + (dir / "nothing").string() + " --steps 1");
  EXPECT_NE(missing.status, 0);
  EXPECT_NE(missing.output.find("nothing"), std::string::npos) << missing.output;
  const Result npy = run_cli("train " + net.string() + " --data npy:only_one.npy --steps 1");
  EXPECT_NE(npy.status, 0);
  EXPECT_NE(npy.output.find("npy:X.npy,Y.npy"), std::string::npos) << npy.output;
  fs::remove_all(dir);
}

}  // namespace
