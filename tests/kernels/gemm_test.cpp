// gemm_blas (split over our thread pool) against gemm_ref on awkward shapes, every transpose
// combination, loose leading dimensions and alpha/beta other than 1/0. Speed lives in bench/.
#include "kernels/gemm/gemm.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "core/rng.hpp"
#include "core/thread_pool.hpp"

namespace footprint {
namespace {

constexpr int64_t kSizes[] = {1, 3, 13, 23, 64, 130};
// Extra floats between rows of every matrix, so a kernel that assumes ld == row length fails.
constexpr int64_t kLdSlack = 3;
// Marks C's slack columns: gemm must never write between the rows it owns.
constexpr float kSlackSentinel = -12345.0f;

std::string describe(const GemmShape& s, float alpha, float beta, int threads) {
  std::ostringstream out;
  out << "gemm m=" << s.m << " n=" << s.n << " k=" << s.k << " trans_a=" << s.trans_a
      << " trans_b=" << s.trans_b << " lda=" << s.lda << " ldb=" << s.ldb << " ldc=" << s.ldc
      << " alpha=" << alpha << " beta=" << beta << " threads=" << threads;
  return out.str();
}

std::vector<float> random_floats(int64_t n_elems, uint64_t seed) {
  Rng rng(seed);
  std::vector<float> v(n_elems);
  for (float& x : v) x = rng.uniform(-1.0f, 1.0f);
  return v;
}

class GemmTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { gemm_blas_init(); }
};

// One shape, one alpha/beta, every thread count. C starts from the same contents for the
// reference and for each run; with beta == 0 those contents are NaN and must not leak through.
void check_gemm(const GemmShape& s, float alpha, float beta, ThreadPool* const* pools,
                int n_pools) {
  const int64_t a_rows = s.trans_a ? s.k : s.m;
  const int64_t b_rows = s.trans_b ? s.n : s.k;
  const std::vector<float> a = random_floats(a_rows * s.lda, 11 + s.m * 7 + s.k);
  const std::vector<float> b = random_floats(b_rows * s.ldb, 13 + s.n * 5 + s.k);
  std::vector<float> c_start = random_floats(s.m * s.ldc, 17 + s.m + s.n);
  for (int64_t i = 0; i < s.m; ++i) {
    for (int64_t j = 0; j < s.ldc; ++j) {
      float& x = c_start[i * s.ldc + j];
      if (j >= s.n) {
        x = kSlackSentinel;
      } else if (beta == 0.0f) {
        x = std::numeric_limits<float>::quiet_NaN();
      }
    }
  }
  std::vector<float> want = c_start;
  gemm_ref(s, alpha, a.data(), b.data(), beta, want.data());
  float max_ref = 0.0f;
  for (int64_t i = 0; i < s.m; ++i)
    for (int64_t j = 0; j < s.n; ++j) max_ref = std::max(max_ref, std::fabs(want[i * s.ldc + j]));

  for (int p = 0; p < n_pools; ++p) {
    ThreadPool& pool = *pools[p];
    SCOPED_TRACE(describe(s, alpha, beta, pool.size()));
    std::vector<float> got = c_start;
    gemm_blas(pool, s, alpha, a.data(), b.data(), beta, got.data());
    float max_diff = 0.0f;
    int64_t worst = 0;
    for (int64_t i = 0; i < s.m; ++i) {
      for (int64_t j = 0; j < s.ldc; ++j) {
        const int64_t at = i * s.ldc + j;
        if (j >= s.n) {
          ASSERT_EQ(got[at], kSlackSentinel) << "wrote C's slack at row " << i << " column " << j;
          continue;
        }
        const float diff = std::fabs(got[at] - want[at]);
        if (!(diff <= max_diff)) max_diff = diff, worst = at;  // NaN lands here too
      }
    }
    EXPECT_LE(max_diff, 1e-5f * std::max(1.0f, max_ref))
        << "worst at C[" << worst / s.ldc << "][" << worst % s.ldc << "]: got " << got[worst]
        << ", reference " << want[worst];
  }
}

TEST_F(GemmTest, MatchesReferenceOnAwkwardShapes) {
  ThreadPool one(1), two(2), three(3);
  ThreadPool* const pools[] = {&one, &two, &three};
  struct Scale {
    float alpha, beta;
  };
  // beta == 0 with NaN in C, the plain product, and both scaled with C read back.
  constexpr Scale kScales[] = {{1.0f, 0.0f}, {-0.75f, 0.0f}, {1.0f, 1.0f}, {1.5f, -0.5f}};
  for (bool trans_a : {false, true}) {
    for (bool trans_b : {false, true}) {
      for (int64_t m : kSizes) {
        for (int64_t n : kSizes) {
          for (int64_t k : kSizes) {
            const GemmShape s{.trans_a = trans_a,
                              .trans_b = trans_b,
                              .m = m,
                              .n = n,
                              .k = k,
                              .lda = (trans_a ? m : k) + kLdSlack,
                              .ldb = (trans_b ? k : n) + kLdSlack,
                              .ldc = n + kLdSlack};
            for (const Scale& scale : kScales) {
              check_gemm(s, scale.alpha, scale.beta, pools, 3);
              if (HasFailure()) return;  // one failing shape says enough
            }
          }
        }
      }
    }
  }
}

TEST_F(GemmTest, TightLeadingDimensionsAndSplitsOfBothSides) {
  ThreadPool one(1), two(2), three(3);
  ThreadPool* const pools[] = {&one, &two, &three};
  // Wide (split over n), tall (split over m) and square, with rows packed back to back.
  const int64_t shapes[][3] = {
      {3, 130, 23}, {130, 3, 23}, {64, 64, 1}, {130, 130, 130}, {17, 16, 5}};
  for (const auto& [m, n, k] : shapes) {
    for (bool trans_a : {false, true}) {
      for (bool trans_b : {false, true}) {
        const GemmShape s{.trans_a = trans_a,
                          .trans_b = trans_b,
                          .m = m,
                          .n = n,
                          .k = k,
                          .lda = trans_a ? m : k,
                          .ldb = trans_b ? k : n,
                          .ldc = n};
        check_gemm(s, 0.5f, 0.0f, pools, 3);
        check_gemm(s, 1.0f, 2.0f, pools, 3);
      }
    }
  }
}

TEST_F(GemmTest, EmptyOutputTouchesNothing) {
  ThreadPool two(2);
  float c = 7.0f;
  const float a = 1.0f, b = 1.0f;
  gemm_blas(two, {.m = 0, .n = 1, .k = 1, .lda = 1, .ldb = 1, .ldc = 1}, 1.0f, &a, &b, 0.0f, &c);
  gemm_blas(two, {.m = 1, .n = 0, .k = 1, .lda = 1, .ldb = 1, .ldc = 1}, 1.0f, &a, &b, 0.0f, &c);
  EXPECT_EQ(c, 7.0f);
}

}  // namespace
}  // namespace footprint
