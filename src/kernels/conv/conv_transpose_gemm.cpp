#include "kernels/conv/conv_transpose_gemm.hpp"

#include <algorithm>

#include "core/thread_pool.hpp"
#include "kernels/conv/conv_gemm.hpp"

namespace footprint {

ConvGeometry conv_transpose_geometry(const ConvTransposeSizes& s) {
  ConvGeometry g;
  g.in_c = s.out_c;
  g.in_h = (s.in_h - 1) * s.stride_h - s.pad_top - s.pad_bottom +
           s.dilation_h * (s.kernel_h - 1) + s.output_pad_h + 1;
  g.in_w = (s.in_w - 1) * s.stride_w - s.pad_left - s.pad_right +
           s.dilation_w * (s.kernel_w - 1) + s.output_pad_w + 1;
  g.out_c = s.in_c, g.out_h = s.in_h, g.out_w = s.in_w;
  g.kernel_h = s.kernel_h, g.kernel_w = s.kernel_w;
  g.stride_h = s.stride_h, g.stride_w = s.stride_w;
  g.pad_top = s.pad_top, g.pad_left = s.pad_left;
  g.dilation_h = s.dilation_h, g.dilation_w = s.dilation_w;
  g.groups = s.groups;
  return g;
}

int64_t conv_transpose_workspace_floats(const ConvGeometry& g, int64_t tile_rows) {
  return conv_gemm_workspace_floats(g, tile_rows);
}

void conv_transpose_forward_gemm(ThreadPool& pool, const ConvGeometry& g, int64_t batch,
                                 const float* src, const float* weights, const float* bias,
                                 float* dst, float* workspace, int64_t tile_rows) {
  // dst starts as the bias (or 0) plane by plane; the convolution's data gradient adds into it.
  const int64_t plane = g.in_h * g.in_w;
  pool.parallel_for(batch * g.in_c, [&](int64_t begin, int64_t end, int) {
    for (int64_t p = begin; p < end; ++p)
      std::fill_n(dst + p * plane, plane, bias ? bias[p % g.in_c] : 0.0f);
  }, /*min_grain=*/std::max<int64_t>(1, 16384 / plane));
  conv_backward_gemm(pool, g, batch, /*src=*/nullptr, weights, /*d_dst=*/src, /*d_src=*/dst,
                     /*accumulate_d_src=*/true, /*d_weights=*/nullptr, /*d_bias=*/nullptr,
                     workspace, tile_rows);
}

void conv_transpose_backward_gemm(ThreadPool& pool, const ConvGeometry& g, int64_t batch,
                                  const float* src, const float* weights, const float* d_dst,
                                  float* d_src, bool accumulate_d_src, float* d_weights,
                                  float* d_bias, float* workspace, int64_t tile_rows) {
  if (d_src) {
    conv_forward_gemm(pool, g, batch, /*src=*/d_dst, weights, /*bias=*/nullptr, /*dst=*/d_src,
                      workspace, tile_rows, accumulate_d_src);
  }
  if (d_weights) {
    // The convolution's weight gradient sums d_dst x im2col(src); here its "src" is our output
    // gradient and its "d_dst" our input.
    conv_backward_gemm(pool, g, batch, /*src=*/d_dst, weights, /*d_dst=*/src, /*d_src=*/nullptr,
                       /*accumulate_d_src=*/false, d_weights, /*d_bias=*/nullptr, workspace,
                       tile_rows);
  }
  if (d_bias) {
    // Sums over our output planes: the geometry whose "output" they are.
    ConvGeometry out_planes;
    out_planes.out_c = g.in_c, out_planes.out_h = g.in_h, out_planes.out_w = g.in_w;
    conv_bias_backward(pool, out_planes, batch, d_dst, d_bias);
  }
}

}  // namespace footprint
