#include "kernels/loss/loss.hpp"

#include <cmath>

#include "core/check.hpp"

namespace footprint {

double loss_forward_backward(LossKind kind, int64_t batch, int64_t classes, const float* out,
                             const void* target, float* d_out) {
  double total = 0.0;
  if (kind == LossKind::mse) {
    const float* t = static_cast<const float*>(target);
    const int64_t n = batch * classes;
    const float scale = 2.0f / static_cast<float>(n);
    for (int64_t i = 0; i < n; ++i) {
      const float diff = out[i] - t[i];
      total += static_cast<double>(diff) * diff;
      if (d_out) d_out[i] = scale * diff;
    }
    return total / static_cast<double>(n);
  }
  FP_CHECK(kind == LossKind::softmax_xent, "loss kind %d", static_cast<int>(kind));
  const int32_t* labels = static_cast<const int32_t*>(target);
  for (int64_t n = 0; n < batch; ++n) {
    const float* row = out + n * classes;
    const int32_t label = labels[n];
    FP_CHECK(label >= 0 && label < classes, "label %d of sample %lld, %lld classes", label,
             static_cast<long long>(n), static_cast<long long>(classes));
    float max_value = row[0];
    for (int64_t c = 1; c < classes; ++c) max_value = std::fmax(max_value, row[c]);
    double sum = 0.0;
    for (int64_t c = 0; c < classes; ++c) sum += std::exp(static_cast<double>(row[c] - max_value));
    const double log_sum = std::log(sum) + max_value;
    total += log_sum - row[label];
    if (d_out) {
      float* d_row = d_out + n * classes;
      for (int64_t c = 0; c < classes; ++c) {
        const double p = std::exp(static_cast<double>(row[c]) - log_sum);
        d_row[c] = static_cast<float>((p - (c == label ? 1.0 : 0.0)) / static_cast<double>(batch));
      }
    }
  }
  return total / static_cast<double>(batch);
}

}  // namespace footprint
