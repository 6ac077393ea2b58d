// The footprint binary as a user runs it: exit codes, one-line errors, JSON and reports.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "footprint/npy.hpp"
#include "footprint/version.hpp"
#include "testing/cli_runner.hpp"
#include "testing/nets.hpp"

#include "testing/png_writer.hpp"

namespace {

using Result = footprint::testing::CommandResult;
using footprint::testing::run_cli;

using footprint::testing::net_path;

std::string temp_path(const std::string& name) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("footprint_cli_test_" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  return (dir / name).string();
}

void write(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

TEST(Cli, PlanSixBlockShowsTheParametersAndPeak) {
  const Result r = run_cli("plan " + net_path("six-block-512") + " --mode train --batch 1");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("Parameters: 344,398"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("Peak live: "), std::string::npos);
  EXPECT_NE(r.output.find("in place"), std::string::npos);
}

TEST(Cli, PlanJsonHasTheDocumentedFields) {
  const Result r = run_cli("plan " + net_path("lenet") + " --json --batch 4 --optimizer adam");
  ASSERT_EQ(r.status, 0) << r.output;
  const auto doc = nlohmann::json::parse(r.output);
  for (const char* key : {"peak_bytes", "params", "categories", "layers"}) EXPECT_TRUE(doc.contains(key)) << key;
  EXPECT_EQ(doc["params"], 61706);
  EXPECT_EQ(doc["categories"]["optimizer_state"], 2 * doc["categories"]["weight_grads"].get<int64_t>());
  for (const auto& layer : doc["layers"])
    for (const char* key : {"name", "op", "output_shape", "params", "activation_bytes", "workspace_bytes"})
      EXPECT_TRUE(layer.contains(key)) << key;
}

TEST(Cli, BadNetFileExitsWithStatus2AndOneLine) {
  const std::string path = temp_path("bad.net");
  write(path, "input 3 8 8\nconv 6 k=0\n");
  const Result r = run_cli("plan " + path);
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.output, "error: " + path + ":2: conv: k=0: kernel size must be at least 1\n");
}

TEST(Cli, VersionIsTheProjectVersion) {
  const Result r = run_cli("--version");
  ASSERT_EQ(r.status, 0) << r.output;
  // project(VERSION) in CMakeLists.txt, the binary, the library and the header agree.
  EXPECT_EQ(r.output, "footprint " FOOTPRINT_PROJECT_VERSION "\n");
  EXPECT_STREQ(footprint::version(), FOOTPRINT_PROJECT_VERSION);
  EXPECT_STREQ(FOOTPRINT_VERSION_STRING, FOOTPRINT_PROJECT_VERSION);
  EXPECT_EQ(std::string(FOOTPRINT_VERSION_STRING),
            std::to_string(FOOTPRINT_VERSION_MAJOR) + "." + std::to_string(FOOTPRINT_VERSION_MINOR) +
                "." + std::to_string(FOOTPRINT_VERSION_PATCH));
}

TEST(Cli, MissingFilesAndBadFlagsExitWithStatus2) {
  EXPECT_EQ(run_cli("plan /nonexistent.net").status, 2);
  EXPECT_EQ(run_cli("plan " + net_path("lenet") + " --batch 0").status, 2);
  EXPECT_EQ(run_cli("plan " + net_path("lenet") + " --optimizer sgdd").status, 2);
  EXPECT_EQ(run_cli("train " + net_path("lenet") + " --data nowhere").status, 2);
  EXPECT_EQ(run_cli("train " + net_path("lenet") + " --data mnist:/nonexistent").status, 2);
  EXPECT_EQ(run_cli("eval /nonexistent.fpm").status, 2);
  EXPECT_EQ(run_cli("frobnicate").status, 2);
  EXPECT_EQ(run_cli("").status, 2);
}

TEST(Cli, HelpOnEverySubcommand) {
  for (const char* sub : {"", "plan", "train", "eval"}) {
    const Result r = run_cli(std::string(sub) + " --help");
    EXPECT_EQ(r.status, 0) << sub;
    EXPECT_NE(r.output.find("Usage"), std::string::npos) << sub;
  }
}

TEST(Cli, TrainSyntheticReportsTrackedPeakEqualToPlan) {
  const std::string report = temp_path("report.json"), model = temp_path("model.fpm");
  const Result r = run_cli("train " + net_path("six-block-512") +
                       " --data synthetic --batch 1 --steps 3 --threads 2 --report " + report +
                       " --save " + model);
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("(equals the plan)"), std::string::npos) << r.output;
  std::ifstream in(report);
  const auto doc = nlohmann::json::parse(in);
  EXPECT_EQ(doc["planned_bytes"], doc["tracked_peak_bytes"]);
  EXPECT_GT(doc["peak_rss_bytes"].get<int64_t>(), 0);
  EXPECT_EQ(doc["steps"], 3);
  // The median of steps 2 and 3 lies within the run's total time.
  EXPECT_GT(doc["step_seconds_median"].get<double>(), 0.0);
  EXPECT_LT(doc["step_seconds_median"].get<double>(), doc["step_seconds"].get<double>());
  const Result eval = run_cli("eval " + model + " --data synthetic --batch 2");
  EXPECT_EQ(eval.status, 0) << eval.output;
  EXPECT_NE(eval.output.find("accuracy"), std::string::npos);
}

// --saved-dtype bf16 as a user gives it: a smaller plan, marked layers, training whose tracked
// peak is that plan, and an unknown type refused.
TEST(Cli, SavedDtypeBf16PlansSmallerAndTrainsAtItsPlan) {
  auto planned = [](const std::string& dtype) {
    const Result r = run_cli("plan " + net_path("fashion-cnn") +
                             " --json --batch 8 --threads 2 --saved-dtype " + dtype);
    EXPECT_EQ(r.status, 0) << r.output;
    return nlohmann::json::parse(r.output);
  };
  const auto f32 = planned("f32"), bf16 = planned("bf16");
  EXPECT_LT(bf16["total_bytes"].get<int64_t>(), f32["total_bytes"].get<int64_t>());
  EXPECT_EQ(bf16["options"]["saved_dtype"], "bf16");
  int marked = 0;
  for (const auto& layer : bf16["layers"]) marked += layer["saved_bf16"].get<bool>() ? 1 : 0;
  EXPECT_GT(marked, 0);
  const std::string report = temp_path("bf16_report.json");
  const Result r = run_cli("train " + net_path("fashion-cnn") +
                           " --data synthetic --batch 8 --steps 2 --threads 2 --saved-dtype bf16"
                           " --report " + report);
  ASSERT_EQ(r.status, 0) << r.output;
  std::ifstream in(report);
  const auto doc = nlohmann::json::parse(in);
  EXPECT_EQ(doc["planned_bytes"], bf16["total_bytes"]);
  EXPECT_EQ(doc["tracked_peak_bytes"], doc["planned_bytes"]);
  const Result bad = run_cli("plan " + net_path("lenet") + " --saved-dtype f16");
  EXPECT_EQ(bad.status, 2) << bad.output;
  EXPECT_NE(bad.output.find("--saved-dtype"), std::string::npos) << bad.output;
}

// --update-in-backward as a user sees it: a smaller plan (the option in its JSON), training at
// that plan whose losses and saved model are those of the plain run, and refusal with ranks.
TEST(Cli, UpdateInBackwardTrainsTheSameModelInASmallerPlan) {
  auto trained = [](const std::string& flag, const std::string& tag) {
    const std::string report = temp_path("uib_report" + tag + ".json");
    const std::string model = temp_path("uib_model" + tag + ".fpm");
    const Result r = run_cli("train " + net_path("fashion-cnn") +
                             " --data synthetic --batch 8 --steps 3 --threads 2 --optimizer adam"
                             " --report " + report + " --save " + model + flag);
    EXPECT_EQ(r.status, 0) << r.output;
    std::ifstream in(report);
    nlohmann::json doc = nlohmann::json::parse(in);
    const Result eval = run_cli("eval " + model + " --data synthetic --batch 8");
    EXPECT_EQ(eval.status, 0) << eval.output;
    doc["eval_output"] = eval.output.substr(eval.output.find(" on synthetic"));
    return doc;
  };
  const auto plain = trained("", "0"), fused = trained(" --update-in-backward", "1");
  EXPECT_LT(fused["planned_bytes"].get<int64_t>(), plain["planned_bytes"].get<int64_t>());
  EXPECT_EQ(fused["tracked_peak_bytes"], fused["planned_bytes"]);
  EXPECT_EQ(fused["epochs"][0]["train_loss"], plain["epochs"][0]["train_loss"]);
  EXPECT_EQ(fused["eval_output"], plain["eval_output"]);
  const Result p = run_cli("plan " + net_path("fashion-cnn") + " --json --update-in-backward");
  ASSERT_EQ(p.status, 0) << p.output;
  EXPECT_TRUE(nlohmann::json::parse(p.output)["options"]["update_in_backward"].get<bool>());
  const Result explained = run_cli("plan " + net_path("fashion-cnn") + " --explain --update-in-backward");
  EXPECT_NE(explained.output.find("updates in backward"), std::string::npos) << explained.output;
}

// Winograd as a user sees it: the plan names each conv's path (table and JSON), costs no bytes
// over --no-winograd, and trains at its plan.
TEST(Cli, WinogradPathIsPlannedShownAndTrainedAtItsPlan) {
  auto planned = [](const std::string& flags) {
    const Result r = run_cli("plan " + net_path("six-block-512") + " --json --batch 1 --threads 2" + flags);
    EXPECT_EQ(r.status, 0) << r.output;
    return nlohmann::json::parse(r.output);
  };
  const auto with = planned(""), without = planned(" --no-winograd");
  std::map<std::string, std::string> paths, paths_without;
  for (const auto& layer : with["layers"])
    if (layer.contains("path")) paths[layer["name"]] = layer["path"];
  for (const auto& layer : without["layers"])
    if (layer.contains("path")) paths_without[layer["name"]] = layer["path"];
  // Block 4's conv (24 -> 48 channels at 64x64) by Winograd, its weight gradient by GEMM; block
  // 1's (3 -> 6) by the direct loops either way.
  EXPECT_EQ(paths["conv9"], "winograd+gemm");
  EXPECT_EQ(paths_without["conv9"], "gemm");
  EXPECT_EQ(paths["conv0"], "direct");
  EXPECT_EQ(with["total_bytes"], without["total_bytes"]);
  const Result table = run_cli("plan " + net_path("six-block-512") + " --batch 1 --threads 2");
  EXPECT_NE(table.output.find("conv w+g"), std::string::npos) << table.output;
  const std::string report = temp_path("winograd_report.json");
  const Result r = run_cli("train " + net_path("six-block-512") +
                           " --data synthetic --batch 1 --steps 2 --threads 2 --report " + report);
  ASSERT_EQ(r.status, 0) << r.output;
  std::ifstream in(report);
  const auto doc = nlohmann::json::parse(in);
  EXPECT_EQ(doc["planned_bytes"], with["total_bytes"]);
  EXPECT_EQ(doc["tracked_peak_bytes"], doc["planned_bytes"]);
}

TEST(Cli, ProfileTimesEveryLayer) {
  const std::string report = temp_path("profile.json");
  const Result r = run_cli("train " + net_path("six-block-512") +
                       " --data synthetic --batch 1 --steps 2 --threads 2 --profile --report " +
                       report);
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("Time per layer"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("conv0"), std::string::npos) << r.output;
  std::ifstream in(report);
  const auto doc = nlohmann::json::parse(in);
  ASSERT_EQ(doc["layer_times"].size(), 19u);  // six blocks of three layers and the fc
  // Two training steps (no test set with synthetic data): two forwards and two backwards each
  // (the first conv's backward computes its weight gradient only), except that each tanh's
  // backward runs inside the average pool's after it (PlanOptions::fuse_pool_backward).
  for (const auto& layer : doc["layer_times"]) {
    EXPECT_EQ(layer["forward_calls"], 2) << layer;
    EXPECT_EQ(layer["backward_calls"], layer["op"] == "tanh" ? 0 : 2) << layer;
    EXPECT_GT(layer["forward_seconds"].get<double>(), 0.0) << layer;
  }
}

TEST(Cli, PlanOverTheMemoryLimitIsRefusedBeforeAllocating) {
  const Result r = run_cli("train " + net_path("six-block-512") +
                       " --data synthetic --batch 4 --steps 1 --memory-limit 50M");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.output.find("error: plan needs"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("the memory limit is 50.0 MiB; --batch 2 fits"), std::string::npos) << r.output;
  // Nothing ran: no memory report was printed.
  EXPECT_EQ(r.output.find("Memory report"), std::string::npos) << r.output;
}

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Interrupted and resumed (across an epoch boundary, with dropout, batchnorm and Adam) ends
// with the very same file as the uninterrupted run.
TEST(Cli, ResumedTrainingIsBitIdentical) {
  const std::string net = temp_path("small.net");
  write(net, "input 1 28 28\nconv 8 k=3\nbatchnorm\nrelu\nmaxpool k=2\ndropout p=0.3\nfc 10\n"
             "loss softmax_xent\n");
  const std::string whole = temp_path("whole.fpm"), half = temp_path("half.fpm"),
                    resumed = temp_path("resumed.fpm");
  // 1024 synthetic samples in batches of 256: 4 steps an epoch, so the resumed part crosses one.
  const std::string common = " --data synthetic --batch 256 --optimizer adam --threads 2";
  ASSERT_EQ(run_cli("train " + net + common + " --steps 10 --save " + whole).status, 0);
  ASSERT_EQ(run_cli("train " + net + common + " --steps 6 --checkpoint-every 2 --save " + half).status, 0);
  // --steps counts the whole run: the resumed run ends at step 10 as the uninterrupted one does.
  const Result r = run_cli("train --resume " + half + " --data synthetic --steps 10 --threads 2 --save " + resumed);
  ASSERT_EQ(r.status, 0) << r.output;
  const std::string a = read_all(whole), b = read_all(resumed);
  EXPECT_FALSE(a.empty());
  EXPECT_TRUE(a == b) << "resumed run differs from the uninterrupted one";
}

TEST(Cli, KilledDuringCheckpointsLeavesALoadableFile) {
  const std::string model = temp_path("killed.fpm");
  for (int attempt = 0; attempt < 3; ++attempt) {
    std::filesystem::remove(model);
    const std::string command = std::string(FOOTPRINT_CLI) + " train " + net_path("fashion-cnn") +
                                " --data synthetic --batch 2 --steps 100000 --checkpoint-every 1 "
                                "--threads 1 --save " + model + " >/dev/null 2>&1 & echo $!";
    FILE* pipe = popen(command.c_str(), "r");
    int pid = 0;
    ASSERT_EQ(fscanf(pipe, "%d", &pid), 1);
    pclose(pipe);
    for (int wait = 0; wait < 200 && !std::filesystem::exists(model); ++wait) usleep(50000);
    usleep(37000 * (attempt + 1));  // somewhere inside a later save
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    const Result eval = run_cli("eval " + model + " --data synthetic --batch 2");
    EXPECT_EQ(eval.status, 0) << eval.output;
  }
}

TEST(Cli, DivergingRunStopsNamingStepAndLayerAndKeepsTheLastCheckpoint) {
  const std::string net_path = temp_path("relu.net"), model = temp_path("diverged.fpm");
  write(net_path, "input 1 28 28\nconv 8 k=3 name=c1\nrelu\nconv 8 k=3 name=c2\nrelu\nfc 10\nloss mse\n");
  const Result r = run_cli("train " + net_path + " --data synthetic --batch 4 --steps 20 --lr 1e30 "
                       "--threads 1 --checkpoint-every 1 --save " + model);
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.output.find("error: step 2: the loss is not finite; first non-finite values: the "
                          "output of 'c2' (layer 2)"), std::string::npos) << r.output;
  const Result eval = run_cli("eval " + model + " --data synthetic --batch 4");
  EXPECT_EQ(eval.status, 0) << eval.output;  // step 1's checkpoint is intact
}

TEST(Cli, RunTakesAPngImage) {
  const std::string net = temp_path("tiny_rgb.net"), png = temp_path("x.png"), out = temp_path("y.npy");
  write(net, "input 3 8 8\nconv 4 k=3 pad=1\nrelu\nglobalavgpool\n");
  std::vector<unsigned char> rgb(12 * 10 * 3);
  for (size_t i = 0; i < rgb.size(); ++i) rgb[i] = static_cast<unsigned char>(i * 5);
  ASSERT_TRUE(stbi_write_png(png.c_str(), 12, 10, 3, rgb.data(), 12 * 3));  // resized to 8x8
  const Result r = run_cli("run " + net + " --input " + png + " --output " + out);
  ASSERT_EQ(r.status, 0) << r.output;
  const footprint::NpyArray y = footprint::read_npy(out);
  EXPECT_EQ(y.shape, (std::vector<int64_t>{1, 4}));  // C x 1 x 1 outputs are written as [N, C]
  const Result bad = run_cli("run " + net + " --input " + temp_path("missing.png") + " --output " + out);
  EXPECT_EQ(bad.status, 2);
  EXPECT_NE(bad.output.find("missing.png"), std::string::npos) << bad.output;
}

TEST(Cli, TrainWithoutLossIsRefused) {
  const Result r = run_cli("train " + net_path("vgg19-style") + " --data synthetic --steps 1");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.output.find("training needs a loss"), std::string::npos) << r.output;
}

}  // namespace
