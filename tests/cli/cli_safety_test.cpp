// No work lost, no silent surprises: every path a command writes is checked before it starts,
// Ctrl-C and SIGTERM save the run and say how to resume it (bit-identically), --resume says
// which flags the checkpoint fixes, numbers are checked one way everywhere, and a run that does
// not fit its memory (a limit, the machine's, or `ulimit -v`) is refused with a command that
// shows what fits, and that command runs.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <thread>

#include "testing/cli_runner.hpp"
#include "testing/nets.hpp"
#include "testing/png_writer.hpp"
#include "testing/sanitizers.hpp"

namespace {

using Result = footprint::testing::CommandResult;
using footprint::testing::run_cli;
using footprint::testing::shell;

namespace fs = std::filesystem;
using footprint::testing::net_path;

// A command the CLI printed ("footprint plan ..."), run with the binary under test.
Result run_printed(const std::string& command) {
  EXPECT_EQ(command.rfind("footprint ", 0), 0u) << command;
  return run_cli(command.substr(std::string("footprint ").size()));
}

std::string temp_path(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("footprint_safety_" + std::to_string(getpid()));
  fs::create_directories(dir);
  return (dir / name).string();
}

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

int count_lines(const std::string& text) {
  return static_cast<int>(std::count(text.begin(), text.end(), '\n'));
}

// Dropout, batch norm and Adam: what a resumed run must restore shows in its weights.
std::string small_net() {
  const std::string path = temp_path("small.net");
  std::ofstream(path) << "input 1 28 28\nconv 8 k=3\nbatchnorm\nrelu\nmaxpool k=2\ndropout p=0.3\n"
                         "fc 10\nloss softmax_xent\n";
  return path;
}

// A CLI process of our own (so its exit status can be waited for), output to `log`.
struct Background {
  pid_t pid = -1;
  int wait_status() {
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
};

Background start(const std::string& args, const std::string& log) {
  const std::string command = "FOOTPRINT_PROGRESS_SECONDS=0 exec " + std::string(FOOTPRINT_CLI) +
                              " " + args + " >" + log + " 2>&1";
  const pid_t pid = fork();
  if (pid == 0) {
    execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  return {pid};
}

// Waits until the log shows `text` (a progress line), at most 60 s.
bool wait_for(const std::string& log, const std::string& text) {
  for (int i = 0; i < 1200; ++i) {
    if (read_all(log).find(text) != std::string::npos) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

TEST(CliSafety, AnOutputPathThatCannotBeWrittenIsRefusedBeforeAnyWork) {
  const std::string missing = temp_path("no_such_dir") + "/out";
  const std::string dir = fs::path(missing).parent_path().string();
  const std::string net = net_path("lenet");
  const std::string image = temp_path("in.png");
  std::vector<unsigned char> rgb(8 * 8 * 3, 100);
  ASSERT_TRUE(stbi_write_png(image.c_str(), 8, 8, 3, rgb.data(), 8 * 3));
  const std::string style = "style --content " + image + " --style " + image + " --model " + net;
  const std::pair<std::string, std::string> cases[] = {
      {"train " + net + " --data synthetic --steps 1 --save " + missing + ".fpm", "--save " + missing + ".fpm"},
      {"train " + net + " --data synthetic --steps 1 --report " + missing + ".json", "--report " + missing + ".json"},
      {"plan " + net + " --svg " + missing + ".svg", "--svg " + missing + ".svg"},
      {"run " + net + " --input " + temp_path("none.npy") + " --output " + missing + ".npy", "--output " + missing + ".npy"},
      {style + " --out " + missing + ".png", "--out " + missing + ".png"},
  };
  for (const auto& [args, flag_and_path] : cases) {
    const Result r = run_cli(args);
    EXPECT_EQ(r.status, 2) << args;
    // One line, and nothing before it: no data loaded, no step run.
    EXPECT_EQ(r.output, "error: " + flag_and_path + ": directory '" + dir +
                            "' does not exist; create it first\n") << args;
  }
  const Result is_dir = run_cli("train " + net + " --data synthetic --steps 1 --save " + temp_path(""));
  EXPECT_EQ(is_dir.status, 2);
  EXPECT_NE(is_dir.output.find("is a directory; give a file name"), std::string::npos) << is_dir.output;
  EXPECT_EQ(count_lines(is_dir.output), 1) << is_dir.output;
  if (geteuid() != 0) {  // root may write anywhere
    const std::string locked = temp_path("locked");
    fs::create_directories(locked);
    fs::permissions(locked, fs::perms::owner_read | fs::perms::owner_exec);
    const Result r = run_cli("train " + net + " --data synthetic --steps 1 --save " + locked + "/m.fpm");
    fs::permissions(locked, fs::perms::owner_all);
    EXPECT_EQ(r.status, 2);
    EXPECT_NE(r.output.find("' is not writable"), std::string::npos) << r.output;
  }
}

// SIGINT in the middle of a run: the step in progress finishes, the run is saved where it says,
// the exit status is 130, and the command it prints continues it to the very weights of a run
// that was never interrupted.
TEST(CliSafety, SigintDuringTrainingLeavesACheckpointThatResumesBitIdentically) {
  const std::string net = small_net();
  const std::string checkpoint = temp_path("sigint.fpm"), log = temp_path("sigint.log");
  const std::string common = " --data synthetic --batch 16 --optimizer adam --threads 2";
  Background training = start("train " + net + common + " --steps 100000 --save " + checkpoint, log);
  ASSERT_TRUE(wait_for(log, "step 5/100000")) << read_all(log);
  kill(training.pid, SIGINT);
  EXPECT_EQ(training.wait_status(), 130) << read_all(log);
  const std::string output = read_all(log);
  std::smatch m;
  ASSERT_TRUE(std::regex_search(output, m, std::regex(R"(interrupted \(SIGINT\) after step (\d+) of 100000: saved the run to (\S+)\n)")))
      << output;
  const int64_t stopped_at = std::stoll(m[1]);
  EXPECT_EQ(m[2], checkpoint);
  ASSERT_TRUE(std::regex_search(output, m, std::regex(R"(resume it with: (footprint train --resume .*)\n)"))) << output;
  const std::string resume = m[1];
  EXPECT_EQ(resume, "footprint train --resume " + checkpoint +
                        " --data synthetic --steps 100000 --threads 2 --save " + checkpoint);

  // The printed command, to an end 70 steps on (past an epoch boundary: 64 steps an epoch).
  const int64_t end = stopped_at + 70;
  const std::string to_end = std::regex_replace(resume, std::regex("--steps 100000"),
                                                "--steps " + std::to_string(end));
  const Result resumed = run_printed(to_end);
  ASSERT_EQ(resumed.status, 0) << resumed.output;
  const std::string whole = temp_path("sigint_whole.fpm");
  const Result uninterrupted =
      run_cli("train " + net + common + " --steps " + std::to_string(end) + " --save " + whole);
  ASSERT_EQ(uninterrupted.status, 0) << uninterrupted.output;
  const std::string a = read_all(whole), b = read_all(checkpoint);
  EXPECT_FALSE(a.empty());
  EXPECT_TRUE(a == b) << "interrupted at step " << stopped_at << " and resumed to " << end
                      << ", the model differs from the uninterrupted run's";
}

TEST(CliSafety, SigtermWithoutSaveLeavesTheRunBesideTheNet) {
  const std::string net = temp_path("beside.net");
  fs::copy_file(small_net(), net, fs::copy_options::overwrite_existing);
  const std::string expected = temp_path("beside.interrupted.fpm"), log = temp_path("sigterm.log");
  fs::remove(expected);
  Background training = start("train " + net + " --data synthetic --batch 8 --steps 100000 --threads 1", log);
  ASSERT_TRUE(wait_for(log, "step 3/100000")) << read_all(log);
  kill(training.pid, SIGTERM);
  EXPECT_EQ(training.wait_status(), 130) << read_all(log);
  EXPECT_NE(read_all(log).find("interrupted (SIGTERM) after step"), std::string::npos) << read_all(log);
  ASSERT_TRUE(fs::exists(expected)) << read_all(log);
  const Result eval = run_cli("eval " + expected + " --data synthetic --batch 8");
  EXPECT_EQ(eval.status, 0) << eval.output;
}

TEST(CliSafety, ResumeNamesTheFlagsTheCheckpointFixesAndRefusesContradictions) {
  const std::string net = small_net(), checkpoint = temp_path("fixed.fpm");
  ASSERT_EQ(run_cli("train " + net + " --data synthetic --batch 16 --optimizer adam --lr 0.002 "
                "--steps 6 --threads 1 --save " + checkpoint).status, 0);
  const std::string resume = "train --resume " + checkpoint + " --data synthetic --threads 1";
  const Result warned = run_cli(resume + " --steps 8 --lr 0.5 --batch 3 --seed 9");
  EXPECT_EQ(warned.status, 0) << warned.output;
  EXPECT_NE(warned.output.find("warning: --resume ignores --batch, --lr, --seed: the checkpoint "
                               "fixes them (batch 16, optimizer adam, lr 0.002"),
            std::string::npos) << warned.output;
  const Result quiet = run_cli(resume + " --steps 8");
  EXPECT_EQ(quiet.status, 0) << quiet.output;
  EXPECT_EQ(quiet.output.find("warning"), std::string::npos) << quiet.output;

  const Result loss = run_cli(resume + " --loss mse");
  EXPECT_EQ(loss.status, 2);
  EXPECT_NE(loss.output.find("error: --loss: the checkpoint " + checkpoint + " fixes the net"),
            std::string::npos) << loss.output;
  // --steps counts the whole run: 4 ends before the checkpoint's 6 (now 8: the runs above saved
  // nothing, having no --save).
  const Result early = run_cli(resume + " --steps 4");
  EXPECT_EQ(early.status, 2);
  EXPECT_NE(early.output.find("error: --steps 4: the run ends at step 4, and the checkpoint " +
                              checkpoint + " has done 6 already"),
            std::string::npos) << early.output;
  EXPECT_EQ(count_lines(early.output), 1) << early.output;
}

TEST(CliSafety, NumbersAreCheckedOneWayInEverySubcommand) {
  const std::string net = net_path("lenet"), model = temp_path("numbers.fpm");
  const std::string style = "style --content a.png --style b.png --model " + net;
  const std::string run_args = "run " + net + " --input x.npy --output " + temp_path("y.npy");
  const std::pair<std::string, std::string> cases[] = {
      {"train " + net + " --lr 0", "--lr: must be greater than 0 (got 0)"},
      {"train " + net + " --lr -0.5", "--lr: must be greater than 0 (got -0.5)"},
      {"train " + net + " --batch 0", "--batch: must be at least 1 (got 0)"},
      {"plan " + net + " --batch 0", "--batch: must be at least 1 (got 0)"},
      {"eval " + model + " --batch 0", "--batch: must be at least 1 (got 0)"},
      {"train " + net + " --epochs 0", "--epochs: must be at least 1 (got 0)"},
      {"plan " + net + " --threads 0", "--threads: must be at least 1 (got 0)"},
      {"train " + net + " --threads 0", "--threads: must be at least 1 (got 0)"},
      {"eval " + model + " --threads 0", "--threads: must be at least 1 (got 0)"},
      {run_args + " --threads 0", "--threads: must be at least 1 (got 0)"},
      {style + " --threads 0", "--threads: must be at least 1 (got 0)"},
      {style + " --iterations 0", "--iterations: must be at least 1 (got 0)"},
      {style + " --lr 0", "--lr: must be greater than 0 (got 0)"},
      {run_args + " --mean 0.5 0.5", "--mean: give 1 value (every channel) or 3 (R G B), not 2"},
      {run_args + " --std 0.2 0 0.2", "--std: must be greater than 0 (got 0)"},
      {"train " + net + " --memory-limit 0", "--memory-limit 0: expected a size such as 512M"},
  };
  for (const auto& [args, rule] : cases) {
    const Result r = run_cli(args);
    EXPECT_EQ(r.status, 2) << args;
    EXPECT_EQ(r.output.rfind("error: " + rule, 0), 0u) << args << "\n" << r.output;
    EXPECT_EQ(count_lines(r.output), 1) << args << "\n" << r.output;
  }
}

// The refusal's last part is "to see what fits: footprint plan ...": that command runs.
std::string advice_command(const std::string& output) {
  const std::string marker = "to see what fits: ";
  const size_t at = output.find(marker);
  if (at == std::string::npos) return "";
  const size_t end = output.find('\n', at);
  return output.substr(at + marker.size(), end - at - marker.size());
}

TEST(CliSafety, AMemoryRefusalNamesACommandThatRuns) {
  const Result r = run_cli("train " + net_path("six-block-512") +
                       " --data synthetic --batch 4 --steps 1 --threads 2 --memory-limit 50M");
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(count_lines(r.output), 1) << r.output;
  const std::string command = advice_command(r.output);
  EXPECT_EQ(command, "footprint plan " + net_path("six-block-512") + " --batch 4 --threads 2 --fit 50M");
  const Result fit = run_printed(command);
  EXPECT_EQ(fit.status, 0) << fit.output;
  EXPECT_NE(fit.output.find("Fits in 50.0 MiB: batch 2"), std::string::npos) << fit.output;

  // Resumed: the command names the checkpoint, which plan reads.
  const std::string checkpoint = temp_path("refused.fpm");
  ASSERT_EQ(run_cli("train " + small_net() + " --data synthetic --batch 16 --optimizer adam --steps 2 "
                "--threads 1 --save " + checkpoint).status, 0);
  const Result resumed = run_cli("train --resume " + checkpoint + " --data synthetic --steps 4 --threads 1 "
                             "--memory-limit 100K");
  EXPECT_EQ(resumed.status, 2);
  const std::string resumed_command = advice_command(resumed.output);
  EXPECT_EQ(resumed_command, "footprint plan " + checkpoint +
                                 " --batch 16 --optimizer adam --threads 1 --fit 102400")
      << resumed.output;
  const Result resumed_fit = run_printed(resumed_command);
  EXPECT_EQ(resumed_fit.status, 0) << resumed_fit.output;
  EXPECT_NE(resumed_fit.output.find("Fits in 100.0 KiB"), std::string::npos) << resumed_fit.output;

  // run checks before it allocates, an image before it is decoded: a net far larger than memory.
  const std::string huge = temp_path("huge.net"), image = temp_path("small.png");
  std::ofstream(huge) << "input 3 30000 30000\nconv 64 k=3 pad=1\nrelu\nglobalavgpool\n";
  std::vector<unsigned char> rgb(4 * 4 * 3, 7);
  ASSERT_TRUE(stbi_write_png(image.c_str(), 4, 4, 3, rgb.data(), 4 * 3));
  const Result too_big = run_cli("run " + huge + " --input " + image + " --output " + temp_path("y.npy") +
                             " --threads 1");
  EXPECT_EQ(too_big.status, 2) << too_big.output;
  EXPECT_NE(too_big.output.find("error: plan needs"), std::string::npos) << too_big.output;
  const Result too_big_fit = run_printed(advice_command(too_big.output));
  EXPECT_EQ(too_big_fit.status, 0) << too_big_fit.output;
}

// Under `ulimit -v` the guard counts what the process maps already and the address space the
// runtime's threads will map (OpenBLAS retries forever when it cannot map its buffer, so a run
// let through too tightly would hang, not fail: the timeout would show it).
TEST(CliSafety, UlimitVIsRespected) {
  FP_SKIP_UNDER_ASAN();  // ASan's shadow memory needs terabytes of address space
  const std::string train = std::string(FOOTPRINT_CLI) + " train " + net_path("lenet") +
                            " --data synthetic --steps 2";
  const Result refused = shell("ulimit -v 307200; timeout -s KILL 120 " + train + " --threads 4");
  EXPECT_EQ(refused.status, 2) << refused.output;
  EXPECT_NE(refused.output.find("ulimit -v (RLIMIT_AS) leaves after"), std::string::npos)
      << refused.output;
  const Result advice = run_printed(advice_command(refused.output));
  EXPECT_EQ(advice.status, 0) << advice.output;

  const Result fits = shell("ulimit -v 3000000; timeout -s KILL 120 " + train + " --threads 2");
  EXPECT_EQ(fits.status, 0) << fits.output;
}

}  // namespace
