#include "style/image_optimizer.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

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

AdamImageOptimizer::AdamImageOptimizer(int64_t n, double lr, double beta1, double beta2,
                                       double eps)
    : n_(n), lr_(lr), beta1_(beta1), beta2_(beta2), eps_(eps), m_(n), v_(n) {
  std::fill_n(m_.data(), n, 0.0f);
  std::fill_n(v_.data(), n, 0.0f);
}

double AdamImageOptimizer::step(float* x, float* grad, double /*loss*/,
                                const ImageObjective& objective) {
  ++t_;
  const double c1 = 1.0 - std::pow(beta1_, static_cast<double>(t_));
  const double c2 = 1.0 - std::pow(beta2_, static_cast<double>(t_));
  const float b1 = static_cast<float>(beta1_), b2 = static_cast<float>(beta2_);
  const float step = static_cast<float>(lr_ / c1), root_c2 = static_cast<float>(std::sqrt(c2));
  const float eps = static_cast<float>(eps_);
  for (int64_t i = 0; i < n_; ++i) {
    m_[i] = b1 * m_[i] + (1.0f - b1) * grad[i];
    v_[i] = b2 * v_[i] + (1.0f - b2) * grad[i] * grad[i];
    x[i] -= step * m_[i] / (std::sqrt(v_[i]) / root_c2 + eps);
  }
  ++evaluations_;
  return objective(x, grad);
}

LbfgsImageOptimizer::LbfgsImageOptimizer(int64_t n, int history, double first_step)
    : n_(n), history_(std::max(1, history)), first_step_(first_step), d_(n),
      rho_(static_cast<size_t>(std::max(1, history)), 0.0) {
  for (int i = 0; i < history_; ++i) {
    s_.emplace_back(n);
    y_.emplace_back(n);
  }
}

void LbfgsImageOptimizer::direction(const float* grad) {
  float* q = d_.data();
  std::memcpy(q, grad, sizeof(float) * n_);
  std::vector<double> alpha(static_cast<size_t>(count_));
  for (int k = 0; k < count_; ++k) {  // newest to oldest
    const int i = (newest_ - k + history_) % history_;
    alpha[k] = rho_[i] * dot(s_[i].data(), q, n_);
    axpy(-alpha[k], y_[i].data(), q, n_);
  }
  // Initial Hessian scaled by the newest pair's curvature, s.y / y.y.
  const int i = newest_;
  const double gamma = 1.0 / (rho_[i] * dot(y_[i].data(), y_[i].data(), n_));
  for (int64_t e = 0; e < n_; ++e) q[e] = static_cast<float>(gamma * q[e]);
  for (int k = count_ - 1; k >= 0; --k) {  // oldest to newest
    const int j = (newest_ - k + history_) % history_;
    const double beta = rho_[j] * dot(y_[j].data(), q, n_);
    axpy(alpha[k] - beta, s_[j].data(), q, n_);
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
    const double scale = largest > 0.0 ? first_step_ / largest : 0.0;
    for (int64_t e = 0; e < n_; ++e) d_[e] = static_cast<float>(-scale * grad[e]);
  };
  if (count_ == 0) {
    steepest();
  } else {
    direction(grad);
  }
  double slope = dot(grad, d_.data(), n_);
  if (!(slope < 0.0)) {
    count_ = 0;
    steepest();
    slope = dot(grad, d_.data(), n_);
  }
  if (!(slope < 0.0)) return loss;  // zero gradient: nothing to do

  // The slot the new pair goes to keeps x and grad until the step is taken.
  const int slot = (newest_ + 1) % history_;
  float* s = s_[slot].data();
  float* y = y_[slot].data();
  std::memcpy(s, x, sizeof(float) * n_);
  std::memcpy(y, grad, sizeof(float) * n_);
  double t = 1.0, new_loss = loss;
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
  const double ys = dot(y, s, n_);
  if (ys > 1e-10 * std::sqrt(dot(y, y, n_) * dot(s, s, n_)) && ys > 0.0) {
    rho_[slot] = 1.0 / ys;
    newest_ = slot;
    count_ = std::min(count_ + 1, history_);
  } else if (count_ == history_) {
    --count_;  // the pair is dropped, and the slot held the oldest one
  }
  return new_loss;
}

}  // namespace footprint
