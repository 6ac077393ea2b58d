// Saved values in bfloat16 (PlanOptions::saved_dtype): the plan keeps every invariant, holds
// what crosses from forward to backward at half the bytes, and training stays close to float32
// (not equal: the backward steps read rounded values) with the allocator peaking at the plan.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "footprint/footprint.hpp"
#include "testing/nets.hpp"
#include "testing/plan_invariants.hpp"
#include "testing/training_runs.hpp"

namespace footprint {
namespace {

using testing::net_path;
using testing::read_text;
using testing::smallest_plan;
using testing::train_run;

struct Case {
  std::string name, text;
  int batch = 2;
};

// Chains, a max-pool net with dropout, residual adds, a concat joined in place, batch norm.
std::vector<Case> cases() {
  return {
      {"deep chain", testing::deep_chain()},
      {"six-block-512 (pool backward fused)", read_text(net_path("six-block-512")), 1},
      {"fashion-cnn (batch norm, dropout)", read_text(net_path("fashion-cnn")), 16},
      {"lenet", read_text(net_path("lenet")), 4},
      {"resnet-block", read_text(net_path("resnet-block")), 2},
      {"inception-block", read_text(net_path("inception-block")), 2},
      {"dense block (joined concats)", testing::dense_block(), 8},
  };
}

PlanOptions options_for(const Case& c, SavedDtype dtype) {
  return {.batch = c.batch, .optimizer = OptimizerKind::momentum, .threads = 2,
          .saved_dtype = dtype};
}

int64_t align(int64_t bytes) { return (bytes + kAlignBytes - 1) / kAlignBytes * kAlignBytes; }

TEST(SavedBf16, PlansKeepEveryInvariantAndHalveWhatCrossesTheLoss) {
  for (const Case& c : cases()) {
    SCOPED_TRACE(c.name);
    const Net net = parse_net(c.text, c.name);
    const Plan f32 = plan(net, options_for(c, SavedDtype::f32));
    const Plan p = plan(net, options_for(c, SavedDtype::bf16));
    ASSERT_FALSE(p.compact_values.empty());
    EXPECT_LT(p.total_bytes, f32.total_bytes);
    testing::expect_minimal_disjoint_lifetimes(p);
    // At the loss step each compact value is alive in bfloat16 only: exactly its float32 bytes
    // less its bfloat16 copy's are gone from what the float32 plan holds there.
    int64_t halved = 0;
    for (const CompactValue& v : p.compact_values) {
      EXPECT_LT(v.compress_step, p.loss_step);
      EXPECT_GT(v.expand_step, p.loss_step);
      const int64_t values = c.batch * v.sample_values;
      halved += align(values * 4) - align(values * 2);
      const Buffer& original = p.buffers[static_cast<size_t>(v.float_buffer)];
      EXPECT_LT(original.last_step, p.loss_step) << original.name;
    }
    EXPECT_EQ(f32.live_bytes[static_cast<size_t>(f32.loss_step)] -
                  p.live_bytes[static_cast<size_t>(p.loss_step)],
              halved);
  }
}

// Losses and weights of a run with bfloat16 saved values against the float32 run: within 1% of
// the largest of them (four steps compound a relative error of 2^-9 per kept value).
void expect_within_bf16_rounding(const std::vector<float>& got, const std::vector<float>& want) {
  ASSERT_EQ(got.size(), want.size());
  float scale = 0.0f, worst = 0.0f;
  for (size_t k = 0; k < got.size(); ++k) {
    scale = std::max(scale, std::fabs(want[k]));
    worst = std::max(worst, std::fabs(got[k] - want[k]));
  }
  EXPECT_LE(worst, 1e-2f * scale) << "largest weight or loss " << scale;
}

// Four steps of training: losses and weights within bfloat16's rounding of the float32 run,
// and not equal to it (the backward steps did read rounded values). The allocator peaks at the
// plan, and poisoning every buffer after its planned last use changes no bit.
TEST(SavedBf16, TrainingStaysCloseToFloat32AndTrackedEqualsPlanned) {
  for (const Case& c : cases()) {
    SCOPED_TRACE(c.name);
    const Net net = parse_net(c.text, c.name);
    const Plan f32 = plan(net, options_for(c, SavedDtype::f32));
    const Plan p = plan(net, options_for(c, SavedDtype::bf16));
    const std::vector<float> want = train_run(net, f32, 4);
    reset_tracked_peak();
    const int64_t before = tracked_memory().current_bytes;
    const std::vector<float> got = train_run(net, p, 4);
    EXPECT_EQ(tracked_memory().peak_bytes - before, p.total_bytes);
    EXPECT_EQ(train_run(net, p, 4, /*poison=*/true), got);
    EXPECT_NE(got, want) << "bfloat16 saved values changed nothing";
    expect_within_bf16_rounding(got, want);
  }
}

// A chain of 16 conv + relu pairs wide enough that its values, not its weights, fill the plan.
std::string wide_chain() {
  std::string text = "input 16 32 32\n";
  for (int i = 0; i < 16; ++i) text += "conv 16 k=3 pad=1\nrelu\n";
  return text + "globalavgpool\nfc 4\nloss mse\n";
}

// Under a memory budget the budget is met on the bfloat16 plan, recomputing from checkpoints
// kept in bfloat16 too: the plan fits and keeps every invariant, and training stays close to
// float32 with the allocator at the plan. (Nets whose smallest bfloat16 plan recomputes
// something.)
TEST(SavedBf16, UnderAMemoryBudgetRecomputesOnTop) {
  const std::vector<Case> all = cases();
  for (const Case& c : {all[1], all[2], Case{"wide chain", wide_chain(), 2}}) {
    SCOPED_TRACE(c.name);
    const Net net = parse_net(c.text, c.name);
    PlanOptions options = options_for(c, SavedDtype::bf16);
    const Plan plain = plan(net, options);
    const int64_t smallest = smallest_plan(net, options);
    ASSERT_GT(smallest, 0);
    EXPECT_LT(smallest, plain.total_bytes);
    EXPECT_LE(smallest, smallest_plan(net, options_for(c, SavedDtype::f32)));
    options.memory_budget = (smallest + plain.total_bytes) / 2;
    const Plan p = plan(net, options);
    EXPECT_LE(p.total_bytes, options.memory_budget);
    EXPECT_GT(p.recompute_flops, 0);
    EXPECT_FALSE(p.compact_values.empty());
    testing::expect_minimal_disjoint_lifetimes(p);
    const std::vector<float> want = train_run(net, plan(net, options_for(c, SavedDtype::f32)), 4);
    reset_tracked_peak();
    const int64_t before = tracked_memory().current_bytes;
    const std::vector<float> got = train_run(net, p, 4);
    EXPECT_EQ(tracked_memory().peak_bytes - before, p.total_bytes);
    EXPECT_EQ(train_run(net, p, 4, /*poison=*/true), got);
    expect_within_bf16_rounding(got, want);
  }
}

// Inference keeps nothing for a backward pass: bf16 changes nothing there.
// Checkpoints wait in bfloat16 too, so a chain's smallest plan is smaller than float32's.
TEST(SavedBf16, AChainReachesASmallerBudget) {
  const Case c{"wide chain", wide_chain(), 2};
  const Net net = parse_net(c.text, c.name);
  const int64_t bf16 = smallest_plan(net, options_for(c, SavedDtype::bf16));
  const int64_t f32 = smallest_plan(net, options_for(c, SavedDtype::f32));
  EXPECT_LT(bf16, f32 * 95 / 100);
}

TEST(SavedBf16, InferencePlansAreUnchanged) {
  const Net net = parse_net(read_text(net_path("fashion-cnn")), "fashion-cnn");
  PlanOptions options{.batch = 4, .mode = Mode::infer};
  const Plan f32 = plan(net, options);
  options.saved_dtype = SavedDtype::bf16;
  const Plan p = plan(net, options);
  EXPECT_TRUE(p.compact_values.empty());
  EXPECT_EQ(p.total_bytes, f32.total_bytes);
  EXPECT_EQ(p.steps.size(), f32.steps.size());
}

}  // namespace
}  // namespace footprint
