// Optimizers over one image (a long float vector): Adam, and L-BFGS with a bounded history and
// a backtracking (Armijo) line search. Their state is counted by state_vectors() so the style
// plan can name its bytes before anything is allocated.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "core/tracked_buffer.hpp"

namespace footprint {

class ThreadPool;

// loss(x, grad): the objective at x, its gradient written to grad.
using ImageObjective = std::function<double(const float* x, float* grad)>;

class ImageOptimizer {
 public:
  virtual ~ImageOptimizer() = default;
  // One iteration from x (updated in place); grad holds the gradient at x on entry and at the
  // new x on return. Returns the loss at the new x.
  virtual double step(float* x, float* grad, double loss, const ImageObjective& objective) = 0;
  // Objective evaluations made so far (L-BFGS may try several points per iteration).
  [[nodiscard]] int64_t evaluations() const { return evaluations_; }

 protected:
  int64_t evaluations_ = 0;
};

class AdamImageOptimizer final : public ImageOptimizer {
 public:
  AdamImageOptimizer(int64_t n, double lr, double beta1 = 0.9, double beta2 = 0.999,
                     double eps = 1e-8);
  double step(float* x, float* grad, double loss, const ImageObjective& objective) override;
  static constexpr int state_vectors() { return 2; }

 private:
  int64_t n_;
  double lr_, beta1_, beta2_, eps_;
  int64_t t_ = 0;
  TrackedBuffer<float> m_, v_;
};

class LbfgsImageOptimizer final : public ImageOptimizer {
 public:
  // first_step: how far (in the image's units, at the largest pixel) the first iteration moves,
  // before any curvature is known.
  LbfgsImageOptimizer(int64_t n, int history, double first_step);
  double step(float* x, float* grad, double loss, const ImageObjective& objective) override;
  static constexpr int state_vectors(int history) { return 2 * history + 1; }

 private:
  void direction(const float* grad);  // d = -H grad from the history (two-loop recursion)

  int64_t n_;
  int history_;
  double first_step_;
  TrackedBuffer<float> d_;
  std::vector<TrackedBuffer<float>> s_, y_;  // ring of pairs
  std::vector<double> rho_;
  int count_ = 0;  // pairs held
  int newest_ = -1;
};

}  // namespace footprint
