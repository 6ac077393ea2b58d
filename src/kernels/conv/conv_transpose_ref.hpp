// Plain-loop transposed convolution, forward and backward, the reference conv_transpose_gemm is
// tested against: every input value scattered through every tap, sums in double. Geometry and
// layouts as in conv_transpose_gemm.hpp (g.in_* is the transposed convolution's output).
#pragma once

#include "kernels/conv/conv_geometry.hpp"

namespace footprint {

void conv_transpose_forward_ref(const ConvGeometry& g, int64_t batch, const float* src,
                                const float* weights, const float* bias, float* dst);
// Any of d_src, d_weights, d_bias may be nullptr; each is overwritten.
void conv_transpose_backward_ref(const ConvGeometry& g, int64_t batch, const float* src,
                                 const float* weights, const float* d_dst, float* d_src,
                                 float* d_weights, float* d_bias);

}  // namespace footprint
