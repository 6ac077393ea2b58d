// Finite-difference gradient checks, the way every layer of the library is checked, for layers of
// your own too (footprint/layer.hpp): a Net ending in `loss mse` is planned for training (with
// the input gradient), run once for the analytic gradients, then re-run with one element at a
// time nudged by +-eps. Which nets to check is the caller's business: a layer between the input
// and the loss checks its backward pass for the input and for each of its trainable parameters.
//
// The target is chosen so that d loss / d output is a fixed random r in [-1, 1] at the starting
// point: gradients then have a known scale, and `floor` below is measured in it. Central
// differences are taken in double, of the mse recomputed from the runtime's outputs (checked
// once against Runtime::loss); a point where the two one-sided differences disagree and the
// analytic gradient matches one of them lies at a kink (relu at 0, a max-pool near-tie) and is
// skipped, not failed.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "footprint/net.hpp"
#include "footprint/plan.hpp"

namespace footprint {

struct GradCheckOptions {
  PlanOptions plan{.batch = 2};  // batch, threads, inplace, conv_tile_bytes; mode and
                                 // input_grad are always train and true
  double eps = 1e-3;             // step of the central difference
  // A point fails when |analytic - numeric| > tolerance * max(|analytic|, |numeric|, floor).
  double tolerance = 2e-2;
  double floor = 0.1;
  int max_points = 40;  // per tensor: every element when it has no more, else a fixed sample
  uint64_t seed = 1;    // parameters, input, target and the sampled points
};

// The analytic gradient of one tensor: the net input ("input") or a trainable parameter
// ("conv0.weight"), flattened in the runtime's layout.
struct TensorGrad {
  std::string name;
  std::vector<float> values;
};

struct GradCheckResult {
  int64_t checked = 0;  // points compared
  int64_t kinks = 0;    // points skipped at a kink
  double worst = 0.0;   // largest |analytic - numeric| / max(|analytic|, |numeric|, floor) checked
  std::vector<std::string> failures;  // "conv0.weight[17] (of 54): analytic ..., numeric ..."

  [[nodiscard]] bool ok() const { return failures.empty(); }
  [[nodiscard]] std::string report() const;  // counts, then every failure on its own line
};

// The input gradient, then every trainable parameter's, after one forward and backward at the
// checker's fixed input and target.
[[nodiscard]] std::vector<TensorGrad> analytic_gradients(const Net& net,
                                                         const GradCheckOptions& options);

// Compares analytic and numeric gradients for the input and every trainable parameter. Fails
// too when more than a third of the points sit at kinks (the check would prove little).
// Throws Error when the net does not end in `loss mse`, and what plan() and Runtime throw.
[[nodiscard]] GradCheckResult check_gradients(const Net& net, const GradCheckOptions& options);

}  // namespace footprint
