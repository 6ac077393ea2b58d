// Training under a memory budget: the planner recomputes instead of keeping, the plan fits,
// keeps every invariant, and training gives the same bits as without a budget.
#include <gtest/gtest.h>

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
using testing::dense_block;
using testing::deep_chain;
using testing::smallest_plan;
using testing::train_run;

struct Case {
  std::string name, text;
  int batch = 2;
  int64_t budget = 0;  // 0: one byte under the plain plan
};

// Sizes where keeping everything is not the only way: at small sizes the peak is often a
// step's own working set (gradients and im2col tiles), which no recomputation lowers; six-block
// at 64x64 is one (its first block's backward needs that block's values and gradients at once).
std::vector<Case> cases() {
  return {
      {"deep chain", deep_chain()},
      {"six-block-512", read_text(net_path("six-block-512")), 1},
      {"fashion-cnn (batch norm, dropout)", read_text(net_path("fashion-cnn")), 16},
      {"resnet-block", read_text(net_path("resnet-block")), 2},
      {"dense block", dense_block(), 16},
  };
}

// A budget halfway between the plain plan and the smallest one: recomputation is needed.
PlanOptions budget_for(const Case& c, const Net& net, Plan* plain) {
  PlanOptions options{.batch = c.batch, .optimizer = OptimizerKind::momentum, .threads = 2};
  *plain = plan(net, options);
  const int64_t smallest = smallest_plan(net, options);
  EXPECT_LT(smallest, plain->total_bytes) << "recomputation gains nothing on " << c.name;
  options.memory_budget = c.budget > 0 ? c.budget : (smallest + plain->total_bytes) / 2;
  return options;
}

TEST(Recompute, PlansUnderTheBudgetKeepEveryInvariant) {
  for (const Case& c : cases()) {
    SCOPED_TRACE(c.name);
    const Net net = parse_net(c.text, c.name);
    Plan plain;
    const PlanOptions options = budget_for(c, net, &plain);
    const Plan p = plan(net, options);
    EXPECT_LE(p.total_bytes, options.memory_budget);
    EXPECT_GT(p.recompute_flops, 0);
    EXPECT_FALSE(p.recompute_bindings.empty());
    // Lifetimes equal what the steps read and write; no two live buffers share bytes.
    testing::expect_minimal_disjoint_lifetimes(p);
    // Every recomputed layer runs forward twice, the second time after the loss.
    for (const Step& s : p.steps) {
      if (!s.recompute) continue;
      EXPECT_GT(&s - p.steps.data(), p.loss_step);
      EXPECT_TRUE(p.layer_reports[s.layer].recomputed);
    }
  }
}

// Recomputed values are the same computation: losses and weights are bit-identical to the run
// without a budget (dropout draws the same mask again; batch norm updates its running
// statistics once), the allocator peaks at the plan, and poisoning after last use changes
// nothing.
TEST(Recompute, TrainingIsBitIdenticalAndTrackedEqualsPlanned) {
  for (const Case& c : cases()) {
    SCOPED_TRACE(c.name);
    const Net net = parse_net(c.text, c.name);
    Plan plain;
    const PlanOptions options = budget_for(c, net, &plain);
    const Plan p = plan(net, options);
    testing::expect_trains_to_at_plan(net, p, 4, train_run(net, plain, 4));
  }
}

// Too small a budget is refused, naming the smallest plan found; that budget then plans.
TEST(Recompute, TooSmallABudgetNamesTheSmallestThatWorks) {
  const Net net = parse_net(deep_chain(), "chain");
  PlanOptions options{.batch = 2};
  options.memory_budget = 1000;
  try {
    (void)plan(net, options);
    FAIL() << "a 1000-byte budget was accepted";
  } catch (const PlanError& e) {
    const std::string what = e.what();
    const size_t at = what.find("takes ");
    ASSERT_NE(at, std::string::npos) << what;
    const size_t open = what.find('(', at);
    const int64_t smallest = std::stoll(what.substr(open + 1));
    EXPECT_GT(smallest, 1000);
    options.memory_budget = smallest;
    EXPECT_LE(plan(net, options).total_bytes, smallest) << what;
  }
}

// DenseNet's trick, found by the planner: batch norm and relu before each bottleneck conv are
// recomputed from the concat (alive anyway), at a few FLOPs per value.
TEST(Recompute, CheapLayersAreRecomputedFromValuesAliveAnyway) {
  const Net net = parse_net(dense_block(), "dense");
  Plan plain;
  const PlanOptions options = budget_for({"dense block", dense_block(), 16}, net, &plain);
  const Plan p = plan(net, options);
  EXPECT_LE(p.total_bytes, options.memory_budget);
  for (size_t i = 0; i < p.layer_reports.size(); ++i) {
    if (!p.layer_reports[i].recomputed) continue;
    const std::string& op = p.layer_reports[i].op;
    EXPECT_TRUE(op == "batchnorm" || op == "relu") << op << " " << p.layer_reports[i].name;
  }
  EXPECT_LT(p.recompute_flops, p.forward_flops / 20);
}

}  // namespace
}  // namespace footprint
