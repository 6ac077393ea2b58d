// What the 3x3 convolution benches (conv_paths.cpp, conv3x3.cpp) share: a layer shape, its
// geometry at padding 1, and the im2col tile the planner gives its GEMM path.
#pragma once

#include <cstdint>

#include <footprint/footprint.hpp>

#include "kernels/conv/conv_geometry.hpp"

namespace footprint::bench {

struct Shape3x3 {
  int64_t in_c, size, out_c, batch;
};

inline ConvGeometry geometry_of(const Shape3x3& s) {
  return {.in_c = s.in_c, .in_h = s.size, .in_w = s.size, .out_c = s.out_c, .out_h = s.size,
          .out_w = s.size, .kernel_h = 3, .kernel_w = 3, .pad_top = 1, .pad_left = 1};
}

// The GEMM path's tile in output rows as the planner sizes it (--tile-bytes auto), asked with
// the direct loops and Winograd off so that it plans this layer's GEMM.
inline int64_t planned_gemm_tile(const Shape3x3& s, int threads) {
  Net layer{Shape{s.in_c, s.size, s.size}};
  layer << conv(s.out_c, {.k = 3, .pad = 1});
  return plan(layer, {.batch = static_cast<int>(s.batch), .mode = Mode::infer, .threads = threads,
                      .direct_conv = false, .winograd_conv = false})
      .layers[0]
      .tile;
}

}  // namespace footprint::bench
