// Direct 3x3 convolution (stride 1, no dilation, one group, any padding): each output row is
// summed straight from the input rows under it, with no im2col copy, so it needs no workspace.
// For few channels a GEMM over im2col columns is mostly copying (the first layer of a net, 3->6
// channels at 512x512, does 27 multiply-adds per copied column), and the weight-gradient GEMM
// [out_c, 9 in_c] has too few rows and columns to split over threads; the direct loops avoid
// both. Where a layer uses it is the planner's choice (see conv2d.cpp), by measurement.
// With AVX2 and FMA (checked when the program runs) the inner loops are register-blocked
// intrinsics; without, plain loops that compute the same sums.
// Layouts as in conv_ref.hpp.
#pragma once

#include <cstdint>

#include "kernels/conv/conv_geometry.hpp"

namespace footprint {

class ThreadPool;

// 3x3, stride 1, dilation 1, groups 1 (padding and sizes are free).
[[nodiscard]] bool conv_direct_applies(const ConvGeometry& g);

// Which passes of a layer run direct rather than by im2col + GEMM. Each pass's sum runs over 9
// taps of some channels: the forward pass and the weight gradient over the input channels, the
// data gradient over the output channels. The direct loops win while that depth is small
// (where the GEMM's operands are thin), and lose to OpenBLAS beyond (bench/conv_paths.cpp
// measures both on every layer shape of the reference nets).
struct ConvPaths {
  bool forward = false, weight_grad = false, data_grad = false;
};
[[nodiscard]] ConvPaths choose_conv_paths(const ConvGeometry& g);

void conv_forward_direct(ThreadPool& pool, const ConvGeometry& g, int64_t batch, const float* src,
                         const float* weights, const float* bias, float* dst);

// As conv_backward_gemm: d_weights and d_bias are overwritten (either may be nullptr); d_src
// (may be nullptr) is overwritten, or added to when accumulate_d_src.
void conv_backward_direct(ThreadPool& pool, const ConvGeometry& g, int64_t batch,
                          const float* src, const float* weights, const float* d_dst,
                          float* d_src, bool accumulate_d_src, float* d_weights, float* d_bias);

// Tests run the plain loops too, on a CPU that has AVX2: true forces them until set back.
void conv_direct_force_portable(bool on);

}  // namespace footprint
