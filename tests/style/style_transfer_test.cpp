// style_transfer() end to end on a small VGG: the loss falls with either optimizer, the bytes
// it allocates peak exactly at the plan, tiled runs (forced by a memory budget) included, and
// several scales run coarse to fine.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "core/tracked_alloc.hpp"
#include "footprint/error.hpp"
#include "footprint/runtime.hpp"
#include "footprint/style.hpp"
#include "testing/style_nets.hpp"

namespace footprint {
namespace {

using testing::pattern;
using testing::tiny_vgg;

struct Outcome {
  std::vector<double> losses;
  int tiles = 0;
  Image out;
};

Outcome run_style(StyleOptions o, int64_t h, int64_t w) {
  Outcome r;
  StyleCallbacks cb;
  cb.progress = [&](const StyleProgress& p) {
    r.losses.push_back(p.loss);
    r.tiles = p.tiles;
  };
  r.out = style_transfer({.net = tiny_vgg()}, o, pattern(h, w, 0), pattern(48, 56, 1), h, w,
                         nullptr, false, cb);
  return r;
}

TEST(StyleTransfer, LbfgsLowersTheLoss) {
  const Outcome r = run_style({.style_weight = 100.0, .iterations = 10, .threads = 2}, 64, 64);
  ASSERT_EQ(r.losses.size(), 10u);
  EXPECT_LT(r.losses.back(), 0.5 * r.losses.front());
  EXPECT_EQ(r.out.width, 64);
  EXPECT_EQ(r.out.height, 64);
}

TEST(StyleTransfer, AdamLowersTheLoss) {
  const Outcome r = run_style({.style_weight = 100.0, .iterations = 10, .optimizer = StyleOptimizer::adam,
                     .threads = 1}, 48, 40);
  EXPECT_LT(r.losses.back(), r.losses.front());
}

TEST(StyleTransfer, TrackedPeakIsThePlanTiledOrNot) {
  const int64_t h = 224, w = 192;
  const StyleOptions untiled{.style_weight = 100.0, .iterations = 2, .threads = 1,
                             .conv_tile_bytes = 1 << 16};
  const StyleMemoryPlan whole = plan_style({.net = tiny_vgg()}, untiled, h, w, 96, 112);
  // Budgets that leave a half and a third of the untiled runtime's bytes.
  const int64_t fixed = whole.peak_bytes - whole.tile_runtime_bytes;
  for (const int64_t budget : {int64_t{0}, fixed + whole.tile_runtime_bytes / 2,
                               fixed + whole.tile_runtime_bytes / 3}) {
    SCOPED_TRACE("budget " + std::to_string(budget));
    StyleOptions o = untiled;
    o.memory_budget = budget;
    const StyleMemoryPlan p = plan_style({.net = tiny_vgg()}, o, h, w, 96, 112);
    if (budget > 0) {
      EXPECT_GT(p.tiles, 1);
      EXPECT_LE(p.peak_bytes, budget);
    }
    const int64_t before = tracked_memory().current_bytes;
    reset_tracked_peak();
    const Outcome r = run_style(o, h, w);
    EXPECT_EQ(r.tiles, p.tiles);
    EXPECT_EQ(tracked_memory().peak_bytes - before, p.peak_bytes);
    EXPECT_EQ(tracked_memory().current_bytes, before);
  }
}

// Compact state (L-BFGS pairs, Adam moments and the content target in bfloat16): the plan names
// half the bytes for them, the run allocates exactly the plan, and the loss falls about as far as
// with float state.
TEST(StyleTransfer, CompactStateHalvesItsBytesAndStillConverges) {
  for (StyleOptimizer optimizer : {StyleOptimizer::lbfgs, StyleOptimizer::adam}) {
    SCOPED_TRACE(optimizer == StyleOptimizer::lbfgs ? "lbfgs" : "adam");
    StyleOptions f32{.style_weight = 100.0, .iterations = 12, .optimizer = optimizer, .threads = 2};
    StyleOptions bf16 = f32;
    bf16.compact_state = true;
    const int64_t h = 64, w = 56, pixels = 3 * h * w;
    const StyleMemoryPlan full = plan_style({.net = tiny_vgg()}, f32, h, w, 48, 56);
    const StyleMemoryPlan half = plan_style({.net = tiny_vgg()}, bf16, h, w, 48, 56);
    // The optimizer's state less its float direction (L-BFGS) halves.
    const int64_t saved = optimizer == StyleOptimizer::adam ? 2 * pixels * 2 : 10 * pixels * 2;
    EXPECT_NEAR(static_cast<double>(full.buffer_bytes - half.buffer_bytes),
                static_cast<double>(saved), 4096.0);
    const int64_t before = tracked_memory().current_bytes;
    reset_tracked_peak();
    const Outcome compact = run_style(bf16, h, w);
    EXPECT_EQ(tracked_memory().peak_bytes - before, half.peak_bytes);
    const Outcome exact = run_style(f32, h, w);
    ASSERT_EQ(compact.losses.size(), exact.losses.size());
    EXPECT_LT(compact.losses.back(), compact.losses.front());
    // Within 10% of the float run's loss after 12 iterations.
    EXPECT_NEAR(compact.losses.back(), exact.losses.back(), 0.1 * exact.losses.back())
        << "first " << exact.losses.front();
  }
}

TEST(StyleTransfer, ScalesRunCoarseToFine) {
  StyleOptions o{.style_weight = 100.0, .iterations = 3, .scales = 2, .threads = 1};
  std::vector<int64_t> heights;
  StyleCallbacks cb;
  cb.progress = [&](const StyleProgress& p) { heights.push_back(p.height); };
  const Image out = style_transfer({.net = tiny_vgg()}, o, pattern(64, 64, 0), pattern(48, 56, 1),
                                   64, 72, nullptr, true, cb);
  EXPECT_EQ(heights, (std::vector<int64_t>{32, 32, 32, 64, 64, 64}));
  EXPECT_EQ(out.width, 72);
}

TEST(StyleTransfer, FitNamesTheLargestSize) {
  const StyleOptions o{.threads = 1};
  const int64_t budget = 40 << 20;
  const int64_t h = fit_style_height({.net = tiny_vgg()}, o, 1.5, 1.0, budget);
  ASSERT_GT(h, 16);
  auto peak = [&](int64_t height) {
    StyleOptions b = o;
    b.memory_budget = budget;
    const int64_t w = std::lround(height * 1.5);
    return plan_style({.net = tiny_vgg()}, b, height, w, std::max(height, w), std::max(height, w)).peak_bytes;
  };
  EXPECT_LE(peak(h), budget);
  EXPECT_THROW(
      {
        if (peak(h + 1) > budget) throw PlanError("over");
      },
      PlanError);
}

}  // namespace
}  // namespace footprint
