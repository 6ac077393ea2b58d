// Data-parallel training over MPI, run for real: tests/dist/dist_driver under
// `mpirun -np 2` against the same driver as one process. Two ranks give one process's weights
// within float rounding, two runs of two ranks give the same bits, every rank's tracked peak is
// its plan (the driver checks), a rank killed or stopped mid-run ends the job with a message
// well within a minute, and a run resumed from its last checkpoint ends where the uninterrupted
// one does.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "footprint/data.hpp"
#include "footprint/image.hpp"
#include "footprint/model_io.hpp"
#include "testing/nets.hpp"
#include "testing/png_writer.hpp"

namespace footprint {
namespace {

namespace fs = std::filesystem;

struct Ran {
  int status = -1;  // exit status, or 128 + signal
  std::string output;
  double seconds = 0.0;
};

// Runs a shell command under `timeout`, stdout and stderr together.
Ran run(const std::string& command, int timeout_seconds = 120) {
  const auto start = std::chrono::steady_clock::now();
  const std::string full = "timeout -k 5 " + std::to_string(timeout_seconds) + " " + command + " 2>&1";
  Ran r;
  FILE* pipe = popen(full.c_str(), "r");
  if (!pipe) return r;
  char buffer[4096];
  while (size_t n = fread(buffer, 1, sizeof buffer, pipe)) r.output.append(buffer, n);
  const int status = pclose(pipe);
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return r;
}

bool have_mpirun() { return ::access(FOOTPRINT_MPIEXEC, X_OK) == 0; }

std::string mpirun(int ranks) {
  // As root (CI) Open MPI wants to be told; more ranks than cores is fine for a test. Open MPI
  // leaves its own allocations to the end of the process (LeakSanitizer reports them in the
  // ASan build, scripts/test-sanitize.sh): leaks are not looked for in these runs only;
  // address errors still stop them.
  // In containers without ptrace rights Open MPI's single-copy shared-memory transfers fail
  // ("Read -1, expected ..."); plain copies work everywhere.
  return "env ASAN_OPTIONS=detect_leaks=0:halt_on_error=1 "
         "OMPI_MCA_btl_vader_single_copy_mechanism=none " + std::string(FOOTPRINT_MPIEXEC) +
         " --allow-run-as-root --oversubscribe -x ASAN_OPTIONS -np " + std::to_string(ranks) + " ";
}

const std::string kCli = FOOTPRINT_CLI;

const std::string kDriver = FOOTPRINT_DIST_DRIVER;

std::vector<float> read_floats(const fs::path& path) {
  std::ifstream file(path, std::ios::binary);
  std::vector<float> v(fs::exists(path) ? fs::file_size(path) / 4 : 0);
  file.read(reinterpret_cast<char*>(v.data()), static_cast<std::streamsize>(v.size() * 4));
  return v;
}

double relative_difference(const std::vector<float>& a, const std::vector<float>& b) {
  double diff = 0.0, scale = 0.0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    diff = std::max(diff, std::abs(static_cast<double>(a[i]) - b[i]));
    scale = std::max(scale, std::abs(static_cast<double>(a[i])));
  }
  return diff / scale;
}

class Dist : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!have_mpirun()) GTEST_SKIP() << "no mpirun (" << FOOTPRINT_MPIEXEC << "): install openmpi-bin";
    dir_ = fs::temp_directory_path() /
           ("footprint-dist-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  // LeNet, global batch 64, SGD: on Fashion-MNIST when Debian's package is there, else on
  // synthetic samples.
  std::string lenet(int64_t steps) const {
    const bool fashion = fs::exists(kFashionMnistDir);
    return kDriver + " --net " + testing::net_path("lenet") + " --data " +
           (fashion ? "fashion" : "synthetic") + " --batch 64 --steps " + std::to_string(steps) +
           " --lr 0.05 --threads 1";
  }
  fs::path dir_;
};

TEST_F(Dist, TwoRanksGiveOneProcesssWeightsAndRepeatBitForBit) {
  const Ran one = run(lenet(100) + " --out " + path("one.bin"));
  ASSERT_EQ(one.status, 0) << one.output;
  EXPECT_NE(one.output.find("rank 0 of 1: 100 steps"), std::string::npos) << one.output;
  const Ran a = run(mpirun(2) + lenet(100) + " --out " + path("a.bin"));
  ASSERT_EQ(a.status, 0) << a.output;
  const Ran b = run(mpirun(2) + lenet(100) + " --out " + path("b.bin"));
  ASSERT_EQ(b.status, 0) << b.output;
  // The driver exits non-zero when a rank's tracked peak is not its plan or the ranks'
  // weights differ; say so here too.
  for (int r = 0; r < 2; ++r)
    EXPECT_NE(a.output.find("rank " + std::to_string(r) + " of 2: 100 steps"), std::string::npos) << a.output;
  EXPECT_NE(a.output.find("ranks whose weights differ from rank 0's: 0"), std::string::npos) << a.output;
  const std::vector<float> w1 = read_floats(path("one.bin")), wa = read_floats(path("a.bin")),
                           wb = read_floats(path("b.bin"));
  ASSERT_EQ(w1.size(), 61706u);  // LeNet's parameters
  ASSERT_EQ(wa.size(), w1.size());
  EXPECT_TRUE(wa == wb) << "two runs of two ranks differ";
  const double diff = relative_difference(wa, w1);
  std::printf("two ranks against one process after 100 steps: largest difference %.3g of the "
              "largest weight\n", diff);
  EXPECT_LT(diff, 1e-5);
  EXPECT_NE(wa, w1) << "the sums were made in the same order: the test tells nothing";
}

TEST_F(Dist, AKilledRankEndsTheJobAndTheRunResumesFromItsCheckpoint) {
  const Ran whole = run(mpirun(2) + lenet(60) + " --out " + path("whole.bin"));
  ASSERT_EQ(whole.status, 0) << whole.output;
  // Rank 1 is killed at step 30; rank 0 wrote a checkpoint at step 20. (--steps counts the
  // whole run, the checkpoint's steps included.)
  const Ran killed = run(mpirun(2) + lenet(60) + " --save " + path("ckpt.fpm") +
                         " --checkpoint-every 20 --kill-rank 1 --kill-step 30");
  std::printf("killed rank: the job ended in %.1f s with status %d\n", killed.seconds, killed.status);
  EXPECT_NE(killed.status, 0) << killed.output;
  EXPECT_NE(killed.status, 124) << "the job hung until the test's timeout:\n" << killed.output;
  EXPECT_LT(killed.seconds, 60.0);
  EXPECT_FALSE(killed.output.empty()) << "the job ended without a word";
  ASSERT_TRUE(fs::exists(path("ckpt.fpm")));
  const Ran resumed = run(mpirun(2) + kDriver + " --resume " + path("ckpt.fpm") +
                          " --data " + (fs::exists(kFashionMnistDir) ? "fashion" : "synthetic") +
                          " --steps 60 --threads 1 --out " + path("resumed.bin"));
  ASSERT_EQ(resumed.status, 0) << resumed.output;
  EXPECT_NE(resumed.output.find("rank 0 of 2: 60 steps"), std::string::npos) << resumed.output;
  EXPECT_TRUE(read_floats(path("resumed.bin")) == read_floats(path("whole.bin")))
      << "resumed from step 20, the run ends elsewhere than the uninterrupted one";
}

TEST_F(Dist, AHangingRankTimesTheOthersOutWithAMessage) {
  // Rank 1 stops (SIGSTOP: alive, silent) at step 10; rank 0 waits 3 s, then ends the job.
  const Ran hung = run(mpirun(2) + lenet(40) + " --stop-rank 1 --stop-step 10 --timeout-ms 3000", 90);
  std::printf("hanging rank: the job ended in %.1f s with status %d\n", hung.seconds, hung.status);
  EXPECT_NE(hung.status, 0) << hung.output;
  EXPECT_NE(hung.status, 124) << "the job hung until the test's timeout:\n" << hung.output;
  EXPECT_LT(hung.seconds, 60.0);
  EXPECT_NE(hung.output.find("rank 0: no answer from the other ranks for 3 s"), std::string::npos)
      << hung.output;
}

TEST_F(Dist, BadInputOnEveryRankIsOneClearError) {
  // Three ranks cannot share a global batch of 2.
  const Ran r = run(mpirun(3) + lenet(5) + " --batch 2");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("every rank needs a sample a step"), std::string::npos) << r.output;
}

std::vector<float> model_weights(const std::string& path) {
  const SavedModel model = load_model(path);
  std::vector<float> weights;
  for (const SavedTensor& t : model.tensors) weights.insert(weights.end(), t.data.begin(), t.data.end());
  return weights;
}

// The command line as a user runs it: rank 0 alone prints and writes, the report names the
// ranks and splits the step time, every rank's tracked peak is its plan, and a run saved at
// step 12 and resumed with the same ranks ends on the uninterrupted run's bits.
TEST_F(Dist, TheCliTrainsOnTwoRanksAndResumes) {
  const std::string train = kCli + " train " + testing::net_path("lenet") +
                            " --data synthetic --batch 64 --threads 1 --lr 0.05";
  const Ran whole = run(mpirun(2) + train + " --steps 24 --save " + path("whole.fpm") +
                        " --report " + path("report.json"));
  ASSERT_EQ(whole.status, 0) << whole.output;
  size_t reports = 0;
  for (size_t at = whole.output.find("Memory report"); at != std::string::npos;
       at = whole.output.find("Memory report", at + 1))
    ++reports;
  EXPECT_EQ(reports, 1u) << "only rank 0 reports:\n" << whole.output;
  EXPECT_NE(whole.output.find("on every rank (2): the peak equals the plan"), std::string::npos)
      << whole.output;
  std::ifstream report_file(path("report.json"));
  const nlohmann::json report = nlohmann::json::parse(report_file);
  EXPECT_EQ(report["ranks"], 2);
  EXPECT_EQ(report["batch"], 64);
  EXPECT_EQ(report["rank_batch"], 32);
  EXPECT_EQ(report["tracked_equals_plan_on_every_rank"], true);
  EXPECT_GT(report["compute_seconds"].get<double>(), 0.0);
  EXPECT_GE(report["allreduce_wait_seconds"].get<double>(), 0.0);
  EXPECT_LE(report["allreduce_wait_seconds"].get<double>(), report["step_seconds"].get<double>());
  EXPECT_GE(report["idle_seconds"].get<double>(), 0.0);
  EXPECT_NEAR(report["compute_seconds"].get<double>() + report["allreduce_wait_seconds"].get<double>() +
                  report["idle_seconds"].get<double>(),
              report["step_seconds"].get<double>(), 1e-6);

  const Ran first = run(mpirun(2) + train + " --steps 12 --save " + path("part.fpm"));
  ASSERT_EQ(first.status, 0) << first.output;
  const Ran rest = run(mpirun(2) + kCli + " train --resume " + path("part.fpm") +
                       " --data synthetic --threads 1 --steps 24 --save " + path("resumed.fpm"));
  ASSERT_EQ(rest.status, 0) << rest.output;
  EXPECT_NE(rest.output.find("resuming"), std::string::npos) << rest.output;
  const std::vector<float> a = model_weights(path("whole.fpm")), b = model_weights(path("resumed.fpm"));
  ASSERT_FALSE(a.empty());
  EXPECT_TRUE(a == b) << "resumed at step 12, the run ends elsewhere than the uninterrupted one";
  EXPECT_FALSE(a == model_weights(path("part.fpm")));
}

// --sync-bn as a user runs it: two ranks train a net with batch norm to one process's weights.
// --no-winograd: see run_ranks in dist_local_test.cpp (sums in another order, 1e-5 allowed).
TEST_F(Dist, SyncBnOnTwoRanksTrainsWhatOneProcessDoes) {
  const std::string train = kCli + " train " + testing::net_path("fashion-cnn") +
                            " --data synthetic --batch 32 --steps 4 --lr 0.05 --threads 1 --no-winograd";
  const Ran one = run(train + " --save " + path("one.fpm"));
  ASSERT_EQ(one.status, 0) << one.output;
  const Ran two = run(mpirun(2) + train + " --sync-bn --save " + path("two.fpm") + " --report " +
                      path("report.json"));
  ASSERT_EQ(two.status, 0) << two.output;
  const std::vector<float> a = model_weights(path("one.fpm")), b = model_weights(path("two.fpm"));
  ASSERT_EQ(a.size(), b.size());
  EXPECT_LT(relative_difference(a, b), 1e-5);
  std::ifstream report_file(path("report.json"));
  const nlohmann::json report = nlohmann::json::parse(report_file);
  EXPECT_EQ(report["sync_batch_norm"], true);
  EXPECT_EQ(report["tracked_equals_plan_on_every_rank"], true);
}

// Tile-parallel style transfer as a user runs it: two ranks share the tiles and the L-BFGS
// state and rank 0 writes the single process's image (within one level per pixel); --plan
// --ranks 2 is the plan each of them holds.
TEST_F(Dist, TwoRanksStyleTheSingleProcesssImage) {
  // VGG's five blocks and receptive field, narrow (seconds, not minutes).
  std::ofstream(path("vgg.net")) << "input 3 64 64\n"
      "conv 4 k=3 pad=1 name=conv1_1\nrelu name=relu1_1\nmaxpool k=2\n"
      "conv 6 k=3 pad=1 name=conv2_1\nrelu name=relu2_1\nmaxpool k=2\n"
      "conv 8 k=3 pad=1 name=conv3_1\nrelu name=relu3_1\nmaxpool k=2\n"
      "conv 8 k=3 pad=1 name=conv4_1\nrelu name=relu4_1\nconv 8 k=3 pad=1 name=conv4_2\n"
      "relu name=relu4_2\nmaxpool k=2\nconv 8 k=3 pad=1 name=conv5_1\nrelu name=relu5_1\n";
  testing::write_pattern_png(path("content.png"), 96, 416, 3, 40);
  testing::write_pattern_png(path("style.png"), 64, 64, 3, 200);
  const std::string style = kCli + " style --content " + path("content.png") + " --style " +
                            path("style.png") + " --model " + path("vgg.net") +
                            " --iterations 3 --style-weight 100 --threads 1";
  const Ran one = run(style + " --out " + path("one.png"));
  ASSERT_EQ(one.status, 0) << one.output;
  const Ran two = run(mpirun(2) + style + " --out " + path("two.png"));
  ASSERT_EQ(two.status, 0) << two.output;
  EXPECT_NE(two.output.find("shared by 2 ranks"), std::string::npos) << two.output;
  const Image a = load_image(path("one.png"), 3, 1 << 24), b = load_image(path("two.png"), 3, 1 << 24);
  const Image content = load_image(path("content.png"), 3, 1 << 24);
  ASSERT_EQ(a.pixels.size(), b.pixels.size());
  int diff = 0, moved = 0;
  for (size_t i = 0; i < a.pixels.size(); ++i) {
    diff = std::max(diff, std::abs(a.pixels[i] - b.pixels[i]));
    moved = std::max(moved, std::abs(a.pixels[i] - content.pixels[i]));
  }
  EXPECT_LE(diff, 1);
  EXPECT_GT(moved, 10) << "the image did not move: the comparison would be empty";

  const Ran plan = run(style + " --plan --json --ranks 2");
  ASSERT_EQ(plan.status, 0) << plan.output;
  const nlohmann::json p = nlohmann::json::parse(plan.output);
  EXPECT_EQ(p["ranks"], 2);
  EXPECT_GE(p["tiles"].get<int>(), 2);
}

}  // namespace
}  // namespace footprint
