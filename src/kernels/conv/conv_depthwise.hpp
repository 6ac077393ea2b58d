// Depthwise convolution (groups == in_c == out_c: one filter per channel, as MobileNet's,
// EfficientNet's and ShuffleNet's 3x3 and 5x5 layers), any kernel, stride, dilation and padding,
// by direct loops over each channel's plane: no im2col and no workspace. Through im2col + GEMM
// every group is a GEMM with one output row (its filter), which spends its time packing.
// Each plane's rows are split into the part whose windows lie inside the input, summed without
// bounds checks (contiguous for stride 1, so the compiler vectorises it), and the edges. The
// common kernels' forward pass goes through padded strips instead (depthwise_strips.hpp).
// Layouts as in conv_ref.hpp; sample strides as ConvGeometry says.
#pragma once

#include <cstdint>

#include "kernels/conv/conv_geometry.hpp"

namespace footprint {

class ChannelEpilogue;
class ThreadPool;

// Kernels up to 8x8 taps (ConvNeXt's 7x7 included).
inline constexpr int64_t kMaxDepthwiseTaps = 64;

// groups == in_c == out_c, at most kMaxDepthwiseTaps taps.
[[nodiscard]] bool conv_depthwise_applies(const ConvGeometry& g);

// epilogue (inference): applied to each output plane right after it is computed. Through the
// padded strips where they apply (depthwise_strips_apply), else the loops below.
void conv_forward_depthwise(ThreadPool& pool, const ConvGeometry& g, int64_t batch,
                            const float* src, const float* weights, const float* bias, float* dst,
                            const ChannelEpilogue* epilogue = nullptr);
// The same by the general loops alone, whatever the layer (for tests and bench/depthwise.cpp).
void conv_forward_depthwise_loops(ThreadPool& pool, const ConvGeometry& g, int64_t batch,
                                  const float* src, const float* weights, const float* bias,
                                  float* dst, const ChannelEpilogue* epilogue = nullptr);

// As conv_backward_gemm: d_weights and d_bias are overwritten (either may be nullptr); d_src (may
// be nullptr) is overwritten, or added to when accumulate_d_src.
void conv_backward_depthwise(ThreadPool& pool, const ConvGeometry& g, int64_t batch,
                             const float* src, const float* weights, const float* d_dst,
                             float* d_src, bool accumulate_d_src, float* d_weights, float* d_bias);

}  // namespace footprint
