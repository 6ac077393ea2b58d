// Nets and a training loop shared by the planner's tests of what a plan keeps (recompute_test,
// saved_bf16_test): small nets whose backward keeps many values, trained from fixed data.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "footprint/footprint.hpp"

namespace footprint::testing {

// Eight conv + relu pairs: a chain whose backward keeps every conv input.
inline std::string deep_chain() {
  std::string text = "input 6 24 24\n";
  for (int i = 0; i < 8; ++i) text += "conv 6 k=3 pad=1\nrelu\n";
  return text + "globalavgpool\nfc 4\nloss mse\n";
}

// A DenseNet block of four layers (batch norm, relu, 1x1 conv, batch norm, relu, 3x3 conv), each
// reading the concat of every feature before it.
inline std::string dense_block() {
  std::string text = "input 3 12 12\nconv 8 k=3 pad=1 name=x0\n";
  std::string features = "x0";
  for (int i = 1; i <= 4; ++i) {
    const std::string n = std::to_string(i);
    text += (i == 1 ? "batchnorm in=x0\n" : "concat in=" + features + " name=c" + n + "\nbatchnorm\n") +
            "relu\nconv 16 k=1\nbatchnorm\nrelu\nconv 4 k=3 pad=1 name=x" + n + "\n";
    features += ",x" + n;
  }
  return text + "concat in=" + features + "\nbatchnorm\nrelu\nglobalavgpool\nfc 3\nloss mse\n";
}

// `steps` training steps from seed 4 on fixed data: the losses, then every weight.
inline std::vector<float> train_run(const Net& net, const Plan& p, int steps, bool poison = false) {
  Runtime rt(net, p, 4);
  rt.set_poison_after_last_use(poison);
  std::vector<float> out;
  const int batch = p.options.batch;
  for (int step = 0; step < steps; ++step) {
    for (int64_t i = 0; i < batch * net.input_shape().n_elems(); ++i)
      rt.input()[i] = static_cast<float>((i * 7919 + step * 104729) % 2001) / 1000.0f - 1.0f;
    const int64_t outputs = net.output_shape().n_elems();
    for (int n = 0; n < batch; ++n) {
      if (net.loss_kind() == LossKind::softmax_xent) {
        static_cast<int32_t*>(rt.target())[n] = static_cast<int32_t>((n + step) % outputs);
        continue;
      }
      for (int64_t o = 0; o < outputs; ++o)
        static_cast<float*>(rt.target())[n * outputs + o] = o == (n + step) % outputs ? 1.0f : 0.0f;
    }
    out.push_back(static_cast<float>(rt.train_step(batch, {.lr = 0.01f})));
  }
  for (const ParamView& v : rt.parameters()) out.insert(out.end(), v.data, v.data + v.n_elems);
  return out;
}

// Training on plan p gives `want` (train_run's losses and weights) twice, the second time with
// every buffer poisoned after its last step, and the counting allocator peaks at p's total.
inline void expect_trains_to_at_plan(const Net& net, const Plan& p, int steps,
                                     const std::vector<float>& want) {
  reset_tracked_peak();
  const int64_t before = tracked_memory().current_bytes;
  EXPECT_EQ(train_run(net, p, steps), want);
  EXPECT_EQ(tracked_memory().peak_bytes - before, p.total_bytes);
  EXPECT_EQ(train_run(net, p, steps, /*poison=*/true), want);
}

// The smallest plan the planner can make, as its refusal of a 1-byte budget names it (0 when
// it plans one).
inline int64_t smallest_plan(const Net& net, PlanOptions options) {
  options.memory_budget = 1;
  try {
    (void)plan(net, options);
  } catch (const PlanError& e) {
    const std::string what = e.what();
    return std::stoll(what.substr(what.find('(', what.find("takes ")) + 1));
  }
  return 0;
}

}  // namespace footprint::testing
