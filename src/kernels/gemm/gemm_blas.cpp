#include <cblas.h>

#include <algorithm>

#include "core/thread_pool.hpp"
#include "kernels/gemm/gemm.hpp"

namespace footprint {

void gemm_blas_init() {
  // Our pool splits every GEMM; OpenBLAS threads on top would oversubscribe the cores.
  openblas_set_num_threads(1);
}

namespace {

void sgemm(const GemmShape& s, int64_t m, int64_t n, float alpha, const float* a, const float* b,
           float beta, float* c) {
  cblas_sgemm(CblasRowMajor, s.trans_a ? CblasTrans : CblasNoTrans,
              s.trans_b ? CblasTrans : CblasNoTrans, static_cast<int>(m), static_cast<int>(n),
              static_cast<int>(s.k), alpha, a, static_cast<int>(s.lda), b,
              static_cast<int>(s.ldb), beta, c, static_cast<int>(s.ldc));
}

}  // namespace

void gemm_blas_serial(const GemmShape& s, float alpha, const float* a, const float* b, float beta,
                      float* c) {
  if (s.m == 0 || s.n == 0) return;
  sgemm(s, s.m, s.n, alpha, a, b, beta, c);
}

void gemm_blas(ThreadPool& pool, const GemmShape& s, float alpha, const float* a, const float* b,
               float beta, float* c) {
  if (s.m == 0 || s.n == 0) return;
  // Split the larger side of C; a slice narrower than 16 wastes the BLAS micro-kernel, and a
  // slice of fewer than kMinMacsPerThread multiply-adds (a few microseconds) costs less to do
  // than to hand to another thread.
  constexpr int64_t kMinMacsPerThread = int64_t{1} << 18;
  const int threads = pool.size();
  const bool split_n = s.n >= s.m;
  const int64_t side = split_n ? s.n : s.m;
  const int64_t macs = s.m * s.n * s.k;
  const int64_t chunks = std::min<int64_t>({threads, std::max<int64_t>(1, side / 16),
                                            std::max<int64_t>(1, macs / kMinMacsPerThread)});
  if (chunks <= 1) {
    sgemm(s, s.m, s.n, alpha, a, b, beta, c);
    return;
  }
  pool.parallel_for(chunks, [&](int64_t begin, int64_t end, int) {
    for (int64_t chunk = begin; chunk < end; ++chunk) {
      int64_t lo = side * chunk / chunks;
      int64_t hi = side * (chunk + 1) / chunks;
      if (split_n) {
        const float* b_slice = s.trans_b ? b + lo * s.ldb : b + lo;
        sgemm(s, s.m, hi - lo, alpha, a, b_slice, beta, c + lo);
      } else {
        const float* a_slice = s.trans_a ? a + lo : a + lo * s.lda;
        sgemm(s, hi - lo, s.n, alpha, a_slice, b, beta, c + lo * s.ldc);
      }
    }
  });
}

}  // namespace footprint
