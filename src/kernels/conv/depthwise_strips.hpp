// The forward pass of a depthwise 3x3 convolution at stride 1, 5x5 at stride 1 or 2 (MobileNet's,
// EfficientNet's, ShuffleNet's), and 7x7 at stride 1 (ConvNeXt's), vectorised along the output
// row. Each channel plane is copied, a strip of rows at a time, into a zero-padded buffer on
// the stack (64 KiB; stride-2 rows split into their even and odd columns), so every tap of
// every output vector is one unaligned load and one multiply-add, with no edge cases: the
// general loops in conv_depthwise.cpp test bounds at each plane's edges, which on MobileNet's
// 7x7 and 14x14 planes is most of the plane. Built for AVX2+FMA and the baseline
// (kernels/cpu_clones.hpp).
#pragma once

#include <cstdint>

#include "kernels/conv/conv_geometry.hpp"

namespace footprint {

// Square kernel 3 or 7 with stride 1, or 5 with stride 1 or 2; no dilation; one padded strip of
// `kernel` rows fits the buffer (rows up to about 3000 columns). Depthwise is assumed
// (conv_depthwise_applies).
[[nodiscard]] bool depthwise_strips_apply(const ConvGeometry& g);

// One channel plane: src (in_h x in_w) convolved with weights (kernel x kernel) plus bias into
// dst (out_h x out_w).
void depthwise_plane_strips(const ConvGeometry& g, const float* src, const float* weights,
                            float bias, float* dst);

}  // namespace footprint
