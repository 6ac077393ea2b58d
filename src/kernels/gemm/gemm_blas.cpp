#include <cblas.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <string>
#include <strings.h>
#include <thread>
#include <vector>

#include "core/thread_pool.hpp"
#include "kernels/eltwise/sum_lanes.hpp"
#include "kernels/gemm/gemm.hpp"

namespace footprint {

void gemm_blas_init() {
  // OpenBLAS starts its own worker threads when it loads (the CLI runs with
  // OPENBLAS_NUM_THREADS=1 and has none; a program linking the library may), and each maps its
  // 128 MiB buffer when it first runs: on a busy machine that can be long after, in the middle
  // of a step that must allocate nothing. One product split over all of them returns only once
  // every one has run, so their buffers exist before any runtime steps.
  static std::once_flag started;
  std::call_once(started, [] {
    if (openblas_get_num_threads() <= 1) return;
    constexpr int kSide = 512;  // large enough for OpenBLAS to split it over every thread
    std::vector<float> matrices(3 * kSide * kSide, 0.0f);
    float* a = matrices.data();
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, kSide, kSide, kSide, 1.0f, a, kSide,
                a + kSide * kSide, kSide, 0.0f, a + 2 * kSide * kSide, kSide);
  });
  // Our pool splits every GEMM; OpenBLAS threads on top would oversubscribe the cores.
  openblas_set_num_threads(1);
}

void gemm_blas_warm_up(ThreadPool& pool) {
  // OpenBLAS keeps a list of buffers for the products running at once, which only grows: once
  // this process has run as many at once as the pool has threads, no later step maps another.
  // (0 at first: even one thread's first large product maps a buffer.)
  static std::atomic<int> warmed{0};
  const int threads = pool.size();
  if (threads <= warmed.load()) return;
  // 160^3 multiply-adds: past the small-product kernels (10^6), so OpenBLAS takes a buffer.
  constexpr int64_t kSide = 160;
  constexpr int kMostRounds = 1000;
  std::vector<float> matrices(static_cast<size_t>(3 * kSide * kSide * threads), 0.0f);
  std::atomic<int> arrived{0}, inside{0};
  std::atomic<bool> overlapped{false};
  pool.parallel_for(threads, [&](int64_t chunk, int64_t, int) {
    arrived.fetch_add(1);  // every thread waits for the others, then they multiply together
    while (arrived.load() < threads) std::this_thread::yield();
    float* a = matrices.data() + 3 * kSide * kSide * chunk;
    // Until one thread ends its product with all the others inside theirs (each holding a
    // buffer): a thread the OS sets aside at the wrong moment only costs another round.
    for (int round = 0; round < kMostRounds && !overlapped.load(); ++round) {
      inside.fetch_add(1);
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, kSide, kSide, kSide, 1.0f, a, kSide,
                  a + kSide * kSide, kSide, 0.0f, a + 2 * kSide * kSide, kSide);
      if (inside.load() == threads) overlapped.store(true);
      inside.fetch_sub(1);
    }
  });
  if (overlapped.load()) {
    int seen = warmed.load();
    while (seen < threads && !warmed.compare_exchange_weak(seen, threads)) {
    }
  }
}

namespace {

// C[:, 0:cols] = alpha A B[:, 0:cols] + beta C for cols < 16 (A [m, k], B [k, ldb], both
// not transposed): the columns OpenBLAS is not given (see sgemm).
void gemm_narrow_nn(int64_t m, int64_t cols, int64_t k, float alpha, const float* a, int64_t lda,
                    const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  if (cols == 1 && ldb == 1) {
    // A matrix times a vector (a 1x1 convolution on a 1x1 map, as squeeze-and-excitation's):
    // one dot product per row, in eight lanes; the loop below would be one chain of
    // multiply-adds, each waiting for the last.
    for (int64_t i = 0; i < m; ++i) {
      const float* a_row = a + i * lda;
      const float dot = sum_lanes(k, [&](int64_t kk) { return a_row[kk] * b[kk]; });
      c[i * ldc] = beta == 0.0f ? alpha * dot : alpha * dot + beta * c[i * ldc];
    }
    return;
  }
  for (int64_t i = 0; i < m; ++i) {
    float acc[16] = {};
    const float* a_row = a + i * lda;
    for (int64_t kk = 0; kk < k; ++kk) {
      const float av = a_row[kk];
      const float* b_row = b + kk * ldb;
      for (int64_t t = 0; t < cols; ++t) acc[t] += av * b_row[t];
    }
    float* c_row = c + i * ldc;
    for (int64_t t = 0; t < cols; ++t)  // beta 0 never reads C, which may hold anything
      c_row[t] = beta == 0.0f ? alpha * acc[t] : alpha * acc[t] + beta * c_row[t];
  }
}

// OpenBLAS's AVX-512 kernels for small products (m n k at most 10^6) malloc a packing buffer
// on every call when neither side is transposed and n is not a multiple of 16 (OpenBLAS 0.3.21,
// SkylakeX and Cooperlake cores), and a step must allocate nothing: on those cores such a
// product's last n mod 16 columns are computed here instead. Other cores (Haswell, Zen) have no
// such kernels; there the split only cost time (DenseNet's 7x7 layers: 49 columns, 17 by hand).
bool small_kernels_allocate() {
  static const bool allocate = [] {
    const std::string core = openblas_get_corename();
    for (const char* avx512 : {"skylakex", "cooperlake", "sapphirerapids"})
      if (strcasecmp(core.c_str(), avx512) == 0) return true;
    return false;
  }();
  return allocate;
}

void sgemm(const GemmShape& s, int64_t m, int64_t n, float alpha, const float* a, const float* b,
           float beta, float* c) {
  constexpr double kSmallProduct = 1e6;
  if (!s.trans_a && !s.trans_b && n % 16 != 0 && small_kernels_allocate() &&
      static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(s.k) <= kSmallProduct) {
    const int64_t wide = n / 16 * 16;
    gemm_narrow_nn(m, n - wide, s.k, alpha, a, s.lda, b + wide, s.ldb, beta, c + wide, s.ldc);
    if (wide == 0) return;
    n = wide;
  }
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
