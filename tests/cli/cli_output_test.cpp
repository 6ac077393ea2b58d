// What a person sees: progress that ends where the run ends and shows in logs without a
// terminal, a progress line ended before anything else prints on one, --help with every default,
// and tables whose columns hold with the long layer names ONNX exports give.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "testing/cli_runner.hpp"
#include "testing/nets.hpp"

namespace {

using Result = footprint::testing::CommandResult;
using footprint::testing::run_cli;
using footprint::testing::shell;

namespace fs = std::filesystem;
using footprint::testing::net_path;

std::string temp_path(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("footprint_output_" + std::to_string(getpid()));
  fs::create_directories(dir);
  return (dir / name).string();
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  size_t begin = 0;
  while (begin < text.size()) {
    const size_t end = std::min(text.find('\n', begin), text.size());
    lines.push_back(text.substr(begin, end - begin));
    begin = end + 1;
  }
  return lines;
}

TEST(CliOutput, WithoutATerminalProgressIsALineWithStepLossAndSpeedEndingAtSteps) {
  // stderr is a pipe here, as under CI or nohup.
  const Result r = run_cli("train " + net_path("lenet") + " --data synthetic --batch 4 --steps 3 --threads 1");
  ASSERT_EQ(r.status, 0) << r.output;
  const std::regex progress(R"(step (\d+)/3  epoch 1/1  loss [0-9.]+  acc [0-9.]+%  [0-9]+ samples/s)");
  std::vector<int> steps;
  for (const std::string& line : lines_of(r.output)) {
    std::smatch m;
    if (std::regex_search(line, m, progress)) {
      EXPECT_EQ(m.position(0), 0) << line;  // a line of its own
      steps.push_back(std::stoi(m[1]));
    }
    EXPECT_EQ(line.find('\r'), std::string::npos) << "no redrawing without a terminal: " << line;
  }
  // A short run shows its last step (and not the end of the epoch: 1024 samples would be 256).
  EXPECT_EQ(steps, std::vector<int>{3}) << r.output;

  // Every few seconds: FOOTPRINT_PROGRESS_SECONDS sets how often (0: every step).
  const Result every = shell("FOOTPRINT_PROGRESS_SECONDS=0 " + std::string(FOOTPRINT_CLI) + " train " +
                             net_path("lenet") + " --data synthetic --batch 4 --steps 3 --threads 1");
  ASSERT_EQ(every.status, 0) << every.output;
  for (const char* line : {"step 1/3  ", "step 2/3  ", "step 3/3  "})
    EXPECT_NE(every.output.find(line), std::string::npos) << every.output;
}

// On a terminal the line is redrawn in place (\r), and it is ended before anything else prints:
// the epoch's result, or an error.
TEST(CliOutput, OnATerminalTheProgressLineEndsBeforeAnythingElsePrints) {
  if (std::system("command -v script >/dev/null 2>&1") != 0) GTEST_SKIP() << "no script(1) for a terminal";
  const std::string net = temp_path("diverges.net");
  std::ofstream(net) << "input 1 28 28\nconv 8 k=3 name=c1\nrelu\nconv 8 k=3 name=c2\nrelu\nfc 10\nloss mse\n";
  auto in_terminal = [](const std::string& args) {
    return shell("script -qec \"" + std::string(FOOTPRINT_CLI) + " " + args + "\" /dev/null");
  };
  const Result ok = in_terminal("train " + net_path("lenet") + " --data synthetic --batch 4 --steps 3 --threads 1");
  EXPECT_NE(ok.output.find("\repoch 1/1 ["), std::string::npos) << ok.output;  // redrawn
  const size_t epoch = ok.output.find("epoch 1: ");
  ASSERT_NE(epoch, std::string::npos) << ok.output;
  EXPECT_EQ(ok.output[epoch - 1], '\n') << ok.output;  // not glued to the progress line

  const Result failed = in_terminal("train " + net + " --data synthetic --batch 4 --steps 20 --lr 1e30 --threads 1");
  EXPECT_EQ(failed.status, 2) << failed.output;
  const size_t error = failed.output.find("error: step 2");
  ASSERT_NE(error, std::string::npos) << failed.output;
  EXPECT_NE(failed.output.find("\repoch 1/"), std::string::npos) << failed.output;  // step 1 drawn
  EXPECT_EQ(failed.output[error - 1], '\n') << failed.output;
}

TEST(CliOutput, HelpShowsTheDefaultOfEveryOptionThatHasOne) {
  const int cores = static_cast<int>(std::thread::hardware_concurrency());
  const std::string threads = std::to_string(cores > 0 ? cores : 1);
  // Options without a default (paths, goals, sizes that default to the input's).
  const std::vector<std::string> no_default = {
      "--loss", "--steps", "--size", "--save", "--checkpoint-every", "--resume", "--report",
      "--fit", "--svg", "--input", "--output", "--content", "--style", "--model", "--out",
      "--long-side", "--save-every"};
  const std::vector<std::pair<std::string, std::vector<std::pair<std::string, std::string>>>> expected = {
      {"train", {{"--lr", "0.01"}, {"--batch", "1"}, {"--epochs", "1"}, {"--optimizer", "sgd"},
                 {"--momentum", "0.9"}, {"--weight-decay", "0"}, {"--seed", "1"},
                 {"--data", "fashion-mnist"}, {"--memory-limit", "available"},
                 {"--tile-bytes", "auto"}, {"--memory-budget", "none"}, {"--threads", threads}}},
      {"plan", {{"--mode", "train"}, {"--aspect", "1:1"}, {"--batch", "1"}, {"--threads", threads}}},
      {"eval", {{"--batch", "100"}, {"--data", "fashion-mnist"}, {"--threads", threads}}},
      {"run", {{"--mean", "0.485 0.456 0.406"}, {"--std", "0.229 0.224 0.225"},
               {"--max-pixels", "100M"}, {"--seed", "1"}, {"--threads", threads}}},
      {"style", {{"--iterations", "200"}, {"--optimizer", "lbfgs"}, {"--lr", "auto"},
                 {"--history", "5"}, {"--style-weight", "1000"}, {"--init", "content"},
                 {"--memory-budget", "available"}, {"--tile-bytes", "auto"},
                 {"--max-pixels", "100M"}, {"--threads", threads}}},
  };
  for (const auto& [sub, defaults] : expected) {
    const Result r = run_cli(sub + " --help");
    ASSERT_EQ(r.status, 0) << sub;
    // Each option's entry: its line and the description lines under it.
    std::map<std::string, std::string> entries;
    std::string current;
    for (const std::string& line : lines_of(r.output)) {
      std::smatch m;
      if (std::regex_search(line, m, std::regex(R"(^  (?:-\w,)?(--[\w-]+)(.*))"))) {
        current = m[1];
        entries[current] = m[2];
      } else if (!current.empty()) {
        entries[current] += line;
      }
    }
    for (const auto& [option, value] : defaults) {
      ASSERT_TRUE(entries.count(option)) << sub << " " << option << "\n" << r.output;
      EXPECT_NE(entries[option].find("[default: " + value + "]"), std::string::npos)
          << sub << " " << option << ": " << entries[option];
    }
    // Every option taking a value has a default shown, unless it is one that has none.
    for (const auto& [option, entry] : entries) {
      const bool takes_value = std::regex_search(entry, std::regex(R"(^ (INT|UINT|FLOAT|TEXT))"));
      const bool exempt = std::find(no_default.begin(), no_default.end(), option) != no_default.end();
      if (takes_value && !exempt) {
        EXPECT_NE(entry.find("[default: "), std::string::npos) << sub << " " << option << ": " << entry;
      }
    }
  }
}

// The column where "op" starts in the header is where every row's op starts.
void expect_aligned(const std::vector<std::string>& table, const std::string& header_word,
                    const std::vector<std::string>& ops) {
  ASSERT_FALSE(table.empty());
  const size_t column = table[0].find(header_word);
  ASSERT_NE(column, std::string::npos) << table[0];
  size_t rows = 0;
  for (size_t i = 1; i < table.size(); ++i) {
    for (const std::string& op : ops) {
      if (table[i].size() > column + op.size() && table[i].compare(column, op.size(), op) == 0 &&
          table[i][column + op.size()] == ' ') {
        ++rows;
      }
    }
  }
  EXPECT_EQ(rows, table.size() - 1) << "rows whose op is not under '" << header_word << "'";
}

TEST(CliOutput, LongLayerNamesKeepThePlanAndProfileColumns) {
  const std::string net = temp_path("long_names.net");
  const std::string long_name = "features.denseblock4.denselayer16.conv2.Conv";  // 44: shown whole
  const std::string longer = "features.transition3.pool.AveragePool.with.a.very.long.export.name";
  std::ofstream(net) << "input 1 16 16\nconv 4 k=3 pad=1 name=" << long_name << "\nrelu name=" << longer
                     << "\nglobalavgpool name=g\nfc 10 name=fc\nloss softmax_xent\n";

  const Result plan = run_cli("plan " + net + " --threads 1");
  ASSERT_EQ(plan.status, 0) << plan.output;
  std::vector<std::string> table;
  for (const std::string& line : lines_of(plan.output)) {
    if (line.find("   #  layer") == 0) table.push_back(line);
    else if (!table.empty() && std::regex_search(line, std::regex(R"(^ +\d+  )"))) table.push_back(line);
  }
  ASSERT_EQ(table.size(), 5u) << plan.output;
  expect_aligned(table, "op", {"conv", "relu", "globalavgpool", "fc"});
  EXPECT_NE(plan.output.find(" " + long_name + " "), std::string::npos) << plan.output;
  EXPECT_EQ(plan.output.find(longer), std::string::npos) << plan.output;
  // Cut to the widest column (48: a space and 47 characters), keeping the end.
  const std::string cut = "..." + longer.substr(longer.size() - 44);
  EXPECT_NE(plan.output.find(" " + cut + " "), std::string::npos) << plan.output;

  const Result profile = run_cli("train " + net + " --data synthetic --batch 2 --steps 1 --threads 1 --profile");
  ASSERT_EQ(profile.status, 0) << profile.output;
  std::vector<std::string> rows;
  bool in_table = false;
  for (const std::string& line : lines_of(profile.output)) {
    if (line.find("Time per layer") == 0) {
      in_table = true;
    } else if (in_table && line.rfind("  ", 0) == 0) {
      rows.push_back(line);
    } else {
      in_table = false;
    }
  }
  ASSERT_EQ(rows.size(), 5u) << profile.output;
  expect_aligned(rows, "op", {"conv", "relu", "globalavgpool", "fc"});
  // The same cut in both tables.
  EXPECT_NE(profile.output.find(" " + cut + " "), std::string::npos) << profile.output;
}

TEST(CliOutput, PlanTablePeakLiveIsJsonPeakLiveBytes) {
  const Result table = run_cli("plan " + net_path("six-block-512") + " --threads 2");
  const Result json = run_cli("plan " + net_path("six-block-512") + " --threads 2 --json");
  ASSERT_EQ(table.status, 0);
  ASSERT_EQ(json.status, 0);
  std::smatch m;
  ASSERT_TRUE(std::regex_search(table.output, m, std::regex(R"(Peak live: [0-9.]+ MiB \(([0-9,]+) B\) at step (\d+) of)")))
      << table.output;
  std::string live = m[1];
  live.erase(std::remove(live.begin(), live.end(), ','), live.end());
  EXPECT_NE(json.output.find("\"peak_live_bytes\": " + live), std::string::npos) << json.output;
  EXPECT_NE(json.output.find("\"peak_step\": " + std::string(m[2])), std::string::npos);
  ASSERT_TRUE(std::regex_search(table.output, m, std::regex(R"(Total allocated by the runtime: .* \(([0-9,]+) B\))")));
  std::string total = m[1];
  total.erase(std::remove(total.begin(), total.end(), ','), total.end());
  EXPECT_NE(json.output.find("\"peak_bytes\": " + total), std::string::npos) << json.output;
  EXPECT_NE(json.output.find("\"total_bytes\": " + total), std::string::npos) << json.output;
}

}  // namespace
