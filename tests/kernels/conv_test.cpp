// conv_forward_gemm / conv_backward_gemm (im2col tiles + BLAS over the thread pool) and the direct
// 3x3 kernels (AVX2 and plain loops) against the
// plain-loop conv_ref on awkward shapes: odd channel counts, tiles that do not divide the output,
// stride, dilation, groups, and padding on one side only. Speed lives in bench/.
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
#include "kernels/conv/conv_depthwise.hpp"
#include "kernels/conv/conv_direct.hpp"
#include "kernels/conv/conv_winograd.hpp"
#include "kernels/conv/conv_gemm.hpp"
#include "kernels/conv/conv_ref.hpp"
#include "kernels/gemm/gemm.hpp"

namespace footprint {
namespace {

// One convolution as a user would describe it: all four pads, out_h/out_w derived from them.
struct ConvCase {
  int64_t in_c, in_h, in_w;
  int64_t out_c;
  int64_t kernel_h, kernel_w;
  int64_t stride_h = 1, stride_w = 1;
  int64_t pad_top = 0, pad_bottom = 0, pad_left = 0, pad_right = 0;
  int64_t dilation_h = 1, dilation_w = 1;
  int64_t groups = 1;

  [[nodiscard]] ConvGeometry geometry() const {
    ConvGeometry g{.in_c = in_c, .in_h = in_h, .in_w = in_w, .out_c = out_c, .kernel_h = kernel_h,
        .kernel_w = kernel_w, .stride_h = stride_h, .stride_w = stride_w, .pad_top = pad_top,
        .pad_left = pad_left, .dilation_h = dilation_h, .dilation_w = dilation_w, .groups = groups};
    g.out_h = conv_out_size(in_h, kernel_h, stride_h, pad_top, pad_bottom, dilation_h);
    g.out_w = conv_out_size(in_w, kernel_w, stride_w, pad_left, pad_right, dilation_w);
    return g;
  }
};

// Everything needed to rerun one failing call.
std::string describe(const ConvCase& c, int64_t batch, int threads, int64_t tile_rows) {
  const ConvGeometry g = c.geometry();
  std::ostringstream out;
  out << "conv batch=" << batch << " in=" << c.in_c << "x" << c.in_h << "x" << c.in_w
      << " out=" << c.out_c << "x" << g.out_h << "x" << g.out_w << " kernel=" << c.kernel_h << "x"
      << c.kernel_w << " stride=" << c.stride_h << "x" << c.stride_w
      << " pad(top,bottom,left,right)=" << c.pad_top << "," << c.pad_bottom << "," << c.pad_left
      << "," << c.pad_right << " dilation=" << c.dilation_h << "x" << c.dilation_w
      << " groups=" << c.groups << " pointwise=" << g.is_pointwise() << " threads=" << threads
      << " tile_rows=" << tile_rows;
  return out.str();
}

std::vector<float> random_floats(int64_t n_elems, uint64_t seed) {
  Rng rng(seed);
  std::vector<float> v(n_elems);
  for (float& x : v) x = rng.uniform(-1.0f, 1.0f);
  return v;
}

// A 4-D layout, for naming the element where a comparison failed.
struct Dims {
  int64_t d0, d1, d2, d3;
  [[nodiscard]] std::string at(size_t flat) const {
    const auto i = static_cast<int64_t>(flat);
    std::ostringstream out;
    out << "[" << i / (d1 * d2 * d3) << "," << i / (d2 * d3) % d1 << "," << i / d3 % d2 << ","
        << i % d3 << "]";
    return out.str();
  }
};

// max |got - want| / max(1, max |want|); NaN in got counts as infinitely wrong.
::testing::AssertionResult close(const char* what, const Dims& dims, const std::vector<float>& got,
                                 const std::vector<float>& want) {
  float max_diff = 0.0f, max_ref = 0.0f;
  size_t worst = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    max_ref = std::max(max_ref, std::fabs(want[i]));
    const float diff = std::fabs(got[i] - want[i]);
    if (!(diff <= max_diff)) {
      max_diff = std::isnan(diff) ? std::numeric_limits<float>::infinity() : diff;
      worst = i;
    }
  }
  const float relative = max_diff / std::max(1.0f, max_ref);
  if (relative <= 1e-4f) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << what << ": relative error " << relative << " at " << dims.at(worst) << ": got "
         << got[worst] << ", reference " << want[worst];
}

// Guard floats after the workspace: the kernel must stay inside conv_gemm_workspace_floats.
constexpr int64_t kGuardFloats = 64;
constexpr float kGuard = 7777.0f;

class ConvTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { gemm_blas_init(); }
};

// Random inputs of one case at one batch and every output the plain-loop reference gives for
// them: what each fast kernel is compared with.
struct Reference {
  std::vector<float> src, weights, bias, d_dst, d_src_start;
  std::vector<float> dst, dst_no_bias, d_src, d_src_accumulated, d_weights, d_bias;
  Dims src_dims, dst_dims, weight_dims, bias_dims;
};

Reference reference(const ConvGeometry& g, int64_t batch, uint64_t seed) {
  const int64_t weight_elems = g.out_c * g.col_rows();
  const int64_t src_elems = batch * g.in_c * g.in_h * g.in_w;
  const int64_t dst_elems = batch * g.out_c * g.out_h * g.out_w;
  Reference r{.src = random_floats(src_elems, seed + src_elems),
              .weights = random_floats(weight_elems, seed + 1 + weight_elems),
              .bias = random_floats(g.out_c, seed + 2 + g.out_c),
              .d_dst = random_floats(dst_elems, seed + 3 + dst_elems),
              .d_src_start = random_floats(src_elems, seed + 4 + src_elems),
              .dst = std::vector<float>(dst_elems),
              .dst_no_bias = std::vector<float>(dst_elems),
              .d_src = std::vector<float>(src_elems),
              .d_src_accumulated = std::vector<float>(src_elems),
              .d_weights = std::vector<float>(weight_elems),
              .d_bias = std::vector<float>(g.out_c),
              .src_dims = {batch, g.in_c, g.in_h, g.in_w},
              .dst_dims = {batch, g.out_c, g.out_h, g.out_w},
              .weight_dims = {g.out_c, g.group_in_c(), g.kernel_h, g.kernel_w},
              .bias_dims = {g.out_c, 1, 1, 1}};
  conv_forward_ref(g, batch, r.src.data(), r.weights.data(), r.bias.data(), r.dst.data());
  conv_forward_ref(g, batch, r.src.data(), r.weights.data(), nullptr, r.dst_no_bias.data());
  conv_backward_ref(g, batch, r.src.data(), r.weights.data(), r.d_dst.data(), r.d_src.data(),
                    r.d_weights.data(), r.d_bias.data());
  for (int64_t i = 0; i < src_elems; ++i) r.d_src_accumulated[i] = r.d_src_start[i] + r.d_src[i];
  return r;
}

// Runs one case at every batch, thread count and tile size, forward and every backward output.
void check_case(const ConvCase& c, ThreadPool* const* pools, int n_pools) {
  const ConvGeometry g = c.geometry();
  ASSERT_GT(g.out_h, 0) << describe(c, 1, 1, 0);
  ASSERT_GT(g.out_w, 0) << describe(c, 1, 1, 0);
  const int64_t weight_elems = g.out_c * g.col_rows();
  for (int64_t batch : {1, 3}) {
    const Reference r = reference(g, batch, /*seed=*/1);
    const int64_t src_elems = batch * g.in_c * g.in_h * g.in_w;
    const int64_t dst_elems = batch * g.out_c * g.out_h * g.out_w;
    const std::vector<float>&src = r.src, &weights = r.weights, &bias = r.bias, &d_dst = r.d_dst,
                         &d_src_start = r.d_src_start;
    const std::vector<float>&want_dst = r.dst, &want_dst_no_bias = r.dst_no_bias,
                         &want_d_src = r.d_src, &want_d_src_accumulated = r.d_src_accumulated,
                         &want_d_weights = r.d_weights, &want_d_bias = r.d_bias;
    const Dims &src_dims = r.src_dims, &dst_dims = r.dst_dims, &weight_dims = r.weight_dims,
               &bias_dims = r.bias_dims;

    // Tiles of 1, 2 and 3 output rows (rarely dividing out_h) and the whole output at once.
    std::vector<int64_t> tiles = {1, 2, 3, g.out_h};
    tiles.erase(std::remove_if(tiles.begin(), tiles.end(), [&](int64_t t) { return t > g.out_h; }),
                tiles.end());
    for (int p = 0; p < n_pools; ++p) {
      ThreadPool& pool = *pools[p];
      for (int64_t tile_rows : tiles) {
        SCOPED_TRACE(describe(c, batch, pool.size(), tile_rows));
        const int64_t ws_floats = conv_gemm_workspace_floats(g, tile_rows);
        ASSERT_GE(ws_floats, 0);
        std::vector<float> workspace(ws_floats + kGuardFloats, kGuard);
        const float nan = std::numeric_limits<float>::quiet_NaN();

        std::vector<float> dst(dst_elems, nan);
        conv_forward_gemm(pool, g, batch, src.data(), weights.data(), bias.data(), dst.data(),
                          workspace.data(), tile_rows);
        EXPECT_TRUE(close("dst", dst_dims, dst, want_dst));
        std::fill(dst.begin(), dst.end(), nan);
        conv_forward_gemm(pool, g, batch, src.data(), weights.data(), nullptr, dst.data(),
                          workspace.data(), tile_rows);
        EXPECT_TRUE(close("dst without bias", dst_dims, dst, want_dst_no_bias));

        // Overwritten outputs start as NaN, so any read of their old contents shows.
        std::vector<float> d_src(src_elems, nan), d_weights(weight_elems, nan),
            d_bias(g.out_c, nan);
        conv_backward_gemm(pool, g, batch, src.data(), weights.data(), d_dst.data(), d_src.data(),
                           /*accumulate_d_src=*/false, d_weights.data(), d_bias.data(),
                           workspace.data(), tile_rows);
        EXPECT_TRUE(close("d_src", src_dims, d_src, want_d_src));
        EXPECT_TRUE(close("d_weights", weight_dims, d_weights, want_d_weights));
        EXPECT_TRUE(close("d_bias", bias_dims, d_bias, want_d_bias));

        d_src = d_src_start;
        conv_backward_gemm(pool, g, batch, src.data(), weights.data(), d_dst.data(), d_src.data(),
                           /*accumulate_d_src=*/true, nullptr, nullptr, workspace.data(),
                           tile_rows);
        EXPECT_TRUE(close("d_src accumulated", src_dims, d_src, want_d_src_accumulated));

        std::fill(d_weights.begin(), d_weights.end(), nan);
        conv_backward_gemm(pool, g, batch, src.data(), weights.data(), d_dst.data(), nullptr,
                           /*accumulate_d_src=*/false, d_weights.data(), nullptr, workspace.data(),
                           tile_rows);
        EXPECT_TRUE(close("d_weights without d_src", weight_dims, d_weights, want_d_weights));

        for (int64_t i = ws_floats; i < ws_floats + kGuardFloats; ++i) {
          ASSERT_EQ(workspace[i], kGuard)
              << "wrote past the workspace at float " << i << " of " << ws_floats;
        }
        if (::testing::Test::HasFailure()) return;  // one failing configuration says enough
      }
    }
  }
}

TEST_F(ConvTest, GemmMatchesReference) {
  ThreadPool one(1), two(2);
  ThreadPool* const pools[] = {&one, &two};
  const ConvCase cases[] = {
      // Plain 3x3, channels 1, 3 and 13, sizes that no tile divides.
      {.in_c = 1, .in_h = 7, .in_w = 5, .out_c = 1, .kernel_h = 3, .kernel_w = 3},
      {.in_c = 3, .in_h = 8, .in_w = 9, .out_c = 13, .kernel_h = 3, .kernel_w = 3, .pad_top = 1,
       .pad_bottom = 1, .pad_left = 1, .pad_right = 1},
      {.in_c = 13, .in_h = 9, .in_w = 7, .out_c = 3, .kernel_h = 3, .kernel_w = 3, .pad_top = 1,
       .pad_bottom = 1, .pad_left = 1, .pad_right = 1},
      // Stride 2 on odd sizes, with and without padding.
      {.in_c = 3, .in_h = 11, .in_w = 10, .out_c = 4, .kernel_h = 3, .kernel_w = 3, .stride_h = 2,
       .stride_w = 2, .pad_top = 1, .pad_bottom = 1, .pad_left = 1, .pad_right = 1},
      {.in_c = 1, .in_h = 9, .in_w = 9, .out_c = 3, .kernel_h = 2, .kernel_w = 2, .stride_h = 2,
       .stride_w = 2},
      // Padding on one side only: bottom/right implied by out_h/out_w, then top/left alone.
      {.in_c = 3, .in_h = 7, .in_w = 6, .out_c = 5, .kernel_h = 3, .kernel_w = 3, .pad_bottom = 2,
       .pad_right = 1},
      {.in_c = 3, .in_h = 7, .in_w = 6, .out_c = 5, .kernel_h = 3, .kernel_w = 3, .pad_top = 2,
       .pad_left = 1},
      {.in_c = 13, .in_h = 8, .in_w = 7, .out_c = 2, .kernel_h = 3, .kernel_w = 3, .stride_h = 2,
       .stride_w = 2, .pad_top = 0, .pad_bottom = 1, .pad_left = 1, .pad_right = 0},
      // Dilation 2, alone and with stride and padding.
      {.in_c = 3, .in_h = 9, .in_w = 8, .out_c = 4, .kernel_h = 3, .kernel_w = 3, .dilation_h = 2,
       .dilation_w = 2},
      {.in_c = 1, .in_h = 10, .in_w = 11, .out_c = 3, .kernel_h = 3, .kernel_w = 3, .stride_h = 2,
       .stride_w = 2, .pad_top = 2, .pad_bottom = 1, .pad_left = 2, .pad_right = 2, .dilation_h = 2,
       .dilation_w = 2},
      // Groups 2, and depthwise (groups == in_c == out_c, and a depth multiplier of 2).
      {.in_c = 6, .in_h = 7, .in_w = 7, .out_c = 4, .kernel_h = 3, .kernel_w = 3, .pad_top = 1,
       .pad_bottom = 1, .pad_left = 1, .pad_right = 1, .groups = 2},
      {.in_c = 26, .in_h = 5, .in_w = 6, .out_c = 2, .kernel_h = 3, .kernel_w = 3, .stride_h = 2,
       .stride_w = 2, .pad_top = 1, .pad_bottom = 0, .pad_left = 0, .pad_right = 1, .groups = 2},
      {.in_c = 13, .in_h = 9, .in_w = 8, .out_c = 13, .kernel_h = 3, .kernel_w = 3, .pad_top = 1,
       .pad_bottom = 1, .pad_left = 1, .pad_right = 1, .groups = 13},
      {.in_c = 3, .in_h = 8, .in_w = 7, .out_c = 6, .kernel_h = 3, .kernel_w = 3, .stride_h = 2,
       .stride_w = 2, .pad_top = 1, .pad_bottom = 1, .pad_left = 1, .pad_right = 1, .groups = 3},
      // 1x1: pointwise (no workspace), and the im2col path when stride or padding forbids it.
      {.in_c = 13, .in_h = 5, .in_w = 7, .out_c = 3, .kernel_h = 1, .kernel_w = 1},
      {.in_c = 6, .in_h = 5, .in_w = 3, .out_c = 4, .kernel_h = 1, .kernel_w = 1, .groups = 2},
      {.in_c = 3, .in_h = 7, .in_w = 8, .out_c = 13, .kernel_h = 1, .kernel_w = 1, .stride_h = 2,
       .stride_w = 2},
      {.in_c = 3, .in_h = 4, .in_w = 5, .out_c = 2, .kernel_h = 1, .kernel_w = 1, .pad_bottom = 1,
       .pad_left = 1},
      {.in_c = 3, .in_h = 4, .in_w = 5, .out_c = 2, .kernel_h = 1, .kernel_w = 1, .pad_bottom = 1},
      // Non-square kernels and strides.
      {.in_c = 3, .in_h = 7, .in_w = 9, .out_c = 2, .kernel_h = 1, .kernel_w = 3, .stride_h = 1,
       .stride_w = 2, .pad_left = 1, .pad_right = 1},
      {.in_c = 13, .in_h = 9, .in_w = 5, .out_c = 3, .kernel_h = 5, .kernel_w = 2, .stride_h = 2,
       .stride_w = 1, .pad_top = 2, .pad_bottom = 2, .dilation_w = 2},
      // Kernel as large as the padded input: a single output position.
      {.in_c = 3, .in_h = 4, .in_w = 4, .out_c = 3, .kernel_h = 5, .kernel_w = 5, .pad_top = 1,
       .pad_bottom = 0, .pad_left = 0, .pad_right = 1},
  };
  for (const ConvCase& c : cases) {
    check_case(c, pools, 2);
    if (HasFailure()) return;
  }
}

// The direct 3x3 kernels, AVX2 and plain: every output is written between guard floats, so a
// masked store that strays past a row's end, or a read of an overwritten output, shows.
void check_direct_case(const ConvCase& c, ThreadPool* const* pools, int n_pools) {
  const ConvGeometry g = c.geometry();
  ASSERT_TRUE(conv_direct_applies(g)) << describe(c, 1, 1, 0);
  const int64_t weight_elems = g.out_c * g.in_c * 9;
  for (int64_t batch : {1, 3}) {
    const Reference r = reference(g, batch, /*seed=*/11);
    const int64_t src_elems = batch * g.in_c * g.in_h * g.in_w;
    const int64_t dst_elems = batch * g.out_c * g.out_h * g.out_w;
    const std::vector<float>&src = r.src, &weights = r.weights, &bias = r.bias, &d_dst = r.d_dst,
                         &d_src_start = r.d_src_start;
    const std::vector<float>&want_dst = r.dst, &want_d_src = r.d_src,
                         &want_d_src_accumulated = r.d_src_accumulated,
                         &want_d_weights = r.d_weights, &want_d_bias = r.d_bias;
    const Dims &src_dims = r.src_dims, &dst_dims = r.dst_dims, &weight_dims = r.weight_dims,
               &bias_dims = r.bias_dims;
    const float nan = std::numeric_limits<float>::quiet_NaN();
    // A buffer of n floats (filled with `fill`) between guards; view() is its first float.
    struct Guarded {
      std::vector<float> all;
      Guarded(int64_t n, float fill) : all(n + 2 * kGuardFloats, kGuard) {
        std::fill(all.begin() + kGuardFloats, all.end() - kGuardFloats, fill);
      }
      float* view() { return all.data() + kGuardFloats; }
      [[nodiscard]] std::vector<float> inside() const {
        return {all.begin() + kGuardFloats, all.end() - kGuardFloats};
      }
      [[nodiscard]] bool guards_intact() const {
        for (int64_t i = 0; i < kGuardFloats; ++i)
          if (all[i] != kGuard || all[all.size() - 1 - i] != kGuard) return false;
        return true;
      }
    };
    for (bool portable : {false, true}) {
      conv_direct_force_portable(portable);
      for (int p = 0; p < n_pools; ++p) {
        ThreadPool& pool = *pools[p];
        SCOPED_TRACE(describe(c, batch, pool.size(), 0) + (portable ? " plain loops" : " avx2"));
        Guarded dst(dst_elems, nan);
        conv_forward_direct(pool, g, batch, src.data(), weights.data(), bias.data(), dst.view());
        EXPECT_TRUE(close("dst", dst_dims, dst.inside(), want_dst));
        EXPECT_TRUE(dst.guards_intact()) << "dst: wrote outside the buffer";

        Guarded d_src(src_elems, nan), d_weights(weight_elems, nan), d_bias(g.out_c, nan);
        conv_backward_direct(pool, g, batch, src.data(), weights.data(), d_dst.data(),
                             d_src.view(), /*accumulate_d_src=*/false, d_weights.view(),
                             d_bias.view());
        EXPECT_TRUE(close("d_src", src_dims, d_src.inside(), want_d_src));
        EXPECT_TRUE(close("d_weights", weight_dims, d_weights.inside(), want_d_weights));
        EXPECT_TRUE(close("d_bias", bias_dims, d_bias.inside(), want_d_bias));
        EXPECT_TRUE(d_src.guards_intact() && d_weights.guards_intact() && d_bias.guards_intact())
            << "backward: wrote outside a buffer";

        std::copy(d_src_start.begin(), d_src_start.end(), d_src.view());
        conv_backward_direct(pool, g, batch, src.data(), weights.data(), d_dst.data(),
                             d_src.view(), /*accumulate_d_src=*/true, nullptr, nullptr);
        EXPECT_TRUE(close("d_src accumulated", src_dims, d_src.inside(), want_d_src_accumulated));
        if (::testing::Test::HasFailure()) break;
      }
      if (::testing::Test::HasFailure()) break;
    }
    conv_direct_force_portable(false);
    if (::testing::Test::HasFailure()) return;
  }
}

TEST_F(ConvTest, DirectMatchesReference) {
  ThreadPool one(1), two(2);
  ThreadPool* const pools[] = {&one, &two};
  auto same = [](int64_t in_c, int64_t h, int64_t w, int64_t out_c, int64_t pad) {
    return ConvCase{.in_c = in_c, .in_h = h, .in_w = w, .out_c = out_c, .kernel_h = 3,
                    .kernel_w = 3, .pad_top = pad, .pad_bottom = pad, .pad_left = pad,
                    .pad_right = pad};
  };
  const ConvCase cases[] = {
      // Output channels 1 to 13 (register blocks of 4 and every remainder); widths from 1 to
      // past two whole 24-column strips, so edge, interior and 1-, 2- and 3-vector tails all run.
      same(1, 5, 1, 1, 1), same(3, 4, 2, 2, 1), same(2, 6, 5, 3, 1), same(3, 7, 8, 4, 1),
      same(5, 3, 9, 5, 1), same(3, 5, 17, 6, 1), same(4, 4, 24, 7, 1), same(3, 3, 25, 8, 1),
      same(2, 3, 26, 9, 1), same(3, 4, 50, 13, 1), same(6, 3, 61, 5, 1), same(1, 2, 75, 4, 1),
      // No padding and padding 2 (the data gradient's offset then differs from the forward's).
      same(3, 6, 30, 5, 0), same(3, 5, 27, 6, 2), same(2, 3, 3, 3, 0),
      // Padding on one side only, and SAME-style asymmetric padding.
      {.in_c = 3, .in_h = 7, .in_w = 29, .out_c = 5, .kernel_h = 3, .kernel_w = 3, .pad_bottom = 2,
       .pad_right = 1},
      {.in_c = 3, .in_h = 7, .in_w = 33, .out_c = 5, .kernel_h = 3, .kernel_w = 3, .pad_top = 2,
       .pad_left = 1},
      {.in_c = 4, .in_h = 6, .in_w = 28, .out_c = 3, .kernel_h = 3, .kernel_w = 3, .pad_top = 0,
       .pad_bottom = 1, .pad_left = 1, .pad_right = 0},
  };
  for (const ConvCase& c : cases) {
    check_direct_case(c, pools, 2);
    if (HasFailure()) return;
  }
}

TEST_F(ConvTest, DirectAppliesOnlyTo3x3Stride1) {
  EXPECT_TRUE(conv_direct_applies(ConvCase{.in_c = 3, .in_h = 5, .in_w = 5, .out_c = 2,
                                           .kernel_h = 3, .kernel_w = 3}.geometry()));
  EXPECT_FALSE(conv_direct_applies(ConvCase{.in_c = 3, .in_h = 5, .in_w = 5, .out_c = 2,
                                            .kernel_h = 3, .kernel_w = 3, .stride_h = 2,
                                            .stride_w = 2}.geometry()));
  EXPECT_FALSE(conv_direct_applies(ConvCase{.in_c = 3, .in_h = 5, .in_w = 5, .out_c = 2,
                                            .kernel_h = 3, .kernel_w = 3, .dilation_h = 2,
                                            .dilation_w = 2}.geometry()));
  EXPECT_FALSE(conv_direct_applies(ConvCase{.in_c = 4, .in_h = 5, .in_w = 5, .out_c = 2,
                                            .kernel_h = 3, .kernel_w = 3, .groups = 2}.geometry()));
  EXPECT_FALSE(conv_direct_applies(ConvCase{.in_c = 3, .in_h = 5, .in_w = 5, .out_c = 2,
                                            .kernel_h = 5, .kernel_w = 5}.geometry()));
}

TEST_F(ConvTest, WorkspaceIsOneTile) {
  const ConvCase c{.in_c = 3, .in_h = 10, .in_w = 7, .out_c = 4, .kernel_h = 3, .kernel_w = 3,
      .pad_top = 1, .pad_bottom = 1, .pad_left = 1, .pad_right = 1};
  const ConvGeometry g = c.geometry();
  SCOPED_TRACE(describe(c, 1, 1, 0));
  EXPECT_EQ(conv_gemm_workspace_floats(g, 1), 3 * 3 * 3 * 7);
  EXPECT_EQ(conv_gemm_workspace_floats(g, 4), 3 * 3 * 3 * 4 * 7);
  EXPECT_EQ(conv_gemm_workspace_floats(g, 1000), 3 * 3 * 3 * 10 * 7);  // never more than out_h
  const ConvCase pointwise{.in_c = 3, .in_h = 10, .in_w = 7, .out_c = 4, .kernel_h = 1,
      .kernel_w = 1};
  EXPECT_EQ(conv_gemm_workspace_floats(pointwise.geometry(), 4), 0);
}

// A conv reading and writing channel ranges of wider tensors (a concat joined in place): with
// sample strides, every path gives the reference's numbers in its range and leaves the other
// channels of the wider tensors untouched.
TEST_F(ConvTest, SampleStridesReadAndWriteChannelRanges) {
  ThreadPool one(1), two(2);
  const ConvCase cases[] = {
      {.in_c = 5, .in_h = 7, .in_w = 6, .out_c = 4, .kernel_h = 3, .kernel_w = 3, .pad_top = 1,
       .pad_bottom = 1, .pad_left = 1, .pad_right = 1},                             // GEMM or direct
      {.in_c = 9, .in_h = 5, .in_w = 7, .out_c = 3, .kernel_h = 3, .kernel_w = 3, .stride_h = 2,
       .stride_w = 2, .pad_top = 1, .pad_left = 1},                                 // GEMM
      {.in_c = 6, .in_h = 4, .in_w = 5, .out_c = 7, .kernel_h = 1, .kernel_w = 1},  // pointwise
  };
  constexpr int64_t kBefore = 2, kAfter = 3;  // extra channels around each range
  const float kOutside = 4242.0f;
  for (const ConvCase& c : cases) {
    const ConvGeometry plain = c.geometry();
    const int64_t batch = 3, in_plane = plain.in_h * plain.in_w, out_plane = plain.out_h * plain.out_w;
    const Reference r = reference(plain, batch, /*seed=*/5);
    ConvGeometry g = plain;
    g.src_sample_stride = (kBefore + g.in_c + kAfter) * in_plane;
    g.dst_sample_stride = (kBefore + g.out_c + kAfter) * out_plane;
    // Widens [batch, C, plane] into the middle of [batch, kBefore + C + kAfter, plane].
    auto widen = [&](const std::vector<float>& x, int64_t channels, int64_t plane, float fill) {
      std::vector<float> wide(batch * (kBefore + channels + kAfter) * plane, fill);
      for (int64_t n = 0; n < batch; ++n)
        std::copy_n(x.begin() + n * channels * plane, channels * plane,
                    wide.begin() + (n * (kBefore + channels + kAfter) + kBefore) * plane);
      return wide;
    };
    auto narrow = [&](const std::vector<float>& wide, int64_t channels, int64_t plane) {
      std::vector<float> x(batch * channels * plane);
      for (int64_t n = 0; n < batch; ++n)
        std::copy_n(wide.begin() + (n * (kBefore + channels + kAfter) + kBefore) * plane,
                    channels * plane, x.begin() + n * channels * plane);
      return x;
    };
    auto outside_untouched = [&](const std::vector<float>& wide, int64_t channels, int64_t plane) {
      for (int64_t n = 0; n < batch; ++n)
        for (int64_t ch = 0; ch < kBefore + channels + kAfter; ++ch) {
          if (ch >= kBefore && ch < kBefore + channels) continue;
          for (int64_t i = 0; i < plane; ++i)
            if (wide[(n * (kBefore + channels + kAfter) + ch) * plane + i] != kOutside) return false;
        }
      return true;
    };
    const std::vector<float> src = widen(r.src, g.in_c, in_plane, kOutside);
    const std::vector<float> d_dst = widen(r.d_dst, g.out_c, out_plane, kOutside);
    for (ThreadPool* pool : {&one, &two}) {
      for (bool direct : {false, true}) {
        if (direct && !conv_direct_applies(g)) continue;
        SCOPED_TRACE(describe(c, batch, pool->size(), g.out_h) + (direct ? " direct" : " gemm"));
        std::vector<float> workspace(conv_gemm_workspace_floats(g, 2) + 1);
        std::vector<float> dst(batch * (kBefore + g.out_c + kAfter) * out_plane, kOutside);
        std::vector<float> d_src = widen(r.d_src_start, g.in_c, in_plane, kOutside);
        std::vector<float> d_weights(g.out_c * g.col_rows()), d_bias(g.out_c);
        // Pointers to the first sample's range in each wide tensor.
        const float* src_at = src.data() + kBefore * in_plane;
        const float* d_dst_at = d_dst.data() + kBefore * out_plane;
        float* dst_at = dst.data() + kBefore * out_plane;
        float* d_src_at = d_src.data() + kBefore * in_plane;
        if (direct) {
          conv_forward_direct(*pool, g, batch, src_at, r.weights.data(), r.bias.data(), dst_at);
          conv_backward_direct(*pool, g, batch, src_at, r.weights.data(), d_dst_at, d_src_at,
                               /*accumulate_d_src=*/true, d_weights.data(), d_bias.data());
        } else {
          conv_forward_gemm(*pool, g, batch, src_at, r.weights.data(), r.bias.data(), dst_at,
                            workspace.data(), 2);
          conv_backward_gemm(*pool, g, batch, src_at, r.weights.data(), d_dst_at, d_src_at,
                             /*accumulate_d_src=*/true, d_weights.data(), d_bias.data(),
                             workspace.data(), 2);
        }
        EXPECT_TRUE(close("dst", r.dst_dims, narrow(dst, g.out_c, out_plane), r.dst));
        EXPECT_TRUE(close("d_src accumulated", r.src_dims, narrow(d_src, g.in_c, in_plane),
                          r.d_src_accumulated));
        EXPECT_TRUE(close("d_weights", r.weight_dims, d_weights, r.d_weights));
        EXPECT_TRUE(close("d_bias", r.bias_dims, d_bias, r.d_bias));
        EXPECT_TRUE(outside_untouched(dst, g.out_c, out_plane)) << "dst written outside its range";
        EXPECT_TRUE(outside_untouched(d_src, g.in_c, in_plane)) << "d_src written outside its range";
        // Overwriting d_src (not accumulating) clears only its own range.
        std::vector<float> d_src_fresh(d_src.size(), kOutside);
        float* fresh_at = d_src_fresh.data() + kBefore * in_plane;
        if (direct) {
          conv_backward_direct(*pool, g, batch, src_at, r.weights.data(), d_dst_at, fresh_at,
                               false, nullptr, nullptr);
        } else {
          conv_backward_gemm(*pool, g, batch, src_at, r.weights.data(), d_dst_at, fresh_at, false,
                             nullptr, nullptr, workspace.data(), 2);
        }
        EXPECT_TRUE(close("d_src", r.src_dims, narrow(d_src_fresh, g.in_c, in_plane), r.d_src));
        EXPECT_TRUE(outside_untouched(d_src_fresh, g.in_c, in_plane));
      }
    }
  }
}

// Depthwise layers (one filter per channel) by their direct loops, against the reference:
// kernels 1 to 7, stride 1 and 2, dilation, one-sided padding, rows where no window lies inside
// the input, planes in several padded strips and rows too wide for one (depthwise_strips.hpp),
// batch 1 and 3, 1 and 2 threads, accumulated d_src, and buffers between guards.
TEST_F(ConvTest, DepthwiseMatchesReference) {
  ThreadPool one(1), two(2);
  auto dw = [](int64_t c, int64_t h, int64_t w, int64_t k, int64_t s, int64_t pt, int64_t pb,
               int64_t pl, int64_t pr, int64_t d) {
    return ConvCase{.in_c = c, .in_h = h, .in_w = w, .out_c = c, .kernel_h = k, .kernel_w = k,
                    .stride_h = s, .stride_w = s, .pad_top = pt, .pad_bottom = pb, .pad_left = pl,
                    .pad_right = pr, .dilation_h = d, .dilation_w = d, .groups = c};
  };
  const ConvCase cases[] = {
      dw(3, 9, 11, 3, 1, 1, 1, 1, 1, 1),   // MobileNet's 3x3
      dw(13, 10, 7, 3, 2, 1, 1, 1, 1, 1),  // stride 2
      dw(5, 12, 13, 5, 1, 2, 2, 2, 2, 1),  // EfficientNet's 5x5
      dw(4, 11, 9, 5, 2, 1, 2, 2, 1, 1),   // stride 2, SAME-style one-sided pads
      dw(2, 14, 15, 7, 1, 3, 3, 3, 3, 1),  // ConvNeXt's 7x7
      dw(3, 8, 9, 3, 1, 2, 2, 2, 2, 2),    // dilation 2
      dw(6, 3, 4, 3, 1, 1, 1, 1, 1, 1),    // rows narrower than the window: no inside part
      dw(7, 5, 6, 1, 1, 0, 0, 0, 0, 1),    // 1x1
      dw(5, 7, 8, 3, 2, 0, 1, 0, 1, 1),    // padding after only
      dw(2, 120, 300, 3, 1, 1, 1, 1, 1, 1),  // several padded strips per plane
      dw(2, 121, 203, 5, 2, 2, 2, 2, 2, 1),   // several strips, stride 2
      dw(2, 6, 4000, 5, 1, 2, 2, 2, 2, 1),   // rows too wide for a strip: the general loops
      dw(3, 7, 7, 5, 2, 2, 2, 2, 2, 1),      // one vector per row, partial
  };
  for (const ConvCase& c : cases) {
    const ConvGeometry g = c.geometry();
    ASSERT_TRUE(conv_depthwise_applies(g)) << describe(c, 1, 1, 0);
    for (int64_t batch : {1, 3}) {
      const Reference r = reference(g, batch, /*seed=*/17);
      for (ThreadPool* pool : {&one, &two}) {
        SCOPED_TRACE(describe(c, batch, pool->size(), 0) + " depthwise");
        const float nan = std::numeric_limits<float>::quiet_NaN();
        std::vector<float> dst(r.dst.size() + kGuardFloats, kGuard);
        std::fill_n(dst.begin(), r.dst.size(), nan);
        conv_forward_depthwise(*pool, g, batch, r.src.data(), r.weights.data(), r.bias.data(),
                               dst.data());
        EXPECT_TRUE(close("dst", r.dst_dims, {dst.begin(), dst.begin() + r.dst.size()}, r.dst));
        EXPECT_EQ(dst.back(), kGuard) << "wrote past dst";
        std::fill_n(dst.begin(), r.dst.size(), nan);  // the general loops alone, likewise
        conv_forward_depthwise_loops(*pool, g, batch, r.src.data(), r.weights.data(),
                                     r.bias.data(), dst.data());
        EXPECT_TRUE(close("dst (loops)", r.dst_dims, {dst.begin(), dst.begin() + r.dst.size()}, r.dst));
        EXPECT_EQ(dst.back(), kGuard) << "wrote past dst";
        std::vector<float> d_src(r.d_src.size(), nan), d_weights(r.d_weights.size(), nan),
            d_bias(r.d_bias.size(), nan);
        conv_backward_depthwise(*pool, g, batch, r.src.data(), r.weights.data(), r.d_dst.data(),
                                d_src.data(), /*accumulate_d_src=*/false, d_weights.data(),
                                d_bias.data());
        EXPECT_TRUE(close("d_src", r.src_dims, d_src, r.d_src));
        EXPECT_TRUE(close("d_weights", r.weight_dims, d_weights, r.d_weights));
        EXPECT_TRUE(close("d_bias", r.bias_dims, d_bias, r.d_bias));
        std::vector<float> accumulated = r.d_src_start;
        conv_backward_depthwise(*pool, g, batch, r.src.data(), r.weights.data(), r.d_dst.data(),
                                accumulated.data(), /*accumulate_d_src=*/true, nullptr, nullptr);
        EXPECT_TRUE(close("d_src accumulated", r.src_dims, accumulated, r.d_src_accumulated));
      }
    }
  }
}

// Winograd F(4x4, 3x3): the forward pass and the data gradient against the double-precision
// reference on odd and even sizes, every padding it takes (one-sided too), channel counts from 1
// to 64 (not multiples of the products' 6-channel register block too), blocks of 16 tiles (not
// dividing the tiles, spanning samples) and the unlimited choice, output channels in groups
// (a pass over the image per group), batch 1 and 3, 1 and 2 threads,
// accumulated d_src. The error is F(4x4, 3x3)'s rounding: within 1e-4 of max(1, max
// |reference|), as every fast path here.
TEST_F(ConvTest, WinogradMatchesReference) {
  ThreadPool one(1), two(2);
  auto cc = [](int64_t in_c, int64_t out_c, int64_t h, int64_t w, int64_t pt, int64_t pb,
               int64_t pl, int64_t pr) {
    return ConvCase{.in_c = in_c, .in_h = h, .in_w = w, .out_c = out_c, .kernel_h = 3,
                    .kernel_w = 3, .pad_top = pt, .pad_bottom = pb, .pad_left = pl,
                    .pad_right = pr};
  };
  const ConvCase cases[] = {
      cc(3, 5, 9, 11, 1, 1, 1, 1),   // odd sizes: the last tiles hang over the edge
      cc(13, 7, 8, 8, 1, 1, 1, 1),   // even
      cc(1, 1, 5, 6, 0, 0, 0, 0),    // no padding
      cc(6, 4, 7, 9, 2, 2, 2, 2),    // padding 2 (the data gradient's correlation at 0)
      cc(4, 6, 10, 7, 1, 0, 0, 1),   // one-sided
      cc(64, 64, 12, 13, 1, 1, 1, 1),  // VGG's widths
      cc(17, 70, 23, 30, 1, 1, 1, 1),  // rows that span many tiles, edges on both sides
  };
  for (const ConvCase& c : cases) {
    const ConvGeometry plain = c.geometry();
    ASSERT_TRUE(conv_winograd_applies(plain)) << describe(c, 1, 1, 0);
    for (int64_t batch : {1, 3}) {
      const Reference r = reference(plain, batch, /*seed=*/23);
      for (ThreadPool* pool : {&one, &two}) {
        const int64_t widest = std::max(c.in_c, c.out_c);
        for (const WinogradBlocking b :
             {WinogradBlocking{.group = widest, .block = kWinogradColumns},
              conv_winograd_blocking(plain, batch, pool->size(), 0),
              WinogradBlocking{.group = 6, .block = 32},     // a pass per 6 channels
              WinogradBlocking{.group = 12, .block = 16}}) {  // some groups partly full
          SCOPED_TRACE(describe(c, batch, pool->size(), 0) + " winograd group " +
                       std::to_string(b.group) + " block " + std::to_string(b.block));
          std::vector<float> workspace(
              conv_winograd_workspace_floats(plain, b, pool->size()) + kGuardFloats, kGuard);
          const float nan = std::numeric_limits<float>::quiet_NaN();
          std::vector<float> dst(r.dst.size(), nan);
          conv_forward_winograd(*pool, plain, batch, r.src.data(), r.weights.data(), r.bias.data(),
                                dst.data(), workspace.data(), b);
          EXPECT_TRUE(close("dst", r.dst_dims, dst, r.dst));
          EXPECT_EQ(workspace.back(), kGuard) << "wrote past the workspace";
          std::vector<float> d_src(r.d_src.size(), nan);
          conv_data_grad_winograd(*pool, plain, batch, r.weights.data(), r.d_dst.data(),
                                  d_src.data(), /*accumulate=*/false, workspace.data(), b);
          EXPECT_TRUE(close("d_src", r.src_dims, d_src, r.d_src));
          std::vector<float> accumulated = r.d_src_start;
          conv_data_grad_winograd(*pool, plain, batch, r.weights.data(), r.d_dst.data(),
                                  accumulated.data(), /*accumulate=*/true, workspace.data(), b);
          EXPECT_TRUE(close("d_src accumulated", r.src_dims, accumulated, r.d_src_accumulated));
        }
      }
    }
  }
}

}  // namespace
}  // namespace footprint
