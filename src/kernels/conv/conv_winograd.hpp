// Winograd convolution F(2x2, 3x3) (Lavin and Gray 2016) for 3x3, stride 1, undilated, ungrouped
// layers at any padding: each 2x2 block of output comes from a 4x4 block of input with 16
// multiplies per channel pair instead of 36, the multiplies done as 16 GEMMs
// [out_c, in_c] x [in_c, tiles] over a block of tiles at a time:
//   U = G g G^T  (each filter, 4x4)          V = B^T d B  (each 4x4 input block)
//   M = U . V    (per position of the 4x4)   Y = A^T M A  (the 2x2 output block)
// The data gradient is the same computation on the output gradient with each filter turned
// 180 degrees and the channel axes swapped, at padding 2 - pad. F(2x2, 3x3)'s error stays near
// float's own: tests/kernels/conv_test.cpp measures it against the double-precision reference.
// The workspace holds the transformed filters and one block of transformed input and products.
// Layouts as in conv_ref.hpp; sample strides as ConvGeometry says.
#pragma once

#include <cstdint>

#include "kernels/conv/conv_geometry.hpp"

namespace footprint {

class ThreadPool;

// 3x3, stride 1, dilation 1, one group.
[[nodiscard]] bool conv_winograd_applies(const ConvGeometry& g);

// Blocks of tiles are best a multiple of this (the last is padded up to one with zeros): the
// GEMMs' N, which OpenBLAS's AVX-512 small-matrix kernel wants a multiple of 16 or it mallocs.
inline constexpr int64_t kWinogradColumns = 16;

// Floats of workspace for blocks of `block_tiles` 2x2 output tiles: the transformed filters
// [16, out_c, in_c] plus, per block, the transformed input [16, in_c, block] and the products
// [16, out_c, block]. The data gradient needs the same with in_c and out_c swapped, which is the
// same number.
[[nodiscard]] int64_t conv_winograd_workspace_floats(const ConvGeometry& g, int64_t block_tiles);

// Output tiles per block for a workspace budget in bytes (at least 1, at most all of a sample's).
[[nodiscard]] int64_t conv_winograd_block_tiles(const ConvGeometry& g, int64_t budget_bytes);

void conv_forward_winograd(ThreadPool& pool, const ConvGeometry& g, int64_t batch,
                           const float* src, const float* weights, const float* bias, float* dst,
                           float* workspace, int64_t block_tiles);

// d_src overwritten, or added to when accumulate.
void conv_data_grad_winograd(ThreadPool& pool, const ConvGeometry& g, int64_t batch,
                             const float* weights, const float* d_dst, float* d_src,
                             bool accumulate, float* workspace, int64_t block_tiles);

}  // namespace footprint
