// Single-precision matrix multiply, row-major: C[M,N] = alpha * op(A)[M,K] * op(B)[K,N] + beta * C.
// gemm_ref is the plain-loop reference for tests; gemm_blas calls OpenBLAS (single-threaded)
// from every thread of our pool on its own slice of C, so BLAS and pool never compete for cores.
#pragma once

#include <cstdint>

namespace footprint {

class ThreadPool;

struct GemmShape {
  bool trans_a = false;
  bool trans_b = false;
  int64_t m = 0, n = 0, k = 0;
  int64_t lda = 0, ldb = 0, ldc = 0;
};

void gemm_ref(const GemmShape& s, float alpha, const float* a, const float* b, float beta, float* c);
void gemm_blas(ThreadPool& pool, const GemmShape& s, float alpha, const float* a, const float* b,
               float beta, float* c);
// The same on the calling thread alone (from inside a pool task).
void gemm_blas_serial(const GemmShape& s, float alpha, const float* a, const float* b, float beta,
                      float* c);
// Called once per process before the first gemm_blas: OpenBLAS's own threads stay off.
void gemm_blas_init();

// Has OpenBLAS set up, before any step, the buffers it would otherwise map the first time that
// many products run at once: each of the pool's threads runs one product needing a buffer, all
// at the same time (OpenBLAS keeps a buffer per concurrent call and maps a new one, 128 MiB of
// address space, when all are taken). Without this a step could map one mid-run.
void gemm_blas_warm_up(ThreadPool& pool);

}  // namespace footprint
