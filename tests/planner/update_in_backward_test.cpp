// Updates in backward (PlanOptions::update_in_backward): each layer's update runs right after its
// backward step, its weight gradients live in the arena from one to the other, and training
// gives the same bits as updating after the backward pass, with every optimizer and with
// recomputation under a budget.
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

using testing::deep_chain;
using testing::dense_block;
using testing::net_path;
using testing::read_text;
using testing::train_run;

struct Case {
  std::string name, text;
  int batch = 2;
};

std::vector<Case> cases() {
  return {
      {"deep chain", deep_chain()},
      {"fashion-cnn (batch norm, dropout)", read_text(net_path("fashion-cnn")), 8},
      {"resnet-block", read_text(net_path("resnet-block")), 2},
      {"dense block (joined concats)", dense_block(), 4},
  };
}

// Each trained layer's update step follows its backward step at once; its gradients live
// exactly from the one to the other, in the arena; no step after the update reads the layer; the
// persistent block loses every weight gradient and the plan's total shrinks.
TEST(UpdateInBackward, EachLayerUpdatesRightAfterItsBackwardStep) {
  for (const Case& c : cases()) {
    SCOPED_TRACE(c.name);
    const Net net = parse_net(c.text, c.name);
    const PlanOptions plain_options{.batch = c.batch, .optimizer = OptimizerKind::adam, .threads = 2};
    PlanOptions options = plain_options;
    options.update_in_backward = true;
    const Plan plain = plan(net, plain_options);
    const Plan p = plan(net, options);
    testing::expect_minimal_disjoint_lifetimes(p);
    int updates = 0;
    for (size_t s = 0; s < p.steps.size(); ++s) {
      const Step& step = p.steps[s];
      ASSERT_FALSE(step.kind == StepKind::update && step.layer < 0) << "an update of everything";
      if (step.kind != StepKind::update) continue;
      ++updates;
      const LayerBuffers& lb = p.layers[step.layer];
      EXPECT_EQ(static_cast<int>(s), lb.backward_step + 1) << p.step_label(static_cast<int>(s));
      for (int g : lb.param_grads) {
        if (g == kNoBuffer) continue;
        const Buffer& b = p.buffers[g];
        EXPECT_FALSE(b.persistent) << b.name;
        EXPECT_EQ(b.first_step, lb.backward_step) << b.name;
        EXPECT_EQ(b.last_step, static_cast<int>(s)) << b.name;
      }
      for (size_t later = s + 1; later < p.steps.size(); ++later)
        EXPECT_NE(p.steps[later].layer, step.layer) << p.step_label(static_cast<int>(later));
    }
    int trained_layers = 0;
    for (const LayerBuffers& lb : plain.layers)
      trained_layers += std::any_of(lb.param_grads.begin(), lb.param_grads.end(),
                                    [](int g) { return g != kNoBuffer; });
    EXPECT_EQ(updates, trained_layers);
    EXPECT_EQ(p.persistent_bytes, plain.persistent_bytes - plain.bytes(Category::weight_grads));
    EXPECT_LT(p.total_bytes, plain.total_bytes);
  }
}

// The same bits as the plain plan, with each optimizer; tracked peak == plan; poisoning
// buffers after their last step changes nothing (a gradient read after its update would be NaN).
TEST(UpdateInBackward, TrainingIsBitIdenticalAndTrackedEqualsPlanned) {
  for (const Case& c : cases()) {
    for (OptimizerKind kind : {OptimizerKind::sgd, OptimizerKind::momentum, OptimizerKind::adam}) {
      SCOPED_TRACE(c.name + ", " + optimizer_name(kind));
      const Net net = parse_net(c.text, c.name);
      PlanOptions options{.batch = c.batch, .optimizer = kind, .threads = 2};
      const Plan plain = plan(net, options);
      options.update_in_backward = true;
      const Plan p = plan(net, options);
      testing::expect_trains_to_at_plan(net, p, 3, train_run(net, plain, 3));
    }
  }
}

// Under a memory budget the two combine: a budget the plain plan's recomputation cannot meet
// (below its smallest plan) plans with updates in backward, and trains the same bits.
TEST(UpdateInBackward, ReachesBudgetsRecomputationAloneCannot) {
  const Net net = parse_net(deep_chain(), "chain");
  PlanOptions options{.batch = 2, .threads = 2};
  const std::vector<float> want = train_run(net, plan(net, options), 3);
  const int64_t smallest = testing::smallest_plan(net, options);
  options.update_in_backward = true;
  const int64_t smaller = testing::smallest_plan(net, options);
  ASSERT_LT(smaller, smallest);
  options.memory_budget = smaller;
  const Plan p = plan(net, options);
  EXPECT_LE(p.total_bytes, smaller);
  EXPECT_GT(p.recompute_flops, 0);
  testing::expect_trains_to_at_plan(net, p, 3, want);
}

// A non-finite gradient: that layer and every layer after it in the backward pass keep their
// parameters (here the first layer the backward pass reaches, so every layer), gradients_finite()
// says so and find_first_nonfinite names where it began.
TEST(UpdateInBackward, ANonFiniteGradientStopsTheUpdatesFromItsLayerOn) {
  const Net net = parse_net("input 2 6 6\nconv 3 k=3 pad=1 name=a\nrelu\nconv 3 k=3 pad=1 name=b\n"
                            "globalavgpool\nfc 2 name=c\nloss mse\n",
                            "three");
  const Plan p = plan(net, {.batch = 1, .update_in_backward = true});
  Runtime rt(net, p, 3);
  std::fill_n(rt.input(), net.input_shape().n_elems(), 0.5f);
  std::fill_n(static_cast<float*>(rt.target()), 2, 0.0f);
  const std::vector<ParamView>& params = rt.parameters();
  std::vector<std::vector<float>> before;
  for (const ParamView& v : params) before.emplace_back(v.data, v.data + v.n_elems);
  // A NaN in conv b's bias: its output, and so the loss and c's weight gradient, are NaN.
  auto named = [&](const std::string& name) {
    return std::find_if(params.begin(), params.end(), [&](const ParamView& v) { return v.name == name; });
  };
  ASSERT_NE(named("b.bias"), params.end());
  named("b.bias")->data[0] = std::nanf("");
  before[static_cast<size_t>(named("b.bias") - params.begin())][0] = std::nanf("");
  rt.forward(1, /*training=*/true);
  rt.prepare_update({.lr = 0.1f});
  (void)rt.loss_and_backward(1);
  EXPECT_FALSE(rt.gradients_finite());
  EXPECT_NE(rt.find_first_nonfinite(1).find("'b'"), std::string::npos) << rt.find_first_nonfinite(1);
  for (size_t k = 0; k < params.size(); ++k) {
    for (int64_t e = 0; e < params[k].n_elems; ++e) {
      const float was = before[k][static_cast<size_t>(e)], now = params[k].data[e];
      ASSERT_TRUE(now == was || (std::isnan(now) && std::isnan(was))) << params[k].name;
    }
  }
  // Asking for a plain update, or backward without prepare_update, is a usage error.
  EXPECT_THROW(rt.update({.lr = 0.1f}), Error);
  rt.forward(1, /*training=*/true);
  EXPECT_THROW((void)rt.loss_and_backward(1), Error);
}

// Refused where it cannot hold: data-parallel plans (whole buckets summed first), inference.
TEST(UpdateInBackward, RefusedForRanksAndInference) {
  const Net net = parse_net(deep_chain(), "chain");
  EXPECT_THROW((void)plan(net, {.batch = 2, .update_in_backward = true, .ranks = 2}), PlanError);
  EXPECT_THROW((void)plan(net, {.batch = 2, .mode = Mode::infer, .update_in_backward = true}),
               PlanError);
}

}  // namespace
}  // namespace footprint
