#include "style/image_optimizer.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels/eltwise/bf16.hpp"

namespace footprint {
namespace {

double dot(const float* a, const float* b, int64_t n) {
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) sum += double{a[i]} * b[i];
  return sum;
}

// y += alpha * x
void axpy(double alpha, const float* x, float* y, int64_t n) {
  const float a = static_cast<float>(alpha);
  for (int64_t i = 0; i < n; ++i) y[i] += a * x[i];
}

}  // namespace

AdamImageOptimizer::AdamImageOptimizer(int64_t n, double lr, bool compact, double beta1,
                                       double beta2, double eps)
    : n_(n), lr_(lr), beta1_(beta1), beta2_(beta2), eps_(eps), compact_(compact) {
  if (compact_) {
    m_half_ = TrackedBuffer<uint16_t>(n);
    v_half_ = TrackedBuffer<uint16_t>(n);
    std::fill_n(m_half_.data(), n, uint16_t{0});
    std::fill_n(v_half_.data(), n, uint16_t{0});
  } else {
    m_ = TrackedBuffer<float>(n);
    v_ = TrackedBuffer<float>(n);
    std::fill_n(m_.data(), n, 0.0f);
    std::fill_n(v_.data(), n, 0.0f);
  }
}

int64_t AdamImageOptimizer::state_bytes(int64_t n, bool compact) {
  return 2 * (compact ? tracked_bytes<uint16_t>(n) : tracked_bytes<float>(n));
}

double AdamImageOptimizer::step(float* x, float* grad, double /*loss*/,
                                const ImageObjective& objective) {
  ++t_;
  const double c1 = 1.0 - std::pow(beta1_, static_cast<double>(t_));
  const double c2 = 1.0 - std::pow(beta2_, static_cast<double>(t_));
  const float b1 = static_cast<float>(beta1_), b2 = static_cast<float>(beta2_);
  const float step = static_cast<float>(lr_ / c1), root_c2 = static_cast<float>(std::sqrt(c2));
  const float eps = static_cast<float>(eps_);
  if (compact_) {
    for (int64_t i = 0; i < n_; ++i) {
      const float m = b1 * from_bf16(m_half_[i]) + (1.0f - b1) * grad[i];
      const float v = b2 * from_bf16(v_half_[i]) + (1.0f - b2) * grad[i] * grad[i];
      m_half_[i] = to_bf16(m);
      v_half_[i] = to_bf16(v);
      x[i] -= step * m / (std::sqrt(v) / root_c2 + eps);
    }
  } else {
    for (int64_t i = 0; i < n_; ++i) {
      m_[i] = b1 * m_[i] + (1.0f - b1) * grad[i];
      v_[i] = b2 * v_[i] + (1.0f - b2) * grad[i] * grad[i];
      x[i] -= step * m_[i] / (std::sqrt(v_[i]) / root_c2 + eps);
    }
  }
  ++evaluations_;
  return objective(x, grad);
}

LbfgsImageOptimizer::LbfgsImageOptimizer(int64_t n, int history, double first_step, bool compact)
    : n_(n), history_(std::max(1, history)), first_step_(first_step), compact_(compact), d_(n),
      rho_(static_cast<size_t>(std::max(1, history)), 0.0),
      alpha_(static_cast<size_t>(std::max(1, history)), 0.0) {
  for (int i = 0; i < history_; ++i) {
    if (compact_) {
      s_half_.emplace_back(n);
      y_half_.emplace_back(n);
    } else {
      s_.emplace_back(n);
      y_.emplace_back(n);
    }
  }
}

int64_t LbfgsImageOptimizer::state_bytes(int64_t n, int history, bool compact) {
  const int64_t pair_vector = compact ? tracked_bytes<uint16_t>(n) : tracked_bytes<float>(n);
  return tracked_bytes<float>(n) + 2 * std::max(1, history) * pair_vector;
}

double LbfgsImageOptimizer::dot_pair(bool s, int slot, const float* v) const {
  if (!compact_) return dot((s ? s_ : y_)[slot].data(), v, n_);
  const uint16_t* p = (s ? s_half_ : y_half_)[slot].data();
  double sum = 0.0;
  for (int64_t i = 0; i < n_; ++i) sum += double{from_bf16(p[i])} * v[i];
  return sum;
}

void LbfgsImageOptimizer::axpy_pair(double alpha, bool s, int slot, float* v) const {
  if (!compact_) return axpy(alpha, (s ? s_ : y_)[slot].data(), v, n_);
  const uint16_t* p = (s ? s_half_ : y_half_)[slot].data();
  const float a = static_cast<float>(alpha);
  for (int64_t i = 0; i < n_; ++i) v[i] += a * from_bf16(p[i]);
}

void LbfgsImageOptimizer::direction(const float* grad) {
  float* q = d_.data();
  std::memcpy(q, grad, sizeof(float) * n_);
  for (int k = 0; k < count_; ++k) {  // newest to oldest
    const int i = (newest_ - k + history_) % history_;
    alpha_[k] = rho_[i] * reduce_sum(dot_pair(/*s=*/true, i, q));
    axpy_pair(-alpha_[k], /*s=*/false, i, q);
  }
  // Initial Hessian scaled by the newest pair's curvature, s.y / y.y.
  const int i = newest_;
  double yy = 0.0;
  if (compact_) {
    const uint16_t* y = y_half_[i].data();
    for (int64_t e = 0; e < n_; ++e) yy += double{from_bf16(y[e])} * from_bf16(y[e]);
  } else {
    yy = dot(y_[i].data(), y_[i].data(), n_);
  }
  yy = reduce_sum(yy);
  const double gamma = 1.0 / (rho_[i] * yy);
  for (int64_t e = 0; e < n_; ++e) q[e] = static_cast<float>(gamma * q[e]);
  for (int k = count_ - 1; k >= 0; --k) {  // oldest to newest
    const int j = (newest_ - k + history_) % history_;
    const double beta = rho_[j] * reduce_sum(dot_pair(/*s=*/false, j, q));
    axpy_pair(alpha_[k] - beta, /*s=*/true, j, q);
  }
  for (int64_t e = 0; e < n_; ++e) q[e] = -q[e];
}

double LbfgsImageOptimizer::step(float* x, float* grad, double loss,
                                 const ImageObjective& objective) {
  // Without curvature (first step, or a direction that does not descend): steepest descent
  // scaled so the largest pixel moves by first_step.
  auto steepest = [&] {
    double largest = 0.0;
    for (int64_t e = 0; e < n_; ++e) largest = std::max(largest, double{std::abs(grad[e])});
    largest = reduce_max(largest);
    const double scale = largest > 0.0 ? first_step_ / largest : 0.0;
    for (int64_t e = 0; e < n_; ++e) d_[e] = static_cast<float>(-scale * grad[e]);
  };
  if (count_ == 0) {
    steepest();
  } else {
    direction(grad);
  }
  double slope = reduce_sum(dot(grad, d_.data(), n_));
  if (!(slope < 0.0)) {
    count_ = 0;
    steepest();
    slope = reduce_sum(dot(grad, d_.data(), n_));
  }
  if (!(slope < 0.0)) return loss;  // zero gradient: nothing to do

  const int slot = (newest_ + 1) % history_;
  double ys = 0.0, yy = 0.0, ss = 0.0, new_loss = loss;
  if (!compact_) {
    // The slot the new pair goes to keeps x and grad until the step is taken.
    float* s = s_[slot].data();
    float* y = y_[slot].data();
    std::memcpy(s, x, sizeof(float) * n_);
    std::memcpy(y, grad, sizeof(float) * n_);
    double t = 1.0;
    for (int tries = 0; tries < 12; ++tries) {
      for (int64_t e = 0; e < n_; ++e) x[e] = s[e] + static_cast<float>(t) * d_[e];
      ++evaluations_;
      new_loss = objective(x, grad);
      if (std::isfinite(new_loss) && new_loss <= loss + 1e-4 * t * slope) break;
      t *= 0.5;
    }
    for (int64_t e = 0; e < n_; ++e) {
      s[e] = x[e] - s[e];
      y[e] = grad[e] - y[e];
    }
    ys = dot(y, s, n_);
    yy = dot(y, y, n_);
    ss = dot(s, s, n_);
  } else {
    // The old gradient waits in the y slot; x moves along d, so s = t d without an old copy.
    uint16_t* s = s_half_[slot].data();
    uint16_t* y = y_half_[slot].data();
    for (int64_t e = 0; e < n_; ++e) y[e] = to_bf16(grad[e]);
    double t = 1.0, at = 0.0;  // at: how far along d x stands now
    for (int tries = 0; tries < 12; ++tries) {
      const float move = static_cast<float>(t - at);
      for (int64_t e = 0; e < n_; ++e) x[e] += move * d_[e];
      at = t;
      ++evaluations_;
      new_loss = objective(x, grad);
      if (std::isfinite(new_loss) && new_loss <= loss + 1e-4 * t * slope) break;
      t *= 0.5;
    }
    for (int64_t e = 0; e < n_; ++e) {
      const float s_e = static_cast<float>(at) * d_[e];
      const float y_e = grad[e] - from_bf16(y[e]);
      s[e] = to_bf16(s_e);
      y[e] = to_bf16(y_e);
      const double sb = from_bf16(s[e]), yb = from_bf16(y[e]);  // the pair as kept
      ys += yb * sb;
      yy += yb * yb;
      ss += sb * sb;
    }
  }
  double pair[3] = {ys, yy, ss};
  reduce_sum(pair);
  ys = pair[0];
  yy = pair[1];
  ss = pair[2];
  if (ys > 1e-10 * std::sqrt(yy * ss) && ys > 0.0) {
    rho_[slot] = 1.0 / ys;
    newest_ = slot;
    count_ = std::min(count_ + 1, history_);
  } else if (count_ == history_) {
    --count_;  // the pair is dropped, and the slot held the oldest one
  }
  return new_loss;
}

}  // namespace footprint
