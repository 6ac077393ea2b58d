// The im2col tile a convolution's GEMM runs on, in output rows, from the plan's budget
// (PlanOptions::conv_tile_bytes): shared by conv and convtranspose, whose kernels use the same
// column tiles.
#pragma once

#include <algorithm>
#include <cstdint>

#include "footprint/plan.hpp"
#include "kernels/conv/conv_geometry.hpp"

namespace footprint {

// The auto tile (kAutoConvTile): 16 output positions per output channel, so each tile's GEMM
// amortises reading the weights (a 512-channel VGG layer with 1 MiB tiles got one 64-wide row per
// 9 MiB of weights; 64 -> 64 channels at 224x224 ran its forward GEMM 3 to 7% faster on 4-row
// tiles than on 2-row: build-bench/conv_paths, last line), at most a quarter of the layer's
// whole column matrix, at least 1 MiB (small layers: the tile stays in cache) and at most 16 MiB.
// The backward pass uses at most 1 MiB of it at a time (conv_gemm.cpp says why).
inline constexpr int64_t kAutoConvTileMinBytes = int64_t{1} << 20;
inline constexpr int64_t kAutoConvTileMaxBytes = int64_t{16} << 20;
inline constexpr int64_t kAutoConvTileColumnsPerOutput = 16;

// Rows of g.out_h per tile: all of them for a budget of 0.
[[nodiscard]] inline int64_t conv_tile_rows(const ConvGeometry& g, int64_t conv_tile_bytes) {
  const int64_t row_bytes = g.col_rows() * g.out_w * static_cast<int64_t>(sizeof(float));
  int64_t budget = conv_tile_bytes;
  if (budget == kAutoConvTile) {
    // Each tile's GEMM streams the whole weight matrix [out_c, K] once: enough columns
    // (16 per output channel) amortise it; 1 MiB tiles stay in cache for small layers. A
    // tile is also kept to a quarter of the layer's whole column matrix: beyond that it buys
    // little speed for its bytes (six-block-512's 96-channel layer would take all 1.7 MiB).
    const int64_t columns = kAutoConvTileColumnsPerOutput * g.out_c;
    const int64_t whole = row_bytes * g.out_h;
    budget = std::clamp<int64_t>(
        std::min(g.col_rows() * columns * static_cast<int64_t>(sizeof(float)), whole / 4),
        kAutoConvTileMinBytes, kAutoConvTileMaxBytes);
  }
  if (budget <= 0) return g.out_h;
  return std::clamp<int64_t>(budget / row_bytes, 1, g.out_h);
}

}  // namespace footprint
