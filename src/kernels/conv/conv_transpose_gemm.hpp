// Transposed convolution (PyTorch ConvTranspose2d, ONNX ConvTranspose) by the convolution
// kernels of conv_gemm.hpp, run backwards: its forward pass is a convolution's data gradient
// (GEMM, then col2im adding into the output), its data gradient is that convolution's forward
// pass, and its weight gradient is that convolution's weight gradient with the roles of input
// and output gradient swapped. So it needs the same workspace, one column tile.
//
// Every function takes `g`, the convolution whose data gradient the transposed convolution is:
// g.in_c, g.in_h, g.in_w are the transposed convolution's OUTPUT channels and sizes, g.out_c,
// g.out_h, g.out_w its INPUT's; stride, padding, dilation and groups are its own. Layouts:
// src [N, g.out_c, g.out_h, g.out_w], dst [N, g.in_c, g.in_h, g.in_w], weights
// [g.out_c, g.in_c / groups, kernel_h, kernel_w] (PyTorch's and ONNX's [C_in, C_out / groups,
// kH, kW]), bias [g.in_c].
#pragma once

#include <cstdint>

#include "kernels/conv/conv_geometry.hpp"

namespace footprint {

class ThreadPool;

// The convolution behind a transposed one with this input and these options. Output size per
// axis: (in - 1) * stride - pad_before - pad_after + dilation * (kernel - 1) + output_pad + 1.
// The output_pad rows and columns (and any the stride skips) receive only the bias.
struct ConvTransposeSizes {
  int64_t in_c, in_h, in_w, out_c;
  int64_t kernel_h, kernel_w, stride_h = 1, stride_w = 1;
  int64_t pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;
  int64_t output_pad_h = 0, output_pad_w = 0;
  int64_t dilation_h = 1, dilation_w = 1;
  int64_t groups = 1;
};
[[nodiscard]] ConvGeometry conv_transpose_geometry(const ConvTransposeSizes& s);

// Workspace floats for a tile of `tile_rows` input rows (rows of g.out_h).
[[nodiscard]] int64_t conv_transpose_workspace_floats(const ConvGeometry& g, int64_t tile_rows);

// dst is overwritten.
void conv_transpose_forward_gemm(ThreadPool& pool, const ConvGeometry& g, int64_t batch,
                                 const float* src, const float* weights, const float* bias,
                                 float* dst, float* workspace, int64_t tile_rows);

// d_weights and d_bias are overwritten (either may be nullptr); d_src (may be nullptr) is
// overwritten, or added to when accumulate_d_src. src is read only for d_weights.
void conv_transpose_backward_gemm(ThreadPool& pool, const ConvGeometry& g, int64_t batch,
                                  const float* src, const float* weights, const float* d_dst,
                                  float* d_src, bool accumulate_d_src, float* d_weights,
                                  float* d_bias, float* workspace, int64_t tile_rows);

}  // namespace footprint
