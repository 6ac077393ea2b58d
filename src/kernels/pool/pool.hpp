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
// Average pooling's divisor: by default the taps inside the image (padding is not counted);
// with count_include_pad, the taps inside the padded image [-pad_top, in_h + pad_bottom) x
// [-pad_left, in_w + pad_right), as ONNX's count_include_pad (taps past those pads, which ceil
// mode can add, are never counted).
struct AvgPoolDivisor {
  bool count_include_pad = false;
  int64_t pad_bottom = 0, pad_right = 0;
};
void avgpool_forward(ThreadPool& pool, const ConvGeometry& g, int64_t planes, const float* src,
                     float* dst, const AvgPoolDivisor& divisor = {});
void avgpool_backward(ThreadPool& pool, const ConvGeometry& g, int64_t planes, const float* d_dst,
                      float* d_src, bool accumulate, const AvgPoolDivisor& divisor = {});

// Fast paths for 2x2 windows at stride 2 without padding, windows all inside the image
// (pool_2x2.cpp); the functions above use them when pool_2x2_applies. Identical results.
[[nodiscard]] bool pool_2x2_applies(const ConvGeometry& g);
void avgpool_2x2_forward(ThreadPool& pool, const ConvGeometry& g, int64_t planes, const float* src,
                         float* dst);
void avgpool_2x2_backward(ThreadPool& pool, const ConvGeometry& g, int64_t planes,
                          const float* d_dst, float* d_src, bool accumulate);
void maxpool_2x2_forward(ThreadPool& pool, const ConvGeometry& g, int64_t planes,
                         const float* src, float* dst, uint8_t* argmax);
void maxpool_2x2_backward(ThreadPool& pool, const ConvGeometry& g, int64_t planes,
                          const uint8_t* argmax, const float* d_dst, float* d_src,
                          bool accumulate);

}  // namespace footprint
