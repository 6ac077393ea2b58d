// Tile-parallel style transfer without a second process: ranks as threads of this process
// (testing/thread_communicator.hpp) share the tiles and the optimizer's state, and every rank
// ends with the image one process makes; the per-rank plan holds a part of the image-sized
// state. The same through mpirun and the CLI is in dist_test.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <thread>
#include <vector>

#include "core/tracked_alloc.hpp"
#include "footprint/runtime.hpp"
#include "footprint/communicator.hpp"
#include "footprint/error.hpp"
#include "footprint/style.hpp"
#include "testing/style_nets.hpp"
#include "testing/thread_communicator.hpp"

namespace footprint {
namespace {

using testing::pattern;
using testing::tiny_vgg;

struct RankRun {
  Image out;
  std::vector<double> losses;
  int tiles = 0;
};

// `ranks` threads run style transfer together (0: one process, no communicator).
std::vector<RankRun> run_ranks(StyleOptions o, int ranks, int64_t h, int64_t w) {
  const int n = std::max(ranks, 1);
  std::vector<RankRun> runs(static_cast<size_t>(n));
  testing::ThreadGroup group(n);
  auto rank_main = [&](int r) {
    StyleOptions mine = o;
    mine.comm = ranks > 0 ? &group.rank(r) : nullptr;
    RankRun& run = runs[static_cast<size_t>(r)];
    StyleCallbacks cb;
    cb.progress = [&](const StyleProgress& p) {
      run.losses.push_back(p.loss);
      run.tiles = p.tiles;
    };
    run.out = style_transfer({.net = tiny_vgg()}, mine, pattern(h, w, 0), pattern(48, 56, 1), h,
                             w, nullptr, false, cb);
  };
  std::vector<std::thread> threads;
  for (int r = 0; r < n; ++r) threads.emplace_back(rank_main, r);
  for (std::thread& t : threads) t.join();
  return runs;
}

int max_pixel_difference(const Image& a, const Image& b) {
  int diff = 0;
  for (size_t i = 0; i < a.pixels.size(); ++i) diff = std::max(diff, std::abs(a.pixels[i] - b.pixels[i]));
  return diff;
}

TEST(TileParallelStyle, RanksAsThreadsGiveOneProcesssImage) {
  const int64_t h = 416, w = 96;
  for (const StyleOptimizer optimizer : {StyleOptimizer::lbfgs, StyleOptimizer::adam}) {
    for (const bool compact : {false, true}) {
      const StyleOptions o{.style_weight = 100.0, .iterations = 3, .optimizer = optimizer,
                           .lr = optimizer == StyleOptimizer::adam ? 0.5 : 0.0,
                           .compact_state = compact, .threads = 1};
      const std::vector<RankRun> one = run_ranks(o, 0, h, w);
      ASSERT_EQ(one[0].losses.size(), 3u);
      for (const int ranks : {2, 3}) {
        SCOPED_TRACE(std::string(optimizer == StyleOptimizer::adam ? "adam" : "lbfgs") +
                     (compact ? " bf16" : " f32") + ", " + std::to_string(ranks) + " ranks");
        const std::vector<RankRun> many = run_ranks(o, ranks, h, w);
        EXPECT_GE(many[0].tiles, ranks);
        for (const RankRun& r : many) {
          EXPECT_EQ(r.out.pixels, many[0].out.pixels) << "the ranks disagree";
          ASSERT_EQ(r.losses.size(), one[0].losses.size());
        }
        EXPECT_LE(max_pixel_difference(many[0].out, one[0].out), 1);
        for (size_t i = 0; i < one[0].losses.size(); ++i)
          EXPECT_NEAR(many[0].losses[i], one[0].losses[i], 1e-4 * one[0].losses[i]);
      }
      EXPECT_GT(max_pixel_difference(one[0].out, pattern(h, w, 0)), 10)
          << "the image did not move: the comparison would be empty";
    }
  }
}

// What each rank holds of the image-sized buffers (the image, its gradient, the optimizer's
// state, the content features), as the plan names them.
int64_t image_sized_bytes(const StyleMemoryPlan& p) {
  int64_t bytes = 0;
  for (const auto& [name, b] : p.buffers)
    if (name.find("Gram") == std::string::npos && name.find("staging") == std::string::npos) bytes += b;
  return bytes;
}

TEST(TileParallelStyle, EachRankPlansAPartOfTheState) {
  const int64_t h = 1024, w = 768;
  StyleOptions o{.threads = 1};
  const StyleMemoryPlan one = plan_style({.net = tiny_vgg()}, o, h, w, h, h);
  o.ranks = 2;
  const StyleMemoryPlan two = plan_style({.net = tiny_vgg()}, o, h, w, h, h);
  o.ranks = 4;
  const StyleMemoryPlan four = plan_style({.net = tiny_vgg()}, o, h, w, h, h);
  EXPECT_EQ(two.ranks, 2);
  EXPECT_GE(two.tiles, 2);
  EXPECT_GE(four.tiles, 4);
  EXPECT_LE(image_sized_bytes(two), 0.6 * image_sized_bytes(one));
  EXPECT_LT(image_sized_bytes(four), image_sized_bytes(two));
  // Too many ranks for the image's height: refused, naming what would do.
  o.ranks = 64;
  try {
    (void)plan_style({.net = tiny_vgg()}, o, 256, 256, 256, 256);
    ADD_FAILURE() << "64 ranks on 256 rows planned";
  } catch (const PlanError& e) {
    EXPECT_NE(std::string(e.what()).find("fewer ranks"), std::string::npos) << e.what();
  }
}

// The bytes the ranks allocate together, tracked, stay within their plans: ranks as threads
// share one process's tracked allocator, so their sum is bounded by ranks x the plan of the
// rank holding the most.
TEST(TileParallelStyle, RanksStayWithinTheirPlans) {
  const int64_t h = 416, w = 96;
  StyleOptions o{.style_weight = 100.0, .iterations = 2, .threads = 1};
  o.ranks = 2;
  // The style image (48x56) is scaled to the output's long side.
  const StyleMemoryPlan p = plan_style({.net = tiny_vgg()}, o, h, w, 357, 416);
  const int64_t before = tracked_memory().current_bytes;
  reset_tracked_peak();
  (void)run_ranks(o, 2, h, w);
  EXPECT_LE(tracked_memory().peak_bytes - before, 2 * p.peak_bytes);
  EXPECT_GT(tracked_memory().peak_bytes - before, p.peak_bytes);
  EXPECT_EQ(tracked_memory().current_bytes, before);
}

}  // namespace
}  // namespace footprint
