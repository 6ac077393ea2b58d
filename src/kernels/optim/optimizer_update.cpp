#include "kernels/optim/optimizer_update.hpp"

#include <cmath>

#include "core/thread_pool.hpp"

namespace footprint {

void optimizer_update(ThreadPool& pool, OptimizerKind kind, const OptimizerParams& p, int64_t step,
                      int64_t n, float* w, const float* g, float* s0, float* s1) {
  const float bias1 = 1.0f - std::pow(p.beta1, static_cast<float>(step));
  const float bias2 = 1.0f - std::pow(p.beta2, static_cast<float>(step));
  pool.parallel_for(n, [&](int64_t begin, int64_t end, int) {
    for (int64_t i = begin; i < end; ++i) {
      switch (kind) {
        case OptimizerKind::sgd:
          w[i] -= p.lr * (g[i] + p.weight_decay * w[i]);
          break;
        case OptimizerKind::momentum: {
          const float grad = g[i] + p.weight_decay * w[i];
          s0[i] = p.momentum * s0[i] + grad;
          w[i] -= p.lr * (p.nesterov ? grad + p.momentum * s0[i] : s0[i]);
          break;
        }
        case OptimizerKind::adam:
        case OptimizerKind::adamw: {
          float grad = g[i];
          if (kind == OptimizerKind::adamw) {
            w[i] -= p.lr * p.weight_decay * w[i];  // decoupled weight decay
          } else {
            grad += p.weight_decay * w[i];
          }
          s0[i] = p.beta1 * s0[i] + (1.0f - p.beta1) * grad;
          s1[i] = p.beta2 * s1[i] + (1.0f - p.beta2) * grad * grad;
          const float m_hat = s0[i] / bias1, v_hat = s1[i] / bias2;
          w[i] -= p.lr * m_hat / (std::sqrt(v_hat) + p.eps);
          break;
        }
      }
    }
  });
}

}  // namespace footprint
