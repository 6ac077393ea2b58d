// Max and average pooling over [planes, in_h, in_w] (planes = N * C); windows from ConvGeometry
// (in_c and out_c unused). Parallel over planes.
#pragma once

#include <cstdint>

#include "kernels/conv/conv_geometry.hpp"

namespace footprint {

class ThreadPool;

// argmax: [planes, out_h, out_w], the winning tap's index kh * kernel_w + kw (window <= 256 taps).
void maxpool_forward(ThreadPool& pool, const ConvGeometry& g, int64_t planes, const float* src,
                     float* dst, uint8_t* argmax);
void maxpool_backward(ThreadPool& pool, const ConvGeometry& g, int64_t planes,
                      const uint8_t* argmax, const float* d_dst, float* d_src, bool accumulate);
// The divisor is the number of taps inside the image (padding is not counted).
void avgpool_forward(ThreadPool& pool, const ConvGeometry& g, int64_t planes, const float* src,
                     float* dst);
void avgpool_backward(ThreadPool& pool, const ConvGeometry& g, int64_t planes, const float* d_dst,
                      float* d_src, bool accumulate);

}  // namespace footprint
