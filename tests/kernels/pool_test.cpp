// Max and average pooling kernels against plain loops written here: padding (on one side only
// too), strides that differ from the window, odd sizes, accumulate on and off, 1 and 2 threads.
#include "kernels/pool/pool.hpp"

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

struct PoolCase {
  int64_t in_h, in_w;
  int64_t kernel_h, kernel_w;
  int64_t stride_h, stride_w;
  int64_t pad_top = 0, pad_bottom = 0, pad_left = 0, pad_right = 0;

  [[nodiscard]] ConvGeometry geometry() const {
    ConvGeometry g{.in_h = in_h, .in_w = in_w, .kernel_h = kernel_h, .kernel_w = kernel_w,
        .stride_h = stride_h, .stride_w = stride_w, .pad_top = pad_top, .pad_left = pad_left};
    g.out_h = conv_out_size(in_h, kernel_h, stride_h, pad_top, pad_bottom, 1);
    g.out_w = conv_out_size(in_w, kernel_w, stride_w, pad_left, pad_right, 1);
    return g;
  }
};

std::string describe(const PoolCase& c, int64_t planes, int threads) {
  const ConvGeometry g = c.geometry();
  std::ostringstream out;
  out << "pool planes=" << planes << " in=" << c.in_h << "x" << c.in_w << " out=" << g.out_h << "x"
      << g.out_w << " kernel=" << c.kernel_h << "x" << c.kernel_w << " stride=" << c.stride_h << "x"
      << c.stride_w << " pad(top,bottom,left,right)=" << c.pad_top << "," << c.pad_bottom << ","
      << c.pad_left << "," << c.pad_right << " threads=" << threads;
  return out.str();
}

// The reference: every window clipped to the image; padding is never a candidate for the max
// and never counted in the average. Ties go to the first tap in row-major order.
struct RefPool {
  std::vector<float> max_dst, avg_dst, max_d_src, avg_d_src;
  std::vector<int64_t> max_tap;  // kh * kernel_w + kw of the winner
};

RefPool reference(const ConvGeometry& g, int64_t planes, const std::vector<float>& src,
                  const std::vector<float>& d_dst) {
  const int64_t in_plane = g.in_h * g.in_w, out_plane = g.out_h * g.out_w;
  RefPool r;
  r.max_dst.assign(planes * out_plane, 0.0f);
  r.avg_dst.assign(planes * out_plane, 0.0f);
  r.max_tap.assign(planes * out_plane, -1);
  r.max_d_src.assign(planes * in_plane, 0.0f);
  r.avg_d_src.assign(planes * in_plane, 0.0f);
  for (int64_t p = 0; p < planes; ++p) {
    for (int64_t oh = 0; oh < g.out_h; ++oh) {
      for (int64_t ow = 0; ow < g.out_w; ++ow) {
        const int64_t o = p * out_plane + oh * g.out_w + ow;
        double sum = 0.0;
        int64_t taps = 0, best = -1;
        for (int64_t kh = 0; kh < g.kernel_h; ++kh) {
          for (int64_t kw = 0; kw < g.kernel_w; ++kw) {
            const int64_t ih = oh * g.stride_h - g.pad_top + kh;
            const int64_t iw = ow * g.stride_w - g.pad_left + kw;
            if (ih < 0 || ih >= g.in_h || iw < 0 || iw >= g.in_w) continue;
            const int64_t i = p * in_plane + ih * g.in_w + iw;
            sum += src[i];
            ++taps;
            if (best < 0 || src[i] > src[best]) best = i, r.max_tap[o] = kh * g.kernel_w + kw;
          }
        }
        r.max_dst[o] = src[best];
        r.max_d_src[best] += d_dst[o];
        r.avg_dst[o] = static_cast<float>(sum / static_cast<double>(taps));
        for (int64_t kh = 0; kh < g.kernel_h; ++kh) {
          for (int64_t kw = 0; kw < g.kernel_w; ++kw) {
            const int64_t ih = oh * g.stride_h - g.pad_top + kh;
            const int64_t iw = ow * g.stride_w - g.pad_left + kw;
            if (ih < 0 || ih >= g.in_h || iw < 0 || iw >= g.in_w) continue;
            r.avg_d_src[p * in_plane + ih * g.in_w + iw] +=
                static_cast<float>(d_dst[o] / static_cast<double>(taps));
          }
        }
      }
    }
  }
  return r;
}

std::vector<float> random_floats(int64_t n_elems, uint64_t seed, float lo, float hi) {
  Rng rng(seed);
  std::vector<float> v(n_elems);
  for (float& x : v) x = rng.uniform(lo, hi);
  return v;
}

::testing::AssertionResult close(const char* what, const std::vector<float>& got,
                                 const std::vector<float>& want, int64_t plane_elems) {
  for (size_t i = 0; i < want.size(); ++i) {
    const float tolerance = 1e-5f * std::max(1.0f, std::fabs(want[i]));
    if (!(std::fabs(got[i] - want[i]) <= tolerance)) {
      return ::testing::AssertionFailure()
             << what << ": plane " << i / plane_elems << " element " << i % plane_elems << ": got "
             << got[i] << ", reference " << want[i];
    }
  }
  return ::testing::AssertionSuccess();
}

void check_case(const PoolCase& c, float lo, float hi, ThreadPool* const* pools, int n_pools) {
  const ConvGeometry g = c.geometry();
  ASSERT_GT(g.out_h, 0) << describe(c, 1, 1);
  ASSERT_GT(g.out_w, 0) << describe(c, 1, 1);
  const int64_t in_plane = g.in_h * g.in_w, out_plane = g.out_h * g.out_w;
  for (int64_t planes : {1, 5}) {
    const std::vector<float> src = random_floats(planes * in_plane, 1 + planes * in_plane, lo, hi);
    const std::vector<float> d_dst = random_floats(planes * out_plane, 2 + out_plane, -1, 1);
    const std::vector<float> d_src_start = random_floats(planes * in_plane, 3 + in_plane, -1, 1);
    const RefPool want = reference(g, planes, src, d_dst);
    std::vector<float> want_max_acc = d_src_start, want_avg_acc = d_src_start;
    for (size_t i = 0; i < d_src_start.size(); ++i) {
      want_max_acc[i] += want.max_d_src[i];
      want_avg_acc[i] += want.avg_d_src[i];
    }
    const float nan = std::numeric_limits<float>::quiet_NaN();
    for (int p = 0; p < n_pools; ++p) {
      ThreadPool& pool = *pools[p];
      SCOPED_TRACE(describe(c, planes, pool.size()));

      std::vector<float> dst(planes * out_plane, nan);
      std::vector<uint8_t> argmax(planes * out_plane, 255);
      maxpool_forward(pool, g, planes, src.data(), dst.data(), argmax.data());
      EXPECT_TRUE(close("maxpool dst", dst, want.max_dst, out_plane));
      for (size_t o = 0; o < argmax.size(); ++o) {
        ASSERT_EQ(int{argmax[o]}, want.max_tap[o])
            << "argmax of plane " << o / out_plane << " output " << o % out_plane;
      }
      std::fill(dst.begin(), dst.end(), nan);
      maxpool_forward(pool, g, planes, src.data(), dst.data(), /*argmax=*/nullptr);
      EXPECT_TRUE(close("maxpool dst (inference, no argmax)", dst, want.max_dst, out_plane));

      std::vector<float> d_src(planes * in_plane, nan);
      maxpool_backward(pool, g, planes, argmax.data(), d_dst.data(), d_src.data(),
                       /*accumulate=*/false);
      EXPECT_TRUE(close("maxpool d_src", d_src, want.max_d_src, in_plane));
      d_src = d_src_start;
      maxpool_backward(pool, g, planes, argmax.data(), d_dst.data(), d_src.data(),
                       /*accumulate=*/true);
      EXPECT_TRUE(close("maxpool d_src accumulated", d_src, want_max_acc, in_plane));

      std::fill(dst.begin(), dst.end(), nan);
      avgpool_forward(pool, g, planes, src.data(), dst.data());
      EXPECT_TRUE(close("avgpool dst", dst, want.avg_dst, out_plane));
      std::fill(d_src.begin(), d_src.end(), nan);
      avgpool_backward(pool, g, planes, d_dst.data(), d_src.data(), /*accumulate=*/false);
      EXPECT_TRUE(close("avgpool d_src", d_src, want.avg_d_src, in_plane));
      d_src = d_src_start;
      avgpool_backward(pool, g, planes, d_dst.data(), d_src.data(), /*accumulate=*/true);
      EXPECT_TRUE(close("avgpool d_src accumulated", d_src, want_avg_acc, in_plane));
      if (::testing::Test::HasFailure()) return;  // one failing configuration says enough
    }
  }
}

const PoolCase kCases[] = {
    // Window == stride, on sizes it does not divide (the last row/column is dropped).
    {.in_h = 7, .in_w = 5, .kernel_h = 2, .kernel_w = 2, .stride_h = 2, .stride_w = 2},
    {.in_h = 10, .in_w = 11, .kernel_h = 3, .kernel_w = 3, .stride_h = 3, .stride_w = 3},
    // Overlapping windows (stride < window) and gaps (stride > window).
    {.in_h = 9, .in_w = 8, .kernel_h = 3, .kernel_w = 3, .stride_h = 2, .stride_w = 2, .pad_top = 1,
     .pad_bottom = 1, .pad_left = 1, .pad_right = 1},
    {.in_h = 7, .in_w = 7, .kernel_h = 3, .kernel_w = 3, .stride_h = 1, .stride_w = 1, .pad_top = 1,
     .pad_bottom = 1, .pad_left = 1, .pad_right = 1},
    {.in_h = 6, .in_w = 5, .kernel_h = 2, .kernel_w = 2, .stride_h = 1, .stride_w = 1},
    {.in_h = 11, .in_w = 9, .kernel_h = 2, .kernel_w = 2, .stride_h = 3, .stride_w = 3},
    {.in_h = 13, .in_w = 12, .kernel_h = 5, .kernel_w = 5, .stride_h = 2, .stride_w = 2,
     .pad_top = 2, .pad_bottom = 2, .pad_left = 2, .pad_right = 2},
    // Padding on one side only: bottom/right implied by out_h/out_w, then top/left alone.
    {.in_h = 6, .in_w = 8, .kernel_h = 3, .kernel_w = 3, .stride_h = 2, .stride_w = 2,
     .pad_bottom = 1, .pad_right = 1},
    {.in_h = 7, .in_w = 6, .kernel_h = 3, .kernel_w = 3, .stride_h = 2, .stride_w = 2, .pad_top = 1,
     .pad_left = 1},
    {.in_h = 5, .in_w = 8, .kernel_h = 2, .kernel_w = 2, .stride_h = 1, .stride_w = 2, .pad_top = 1,
     .pad_right = 1},
    // Non-square windows and strides; a window covering the whole (padded) input.
    {.in_h = 7, .in_w = 9, .kernel_h = 2, .kernel_w = 3, .stride_h = 1, .stride_w = 2,
     .pad_left = 1, .pad_right = 1},
    {.in_h = 3, .in_w = 3, .kernel_h = 4, .kernel_w = 4, .stride_h = 1, .stride_w = 1, .pad_top = 1,
     .pad_left = 0, .pad_right = 1},
    {.in_h = 1, .in_w = 1, .kernel_h = 1, .kernel_w = 1, .stride_h = 1, .stride_w = 1},
};

TEST(PoolTest, MatchesPlainLoops) {
  ThreadPool one(1), two(2);
  ThreadPool* const pools[] = {&one, &two};
  for (const PoolCase& c : kCases) {
    check_case(c, -1.0f, 1.0f, pools, 2);
    if (HasFailure()) return;
  }
}

// All inputs negative: a kernel that let padding (zero) win the max would show here.
TEST(PoolTest, PaddingNeverWinsTheMax) {
  ThreadPool one(1), two(2);
  ThreadPool* const pools[] = {&one, &two};
  for (const PoolCase& c : kCases) {
    check_case(c, -3.0f, -1.0f, pools, 2);
    if (HasFailure()) return;
  }
}

// With ties the winning tap is the kernel's choice, but it must hold the max and lie inside
// both the window and the image, and the gradient must land there.
TEST(PoolTest, TiesRouteTheGradientToOneTapHoldingTheMax) {
  ThreadPool two(2);
  const PoolCase c{.in_h = 9, .in_w = 8, .kernel_h = 3, .kernel_w = 3, .stride_h = 2, .stride_w = 2,
      .pad_top = 1, .pad_bottom = 1, .pad_left = 1, .pad_right = 1};
  const ConvGeometry g = c.geometry();
  const int64_t planes = 3, in_plane = g.in_h * g.in_w, out_plane = g.out_h * g.out_w;
  SCOPED_TRACE(describe(c, planes, two.size()));
  std::vector<float> src = random_floats(planes * in_plane, 9, 0.0f, 3.0f);
  for (float& x : src) x = std::floor(x);  // values 0, 1, 2: many ties
  std::vector<float> dst(planes * out_plane);
  std::vector<uint8_t> argmax(planes * out_plane);
  maxpool_forward(two, g, planes, src.data(), dst.data(), argmax.data());
  for (int64_t o = 0; o < planes * out_plane; ++o) {
    const int64_t p = o / out_plane, oh = o % out_plane / g.out_w, ow = o % g.out_w;
    const int64_t ih = oh * g.stride_h - g.pad_top + argmax[o] / g.kernel_w;
    const int64_t iw = ow * g.stride_w - g.pad_left + argmax[o] % g.kernel_w;
    ASSERT_LT(argmax[o], g.kernel_h * g.kernel_w) << "output " << o;
    ASSERT_TRUE(ih >= 0 && ih < g.in_h && iw >= 0 && iw < g.in_w)
        << "output " << o << " picked tap " << int{argmax[o]} << " outside the image";
    EXPECT_EQ(src[p * in_plane + ih * g.in_w + iw], dst[o]) << "output " << o;
    std::vector<float> d_dst(planes * out_plane, 0.0f), d_src(planes * in_plane, 1.0f);
    d_dst[o] = 1.0f;
    maxpool_backward(two, g, planes, argmax.data(), d_dst.data(), d_src.data(),
                     /*accumulate=*/false);
    for (int64_t i = 0; i < planes * in_plane; ++i) {
      ASSERT_EQ(d_src[i], i == p * in_plane + ih * g.in_w + iw ? 1.0f : 0.0f)
          << "output " << o << ": gradient at input " << i;
    }
  }
}

// The 2x2 stride-2 fast path (pool_2x2.cpp): even and odd sizes (an uncovered last row or
// column), planes large enough that two threads split them, and the smallest image.
TEST(PoolTest, TwoByTwoFastPathMatchesPlainLoops) {
  ThreadPool one(1), two(2);
  ThreadPool* const pools[] = {&one, &two};
  const PoolCase cases[] = {
      {.in_h = 64, .in_w = 64, .kernel_h = 2, .kernel_w = 2, .stride_h = 2, .stride_w = 2},
      {.in_h = 33, .in_w = 17, .kernel_h = 2, .kernel_w = 2, .stride_h = 2, .stride_w = 2},
      {.in_h = 130, .in_w = 3, .kernel_h = 2, .kernel_w = 2, .stride_h = 2, .stride_w = 2},
      {.in_h = 2, .in_w = 2, .kernel_h = 2, .kernel_w = 2, .stride_h = 2, .stride_w = 2},
  };
  for (const PoolCase& c : cases) {
    ASSERT_TRUE(pool_2x2_applies(c.geometry())) << describe(c, 1, 1);
    check_case(c, -1.0f, 1.0f, pools, 2);
    if (HasFailure()) return;
  }
}

}  // namespace
}  // namespace footprint
