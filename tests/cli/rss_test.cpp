// The plan's promise held to the whole process: each case runs `footprint train` in a fresh
// process, which restarts the peak resident size (VmHWM) just before the runtime allocates the
// plan; the growth from there to the end must stay within the plan's total, the bounded lines it
// names outside itself (Plan::outside) and 2 MiB. A kernel that allocated an untracked 4 MiB
// buffer per step would fail here.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include <sys/wait.h>
#include <unistd.h>

#include "testing/nets.hpp"
#include "testing/sanitizers.hpp"

namespace {

using footprint::testing::net_path;

constexpr int64_t kMarginBytes = int64_t{2} << 20;

struct Growth {
  int64_t planned = 0, outside = 0, rss_growth = -1;
};

Growth train_in_fresh_process(const std::string& args) {
  const std::string report = (std::filesystem::temp_directory_path() /
                              ("footprint_rss_" + std::to_string(getpid()) + ".json")).string();
  const std::string command =
      std::string(FOOTPRINT_CLI) + " train " + args + " --data synthetic --steps 3 --report " +
      report + " >/dev/null 2>&1";
  EXPECT_EQ(std::system(command.c_str()), 0) << command;
  std::ifstream in(report);
  const nlohmann::json doc = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  std::filesystem::remove(report);
  if (doc.is_discarded()) return {};
  return {doc.value("planned_bytes", int64_t{0}), doc.value("outside_bytes", int64_t{0}),
          doc.value("rss_growth_bytes", int64_t{-1})};
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
        const Growth g = train_in_fresh_process(args);
        ASSERT_GE(g.rss_growth, 0) << "no rss_growth_bytes in the report (peak not restartable?)";
        EXPECT_GT(g.planned, 0);
        EXPECT_GE(g.rss_growth, g.planned) << "the arena is filled on allocation, so all of it is resident";
        EXPECT_LE(g.rss_growth, g.planned + g.outside + kMarginBytes)
            << "plan " << g.planned << " B + outside " << g.outside << " B + 2 MiB, measured growth "
            << g.rss_growth << " B";
      }
    }
  }
}

}  // namespace
