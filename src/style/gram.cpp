#include "style/gram.hpp"

#include "kernels/gemm/gemm.hpp"

namespace footprint {
namespace {

// Calls fn(offset, columns) for each contiguous run of the rectangle: one run when it spans
// whole rows, else one per row.
template <typename Fn>
void for_each_run(int64_t w, const FeatureRect& r, Fn&& fn) {
  if (r.positions() <= 0) return;
  if (r.x0 == 0 && r.x1 == w) {
    fn(r.y0 * w, (r.y1 - r.y0) * w);
    return;
  }
  for (int64_t y = r.y0; y < r.y1; ++y) fn(y * w + r.x0, r.x1 - r.x0);
}

}  // namespace

void accumulate_gram(ThreadPool& pool, const float* features, int64_t c, int64_t h, int64_t w,
                     const FeatureRect& rect, float* gram) {
  const int64_t plane = h * w;
  for_each_run(w, rect, [&](int64_t offset, int64_t columns) {
    // [C, C] += [C, columns] x [C, columns]^T, rows of F strided by the plane
    gemm_blas(pool, {.trans_b = true, .m = c, .n = c, .k = columns, .lda = plane, .ldb = plane,
                     .ldc = c}, 1.0f, features + offset, features + offset, 1.0f, gram);
  });
}

void apply_gram_gradient(ThreadPool& pool, const float* m, const float* features, int64_t c,
                         int64_t h, int64_t w, const FeatureRect& rect, float* d_features) {
  const int64_t plane = h * w;
  for_each_run(w, rect, [&](int64_t offset, int64_t columns) {
    // [C, columns] = [C, C] x [C, columns]
    gemm_blas(pool, {.m = c, .n = columns, .k = c, .lda = c, .ldb = plane, .ldc = plane}, 1.0f, m,
              features + offset, 0.0f, d_features + offset);
  });
}

}  // namespace footprint
