// conv_transpose_forward_gemm / conv_transpose_backward_gemm (the conv GEMM kernels run
// backwards) against the plain scatter loops of conv_transpose_ref on awkward shapes: odd sizes,
// strides with output padding, dilation, groups, one-sided padding, tiles that do not divide the
// input rows, 1 and 2 threads.
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
#include "kernels/conv/conv_transpose_gemm.hpp"
#include "kernels/conv/conv_transpose_ref.hpp"
#include "kernels/gemm/gemm.hpp"

namespace footprint {
namespace {

std::string describe(const ConvTransposeSizes& s, int64_t batch, int threads, int64_t tile_rows) {
  const ConvGeometry g = conv_transpose_geometry(s);
  std::ostringstream out;
  out << "convtranspose batch=" << batch << " in=" << s.in_c << "x" << s.in_h << "x" << s.in_w
      << " out=" << s.out_c << "x" << g.in_h << "x" << g.in_w << " kernel=" << s.kernel_h << "x"
      << s.kernel_w << " stride=" << s.stride_h << "x" << s.stride_w
      << " pad(top,bottom,left,right)=" << s.pad_top << "," << s.pad_bottom << "," << s.pad_left
      << "," << s.pad_right << " output_pad=" << s.output_pad_h << "x" << s.output_pad_w
      << " dilation=" << s.dilation_h << "x" << s.dilation_w << " groups=" << s.groups
      << " threads=" << threads << " tile_rows=" << tile_rows;
  return out.str();
}

std::vector<float> random_floats(int64_t n_elems, uint64_t seed) {
  Rng rng(seed);
  std::vector<float> v(n_elems);
  for (float& x : v) x = rng.uniform(-1.0f, 1.0f);
  return v;
}

// max |got - want| / max(1, max |want|) within 1e-4; NaN in got fails.
::testing::AssertionResult close(const char* what, const std::vector<float>& got,
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
  if (max_diff / std::max(1.0f, max_ref) <= 1e-4f) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << what << ": relative error " << max_diff / std::max(1.0f, max_ref)
                                       << " at flat index " << worst << ": got " << got[worst]
                                       << ", reference " << want[worst];
}

constexpr int64_t kGuardFloats = 64;
constexpr float kGuard = 7777.0f;

class ConvTransposeTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { gemm_blas_init(); }
};

void check_case(const ConvTransposeSizes& s) {
  const ConvGeometry g = conv_transpose_geometry(s);
  ASSERT_GT(g.in_h, 0) << describe(s, 1, 1, 0);
  ASSERT_GT(g.in_w, 0) << describe(s, 1, 1, 0);
  ThreadPool one(1), two(2);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const int64_t weight_elems = s.in_c * (s.out_c / s.groups) * s.kernel_h * s.kernel_w;
  for (int64_t batch : {1, 3}) {
    const int64_t src_elems = batch * s.in_c * s.in_h * s.in_w;
    const int64_t dst_elems = batch * g.in_c * g.in_h * g.in_w;
    const std::vector<float> src = random_floats(src_elems, 1 + src_elems);
    const std::vector<float> weights = random_floats(weight_elems, 2 + weight_elems);
    const std::vector<float> bias = random_floats(s.out_c, 3);
    const std::vector<float> d_dst = random_floats(dst_elems, 4 + dst_elems);
    const std::vector<float> d_src_start = random_floats(src_elems, 5 + src_elems);
    std::vector<float> want_dst(dst_elems), want_dst_no_bias(dst_elems), want_d_src(src_elems),
        want_d_weights(weight_elems), want_d_bias(s.out_c), want_d_src_accumulated(src_elems);
    conv_transpose_forward_ref(g, batch, src.data(), weights.data(), bias.data(), want_dst.data());
    conv_transpose_forward_ref(g, batch, src.data(), weights.data(), nullptr,
                               want_dst_no_bias.data());
    conv_transpose_backward_ref(g, batch, src.data(), weights.data(), d_dst.data(),
                                want_d_src.data(), want_d_weights.data(), want_d_bias.data());
    for (int64_t i = 0; i < src_elems; ++i)
      want_d_src_accumulated[i] = d_src_start[i] + want_d_src[i];

    std::vector<int64_t> tiles = {1, 2, 3, g.out_h};  // rows of the transposed conv's input
    tiles.erase(std::remove_if(tiles.begin(), tiles.end(), [&](int64_t t) { return t > g.out_h; }),
                tiles.end());
    for (ThreadPool* pool : {&one, &two}) {
      for (int64_t tile_rows : tiles) {
        SCOPED_TRACE(describe(s, batch, pool->size(), tile_rows));
        const int64_t ws_floats = conv_transpose_workspace_floats(g, tile_rows);
        std::vector<float> workspace(ws_floats + kGuardFloats, kGuard);

        std::vector<float> dst(dst_elems, nan);
        conv_transpose_forward_gemm(*pool, g, batch, src.data(), weights.data(), bias.data(),
                                    dst.data(), workspace.data(), tile_rows);
        EXPECT_TRUE(close("dst", dst, want_dst));
        std::fill(dst.begin(), dst.end(), nan);
        conv_transpose_forward_gemm(*pool, g, batch, src.data(), weights.data(), nullptr,
                                    dst.data(), workspace.data(), tile_rows);
        EXPECT_TRUE(close("dst without bias", dst, want_dst_no_bias));

        // Overwritten outputs start as NaN, so a read of their old contents shows.
        std::vector<float> d_src(src_elems, nan), d_weights(weight_elems, nan),
            d_bias(s.out_c, nan);
        conv_transpose_backward_gemm(*pool, g, batch, src.data(), weights.data(), d_dst.data(),
                                     d_src.data(), /*accumulate_d_src=*/false, d_weights.data(),
                                     d_bias.data(), workspace.data(), tile_rows);
        EXPECT_TRUE(close("d_src", d_src, want_d_src));
        EXPECT_TRUE(close("d_weights", d_weights, want_d_weights));
        EXPECT_TRUE(close("d_bias", d_bias, want_d_bias));

        d_src = d_src_start;
        conv_transpose_backward_gemm(*pool, g, batch, /*src=*/nullptr, weights.data(),
                                     d_dst.data(), d_src.data(), /*accumulate_d_src=*/true,
                                     nullptr, nullptr, workspace.data(), tile_rows);
        EXPECT_TRUE(close("d_src accumulated", d_src, want_d_src_accumulated));

        std::fill(d_weights.begin(), d_weights.end(), nan);
        conv_transpose_backward_gemm(*pool, g, batch, src.data(), weights.data(), d_dst.data(),
                                     nullptr, false, d_weights.data(), nullptr, workspace.data(),
                                     tile_rows);
        EXPECT_TRUE(close("d_weights without d_src", d_weights, want_d_weights));

        for (int64_t i = ws_floats; i < ws_floats + kGuardFloats; ++i) {
          ASSERT_EQ(workspace[i], kGuard)
              << "wrote past the workspace at float " << i << " of " << ws_floats;
        }
        if (::testing::Test::HasFailure()) return;  // one failing configuration says enough
      }
    }
  }
}

TEST_F(ConvTransposeTest, GemmMatchesReference) {
  const ConvTransposeSizes cases[] = {
      // Plain 3x3 on odd sizes, channels 1, 3 and 13.
      {.in_c = 1, .in_h = 5, .in_w = 3, .out_c = 1, .kernel_h = 3, .kernel_w = 3},
      {.in_c = 3, .in_h = 7, .in_w = 5, .out_c = 13, .kernel_h = 3, .kernel_w = 3, .pad_top = 1,
       .pad_left = 1, .pad_bottom = 1, .pad_right = 1},
      {.in_c = 13, .in_h = 4, .in_w = 7, .out_c = 3, .kernel_h = 3, .kernel_w = 3},
      // Stride 2 with output padding (the decoder's doubling), and stride 3 with kernel 2 (gaps).
      {.in_c = 3, .in_h = 5, .in_w = 6, .out_c = 4, .kernel_h = 3, .kernel_w = 3, .stride_h = 2,
       .stride_w = 2, .pad_top = 1, .pad_left = 1, .pad_bottom = 1, .pad_right = 1,
       .output_pad_h = 1, .output_pad_w = 1},
      {.in_c = 2, .in_h = 3, .in_w = 4, .out_c = 3, .kernel_h = 2, .kernel_w = 2, .stride_h = 3,
       .stride_w = 3},
      {.in_c = 4, .in_h = 3, .in_w = 5, .out_c = 2, .kernel_h = 4, .kernel_w = 4, .stride_h = 2,
       .stride_w = 2, .pad_top = 1, .pad_left = 1, .pad_bottom = 1, .pad_right = 1},
      // Padding on one side only, and per-axis strides and output padding.
      {.in_c = 3, .in_h = 6, .in_w = 5, .out_c = 5, .kernel_h = 3, .kernel_w = 3, .pad_top = 2,
       .pad_right = 1},
      {.in_c = 3, .in_h = 5, .in_w = 4, .out_c = 2, .kernel_h = 3, .kernel_w = 2, .stride_h = 2,
       .stride_w = 1, .pad_left = 1, .pad_bottom = 2, .output_pad_h = 1},
      // Dilation, with stride and output padding below the dilation.
      {.in_c = 3, .in_h = 5, .in_w = 6, .out_c = 4, .kernel_h = 3, .kernel_w = 3, .dilation_h = 2,
       .dilation_w = 2},
      {.in_c = 2, .in_h = 4, .in_w = 5, .out_c = 3, .kernel_h = 3, .kernel_w = 3, .stride_h = 2,
       .stride_w = 2, .pad_top = 2, .pad_left = 1, .pad_bottom = 1, .pad_right = 2,
       .output_pad_h = 1, .output_pad_w = 1, .dilation_h = 2, .dilation_w = 3},
      // Groups 2, depthwise, and a depth multiplier.
      {.in_c = 4, .in_h = 5, .in_w = 5, .out_c = 6, .kernel_h = 3, .kernel_w = 3, .stride_h = 2,
       .stride_w = 2, .pad_top = 1, .pad_left = 1, .pad_bottom = 1, .pad_right = 1,
       .output_pad_h = 1, .output_pad_w = 1, .groups = 2},
      {.in_c = 13, .in_h = 4, .in_w = 3, .out_c = 13, .kernel_h = 3, .kernel_w = 3, .stride_h = 2,
       .stride_w = 2, .groups = 13},
      {.in_c = 3, .in_h = 4, .in_w = 5, .out_c = 6, .kernel_h = 3, .kernel_w = 3, .pad_top = 1,
       .pad_left = 1, .pad_bottom = 1, .pad_right = 1, .groups = 3},
      // 1x1: pointwise (no workspace), and with a stride (columns again).
      {.in_c = 13, .in_h = 5, .in_w = 7, .out_c = 3, .kernel_h = 1, .kernel_w = 1},
      {.in_c = 3, .in_h = 4, .in_w = 3, .out_c = 5, .kernel_h = 1, .kernel_w = 1, .stride_h = 2,
       .stride_w = 2, .output_pad_h = 1},
      // Padding larger than the kernel's reach on one side: the output loses rows.
      {.in_c = 2, .in_h = 6, .in_w = 6, .out_c = 2, .kernel_h = 2, .kernel_w = 2, .pad_top = 2,
       .pad_left = 0, .pad_bottom = 1, .pad_right = 3},
  };
  for (const ConvTransposeSizes& s : cases) {
    check_case(s);
    if (HasFailure()) return;
  }
}

TEST_F(ConvTransposeTest, OutputSize) {
  // (in - 1) * stride - pad_before - pad_after + dilation * (k - 1) + output_pad + 1.
  const ConvGeometry g = conv_transpose_geometry(
      {.in_c = 2, .in_h = 5, .in_w = 4, .out_c = 3, .kernel_h = 3, .kernel_w = 2, .stride_h = 2,
       .stride_w = 3, .pad_top = 1, .pad_left = 0, .pad_bottom = 2, .pad_right = 1,
       .output_pad_h = 1, .output_pad_w = 2, .dilation_h = 2, .dilation_w = 1});
  EXPECT_EQ(g.in_h, 4 * 2 - 1 - 2 + 2 * 2 + 1 + 1);
  EXPECT_EQ(g.in_w, 3 * 3 - 0 - 1 + 1 * 1 + 2 + 1);
  EXPECT_EQ(g.in_c, 3);
  EXPECT_EQ(g.out_c, 2);
  EXPECT_EQ(g.out_h, 5);
  EXPECT_EQ(g.out_w, 4);
}

}  // namespace
}  // namespace footprint
