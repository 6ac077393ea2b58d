// Winograd convolution F(4x4, 3x3) (Lavin and Gray 2016) for 3x3, stride 1, undilated,
// ungrouped layers at any padding up to 2: each 4x4 block of output comes from a 6x6 block of
// input with 36 multiplies per channel pair instead of 144 (4x fewer), the multiplies done as 36
// products [out_c, in_c] x [in_c, tiles] over a block of tiles at a time; the transforms and
// products are in winograd_kernels.hpp. Each thread takes whole blocks of tiles (transform in,
// multiply, transform out) in a slice of the workspace of its own, so a block's transformed
// values stay in that core's caches.
// The data gradient is the same computation on the output gradient with each filter turned
// 180 degrees and the channel axes swapped, at padding 2 - pad.
// F(4x4, 3x3) rounds more than the direct sum: tests/kernels/conv_test.cpp measures its error
// against the double-precision reference (within 1e-4 of the largest magnitude there; see
// docs/design.md for the measured figures at VGG's widths).
// Layouts as in conv_ref.hpp; sample strides as ConvGeometry says.
#pragma once

#include <cstdint>

#include "kernels/conv/conv_geometry.hpp"

namespace footprint {

class ThreadPool;

// 3x3, stride 1, dilation 1, one group, top and left padding at most 2.
[[nodiscard]] bool conv_winograd_applies(const ConvGeometry& g);

// Blocks are a multiple of this many tiles: the products' register block.
inline constexpr int64_t kWinogradColumns = 16;

// How a call splits its work. The transformed filters of `group` output channels at a time are
// held (all of them when group >= the pass's output channels): with many channels (512 x 512:
// 36 MiB) a pass over the image per group keeps the workspace within the GEMM tile's budget, at
// the cost of transforming the input again for each group. Each thread takes blocks of `block`
// tiles, a multiple of kWinogradColumns.
struct WinogradBlocking {
  int64_t group = 0;
  int64_t block = 0;
};

// Floats of workspace for `threads` threads: one group's transformed filters, then per thread
// the transformed input and products of one block and the rows the transforms work on. The
// same for the forward pass and the data gradient.
[[nodiscard]] int64_t conv_winograd_workspace_floats(const ConvGeometry& g, WinogradBlocking b,
                                                     int threads);

// The blocking for a workspace of at most `budget_bytes` (no limit: 0): the largest group that
// fits (no fewer than kWinogradMinGroup channels, or all of them) with the largest block up to
// what keeps one thread's transformed input and products near its caches, without leaving a
// thread idle. {0, 0} when nothing fits.
[[nodiscard]] WinogradBlocking conv_winograd_blocking(const ConvGeometry& g, int64_t batch,
                                                      int threads, int64_t budget_bytes);

// Groups smaller than this transform the input too often to pay (each group repeats it).
inline constexpr int64_t kWinogradMinGroup = 48;

// `workspace` holds conv_winograd_workspace_floats(g, blocking, pool threads) floats.
void conv_forward_winograd(ThreadPool& pool, const ConvGeometry& g, int64_t batch,
                           const float* src, const float* weights, const float* bias, float* dst,
                           float* workspace, WinogradBlocking blocking);

// d_src overwritten, or added to when accumulate.
void conv_data_grad_winograd(ThreadPool& pool, const ConvGeometry& g, int64_t batch,
                             const float* weights, const float* d_dst, float* d_src,
                             bool accumulate, float* workspace, WinogradBlocking blocking);

}  // namespace footprint
