// Convolution by GEMM over im2col tiles of `tile_rows` output rows: the workspace holds one
// column tile, [group_in_c * kernel_h * kernel_w, tile_rows * out_w] floats, whatever the layer
// size. 1x1 stride-1 convolutions read the input directly and need no workspace.
// With several threads and at least as many samples, the tile is cut into one slice per thread
// and each thread takes whole samples (forward and d_src), instead of splitting every tile's
// GEMM: the same bytes, fewer hand-offs.
// Layouts as in conv_ref.hpp.
#pragma once

#include <cstdint>

#include "kernels/conv/conv_geometry.hpp"

namespace footprint {

class ChannelEpilogue;
class ThreadPool;

[[nodiscard]] int64_t conv_gemm_workspace_floats(const ConvGeometry& g, int64_t tile_rows);

// dst is overwritten, or, with accumulate_dst (and no bias), added to: a transposed
// convolution's data gradient is this convolution added into what another reader wrote.
// epilogue (inference; not with accumulate_dst): applied to each piece of dst as it is written.
void conv_forward_gemm(ThreadPool& pool, const ConvGeometry& g, int64_t batch, const float* src,
                       const float* weights, const float* bias, float* dst, float* workspace,
                       int64_t tile_rows, bool accumulate_dst = false,
                       const ChannelEpilogue* epilogue = nullptr);

// d_weights and d_bias are overwritten (either may be nullptr); d_src (may be nullptr) is
// overwritten, or added to when accumulate_d_src. src is read only for d_weights (it may be
// nullptr without them).
void conv_backward_gemm(ThreadPool& pool, const ConvGeometry& g, int64_t batch, const float* src,
                        const float* weights, const float* d_dst, float* d_src,
                        bool accumulate_d_src, float* d_weights, float* d_bias, float* workspace,
                        int64_t tile_rows);

// d_bias[oc] = the sum of d_dst over the batch and the plane (shared with the direct kernels).
void conv_bias_backward(ThreadPool& pool, const ConvGeometry& g, int64_t batch,
                        const float* d_dst, float* d_bias);

}  // namespace footprint
