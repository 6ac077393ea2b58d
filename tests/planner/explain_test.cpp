// The floor, the waterfall and --fit: each figure checked against plans made directly.
#include <gtest/gtest.h>

#include <cmath>

#include "footprint/footprint.hpp"
#include "testing/nets.hpp"

namespace footprint {
namespace {

using testing::net_path;

TEST(Floor, SixBlockPlanIsWithinTenPercentOfItsFloor) {
  const Net net = load_net_file(net_path("six-block-512"));
  const PlanOptions options{.batch = 1, .threads = 2};
  const Floor floor = plan_floor(net, options);
  const Plan p = plan(net, options);
  EXPECT_LE(floor.bytes, p.total_bytes);
  EXPECT_LE(p.total_bytes, floor.bytes * 11 / 10) << "plan " << p.total_bytes << " floor " << floor.bytes;
  // The floor holds at least the parameters, their gradients and the input of the first conv.
  EXPECT_GE(floor.bytes, 2 * 344398 * 4 + 786432 * 4);
}

TEST(Floor, DoesNotDependOnLayoutSwitches) {
  const Net net = load_net_file(net_path("fashion-cnn"));
  const int64_t base = plan_floor(net, {.batch = 8}).bytes;
  EXPECT_EQ(plan_floor(net, {.batch = 8, .reuse = false}).bytes, base);
  EXPECT_EQ(plan_floor(net, {.batch = 8, .inplace = false}).bytes, base);
  EXPECT_EQ(plan_floor(net, {.batch = 8, .conv_tile_bytes = 0}).bytes, base);
  EXPECT_GT(plan_floor(net, {.batch = 8, .optimizer = OptimizerKind::adam}).bytes, base);
}

TEST(Floor, VggInferenceAt1024IsWithinTenPercentOfItsFloor) {
  const Net net = with_input_size(load_net_file(net_path("vgg19-style")), 1024, 1024);
  const PlanOptions options{.batch = 1, .mode = Mode::infer, .threads = 2};
  const Plan p = plan(net, options);
  const Floor floor = plan_floor(net, options);
  EXPECT_LE(p.total_bytes, floor.bytes * 11 / 10) << "plan " << p.total_bytes << " floor " << floor.bytes;
}

TEST(Explain, WaterfallAddsUpFromNaiveToThePlan) {
  const Net net = load_net_file(net_path("six-block-512"));
  const PlanOptions options{.batch = 1, .threads = 2};
  const Explanation e = explain_plan(net, options);
  int64_t total = e.naive_bytes;
  for (const ExplainStep& s : e.steps) {
    if (s.technique.rfind("Winograd", 0) != 0) {
      EXPECT_GE(s.bytes_saved, 0) << s.technique;
    }
    total -= s.bytes_saved;
    EXPECT_EQ(total, s.total_after) << s.technique;
  }
  EXPECT_EQ(total, plan(net, options).total_bytes);
  EXPECT_EQ(e.plan_bytes, total);
  ASSERT_EQ(e.steps.size(), 7u);
  // Per-thread copies: the second thread's copy of every arena buffer and weight gradient.
  PlanOptions naive{.batch = 1, .threads = 2, .reuse = false, .inplace = false, .save_all = true,
                    .conv_tile_bytes = 0, .direct_conv = false};
  naive.fuse_pool_backward = false;
  naive.join_concat = false;
  naive.winograd_conv = false;
  const Plan separate = plan(net, naive);
  EXPECT_EQ(e.steps[0].bytes_saved, separate.arena_bytes + separate.bytes(Category::weight_grads));
  // The pre-pool volumes are the six conv outputs: 3,096,576 floats.
  for (const auto& [name, bytes] : e.components) {
    if (name.find("pre-pool") != std::string::npos) {
      EXPECT_EQ(bytes, 3096576 * 4);
    }
  }
}

TEST(Fit, LargestBatchFitsAndTheNextDoesNot) {
  const Net net = load_net_file(net_path("fashion-cnn"));
  const PlanOptions options{.optimizer = OptimizerKind::adam, .threads = 2};
  const int64_t budget = parse_bytes("64M");
  const std::optional<int> batch = fit_batch(net, options, budget);
  ASSERT_TRUE(batch.has_value());
  PlanOptions at = options;
  at.batch = *batch;
  EXPECT_LE(plan(net, at).total_bytes, budget);
  at.batch = *batch + 1;
  EXPECT_GT(plan(net, at).total_bytes, budget);
  EXPECT_FALSE(fit_batch(net, options, 1000).has_value());
}

TEST(Fit, LargestInputFitsAndTheNextDoesNot) {
  const Net net = load_net_file(net_path("vgg19-style"));
  const PlanOptions options{.mode = Mode::infer, .threads = 2};
  const int64_t budget = parse_bytes("1G");
  const std::optional<FitSize> size = fit_size(net, options, budget, 16.0 / 9.0);
  ASSERT_TRUE(size.has_value());
  EXPECT_EQ(size->width, std::llround(size->height * 16.0 / 9.0));
  EXPECT_LE(plan(with_input_size(net, size->height, size->width), options).total_bytes, budget);
  const int64_t next_h = size->height + 1, next_w = std::llround(next_h * 16.0 / 9.0);
  EXPECT_GT(plan(with_input_size(net, next_h, next_w), options).total_bytes, budget);
}

TEST(Fit, TheBatchItNamesRunsWithinTheBudget) {
  const Net net = load_net_file(net_path("lenet"));
  const PlanOptions options{.optimizer = OptimizerKind::momentum, .threads = 2};
  const int64_t budget = parse_bytes("4M");
  const std::optional<int> batch = fit_batch(net, options, budget);
  ASSERT_TRUE(batch.has_value());
  PlanOptions at = options;
  at.batch = *batch;
  const Plan p = plan(net, at);
  reset_tracked_peak();
  const int64_t before = tracked_memory().current_bytes;
  Runtime runtime(net, p, 1);
  const Dataset data = synthetic_dataset(net.input_shape(), 10, *batch, 1);
  train(runtime, data, nullptr, {.steps = 1}, nullptr, nullptr);
  EXPECT_LE(tracked_memory().peak_bytes - before, budget);
  EXPECT_EQ(tracked_memory().peak_bytes - before, p.total_bytes);
}

TEST(Fit, NetsWithFcHaveNoLargestInput) {
  const Net net = load_net_file(net_path("six-block-512"));
  EXPECT_THROW((void)fit_size(net, {}, parse_bytes("1G"), 1.0), PlanError);
}

TEST(Fit, ParseBytes) {
  EXPECT_EQ(parse_bytes("512M"), int64_t{512} << 20);
  EXPECT_EQ(parse_bytes("4G"), int64_t{4} << 30);
  EXPECT_EQ(parse_bytes("1.5GiB"), int64_t{3} << 29);
  EXPECT_EQ(parse_bytes("1000"), 1000);
  EXPECT_EQ(parse_bytes("2kb"), 2048);
  for (const char* bad : {"", "M", "12X", "-5M", "0", "1e30G"}) EXPECT_THROW((void)parse_bytes(bad), Error) << bad;
}

TEST(Size, ResizedNetKeepsItsLayers) {
  const Net net = load_net_file(net_path("six-block-512"));
  const Net small = with_input_size(net, 256, 128);
  EXPECT_EQ(small.input_shape(), (Shape{3, 256, 128}));
  EXPECT_EQ(small.n_layers(), net.n_layers());
  EXPECT_EQ(small.node(17).out_shape, (Shape{192, 4, 2}));
  EXPECT_THROW((void)with_input_size(net, 32, 32), ShapeError);  // six 2x2 pools need 64
}

}  // namespace
}  // namespace footprint

namespace footprint {
namespace {

// The six-block-512 figures the README prints, pinned: a change that moves any of them must
// update the README (scripts/readme_figures.sh prints them all again).
TEST(ReadmeFigures, SixBlockPlanCategoriesWaterfallAndFloor) {
  const Net net = load_net_file(testing::net_path("six-block-512"));
  const PlanOptions options{.batch = 1, .mode = Mode::train, .threads = 2};
  const Plan p = plan(net, options);
  EXPECT_EQ(p.total_bytes, 22330432);
  EXPECT_EQ(p.bytes(Category::weights), 1377792);
  EXPECT_EQ(p.bytes(Category::weight_grads), 1377792);
  EXPECT_EQ(p.bytes(Category::optimizer_state), 0);
  EXPECT_EQ(p.bytes(Category::activations), 15482944);
  EXPECT_EQ(p.bytes(Category::saved), 0);
  EXPECT_EQ(p.bytes(Category::activation_grads), 3096640);
  EXPECT_EQ(p.bytes(Category::workspace), 10536960);
  EXPECT_EQ(p.bytes(Category::io), 3145792);
  EXPECT_EQ(p.step_label(p.peak_step), "conv15 backward");
  const Floor floor = plan_floor(net, options);
  EXPECT_EQ(floor.bytes, 21433024);
  EXPECT_EQ(floor.step_label, "fc18 backward");
  PlanOptions separate = options;
  separate.reuse = false;
  EXPECT_EQ(plan(net, separate).total_bytes, 35017920);
  const Explanation e = explain_plan(net, options);
  EXPECT_EQ(e.naive_bytes, 344855424);
  const std::vector<std::pair<std::string, int64_t>> want = {
      {"threads share one set of buffers", 173116608},
      {"im2col in tiles of output rows", 73362624},
      {"direct 3x3 conv, few channels", 69381312},
      {"lifetime sharing in one arena", 34802752},
      {"save only what backward reads", 24775744},
      {"in place", 22809664},
      {"pool backward through activation", 22330432},
  };
  ASSERT_EQ(e.steps.size(), want.size());
  PlanOptions budget = options;
  budget.memory_budget = 16 << 20;
  EXPECT_EQ(plan(net, budget).total_bytes, 16124992);
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(e.steps[i].technique, want[i].first);
    EXPECT_EQ(e.steps[i].total_after, want[i].second) << want[i].first;
  }
}

}  // namespace
}  // namespace footprint
