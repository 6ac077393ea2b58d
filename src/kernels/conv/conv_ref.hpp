// Plain-loop convolution, forward and backward, the reference the fast path is tested against.
// Layout: src [N, in_c, in_h, in_w], weights [out_c, in_c / groups, kernel_h, kernel_w],
// dst [N, out_c, out_h, out_w]. Sums in double.
#pragma once

#include "kernels/conv/conv_geometry.hpp"

namespace footprint {

void conv_forward_ref(const ConvGeometry& g, int64_t batch, const float* src, const float* weights,
                      const float* bias, float* dst);
// Any of d_src, d_weights, d_bias may be nullptr; each is overwritten.
void conv_backward_ref(const ConvGeometry& g, int64_t batch, const float* src,
                       const float* weights, const float* d_dst, float* d_src, float* d_weights,
                       float* d_bias);

}  // namespace footprint
