// Column matrices for convolution by GEMM, built for a tile of output rows so the workspace is
// bounded by the tile, not the layer.
#pragma once

#include "kernels/conv/conv_geometry.hpp"

namespace footprint {

class ThreadPool;

// src: one sample's channels of one group, [group_in_c, in_h, in_w].
// col: [group_in_c * kernel_h * kernel_w, (out_row_end - out_row_begin) * out_w]; padding reads 0.
void im2col_rows(ThreadPool& pool, const ConvGeometry& g, const float* src, int64_t out_row_begin,
                 int64_t out_row_end, float* col);

// The adjoint of im2col_rows: adds every column entry back into d_src ([group_in_c, in_h, in_w]).
// Parallel over channels: each thread writes only its own channels of d_src.
void col2im_rows_add(ThreadPool& pool, const ConvGeometry& g, const float* col,
                     int64_t out_row_begin, int64_t out_row_end, float* d_src);

// The same two on the calling thread alone, for callers that split the work over threads
// themselves (one sample per thread, each with its own slice of the workspace).
void im2col_rows_serial(const ConvGeometry& g, const float* src, int64_t out_row_begin,
                        int64_t out_row_end, float* col);
void col2im_rows_add_serial(const ConvGeometry& g, const float* col, int64_t out_row_begin,
                            int64_t out_row_end, float* d_src);

}  // namespace footprint
