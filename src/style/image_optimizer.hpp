// Optimizers over one image (a long float vector): Adam, and L-BFGS with a bounded history and
// a backtracking (Armijo) line search. Their state is counted by state_bytes() so the style plan
// can name its bytes before anything is allocated. `compact` holds the state (Adam's moments,
// L-BFGS's pairs) in bfloat16, half the bytes; the arithmetic stays in float and double.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "core/tracked_buffer.hpp"

namespace footprint {

class ThreadPool;

// loss(x, grad): the objective at x, its gradient written to grad.
using ImageObjective = std::function<double(const float* x, float* grad)>;

// When the image is split over ranks, each optimizer holds one rank's part of it (its state
// sharded by rows) and combines its figures over the whole image through these: sums of
// partial dot products, and the largest gradient. Every rank must get the same result, bit for
// bit, so every rank takes the same branches. Empty: the part is the whole image.
struct PartReduction {
  std::function<void(std::span<double>)> sum;
  std::function<double(double)> max;
};

class ImageOptimizer {
 public:
  virtual ~ImageOptimizer() = default;
  void set_reduction(PartReduction reduction) { reduction_ = std::move(reduction); }
  // One iteration from x (updated in place); grad holds the gradient at x on entry and at the
  // new x on return. Returns the loss at the new x.
  virtual double step(float* x, float* grad, double loss, const ImageObjective& objective) = 0;
  // Objective evaluations made so far (L-BFGS may try several points per iteration).
  [[nodiscard]] int64_t evaluations() const { return evaluations_; }

 protected:
  void reduce_sum(std::span<double> values) const {
    if (reduction_.sum) reduction_.sum(values);
  }
  [[nodiscard]] double reduce_sum(double value) const {
    reduce_sum(std::span<double>(&value, 1));
    return value;
  }
  [[nodiscard]] double reduce_max(double value) const {
    return reduction_.max ? reduction_.max(value) : value;
  }

  int64_t evaluations_ = 0;
  PartReduction reduction_;
};

class AdamImageOptimizer final : public ImageOptimizer {
 public:
  AdamImageOptimizer(int64_t n, double lr, bool compact = false, double beta1 = 0.9,
                     double beta2 = 0.999, double eps = 1e-8);
  double step(float* x, float* grad, double loss, const ImageObjective& objective) override;
  [[nodiscard]] static int64_t state_bytes(int64_t n, bool compact);

 private:
  int64_t n_;
  double lr_, beta1_, beta2_, eps_;
  bool compact_;
  int64_t t_ = 0;
  TrackedBuffer<float> m_, v_;                // float state
  TrackedBuffer<uint16_t> m_half_, v_half_;   // bfloat16 state (compact)
};

class LbfgsImageOptimizer final : public ImageOptimizer {
 public:
  // first_step: how far (in the image's units, at the largest pixel) the first iteration moves,
  // before any curvature is known.
  // compact: the pairs in bfloat16. Then s = t d is taken from the direction (no copy of the
  // old x), and the old gradient waits in the y slot as bfloat16 until y = g_new - g_old.
  LbfgsImageOptimizer(int64_t n, int history, double first_step, bool compact = false);
  double step(float* x, float* grad, double loss, const ImageObjective& objective) override;
  [[nodiscard]] static int64_t state_bytes(int64_t n, int history, bool compact);

 private:
  void direction(const float* grad);  // d = -H grad from the history (two-loop recursion)
  // The pair arithmetic of direction() and step(), on float or bfloat16 pairs.
  [[nodiscard]] double dot_pair(bool s, int slot, const float* v) const;
  void axpy_pair(double alpha, bool s, int slot, float* v) const;

  int64_t n_;
  int history_;
  double first_step_;
  bool compact_;
  TrackedBuffer<float> d_;
  std::vector<TrackedBuffer<float>> s_, y_;           // ring of pairs (float)
  std::vector<TrackedBuffer<uint16_t>> s_half_, y_half_;  // ring of pairs (compact)
  std::vector<double> rho_;
  std::vector<double> alpha_;  // the two-loop recursion's coefficients, one per pair
  int count_ = 0;  // pairs held
  int newest_ = -1;
};

}  // namespace footprint
