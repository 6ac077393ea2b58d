#include "kernels/gemm/gemm.hpp"

namespace footprint {

void gemm_ref(const GemmShape& s, float alpha, const float* a, const float* b, float beta, float* c) {
  for (int64_t i = 0; i < s.m; ++i) {
    for (int64_t j = 0; j < s.n; ++j) {
      double sum = 0.0;
      for (int64_t p = 0; p < s.k; ++p) {
        float av = s.trans_a ? a[p * s.lda + i] : a[i * s.lda + p];
        float bv = s.trans_b ? b[j * s.ldb + p] : b[p * s.ldb + j];
        sum += static_cast<double>(av) * bv;
      }
      float& out = c[i * s.ldc + j];
      out = static_cast<float>(alpha * sum + (beta == 0.0f ? 0.0 : beta * out));
    }
  }
}

}  // namespace footprint
