#include "kernels/conv/conv_gemm.hpp"

#include <algorithm>
#include <cstring>

#include "core/check.hpp"
#include "core/thread_pool.hpp"
#include "footprint/layer.hpp"
#include "kernels/conv/im2col.hpp"
#include "kernels/eltwise/sum_lanes.hpp"
#include "kernels/gemm/gemm.hpp"

namespace footprint {
namespace {

// Channels per thread below which one thread takes them all (about 16K values).
int64_t channel_grain(int64_t plane_elems) {
  return std::max<int64_t>(1, 16384 / std::max<int64_t>(1, plane_elems));
}

}  // namespace

int64_t conv_gemm_workspace_floats(const ConvGeometry& g, int64_t tile_rows) {
  if (g.is_pointwise()) return 0;
  return g.col_rows() * std::min(tile_rows, g.out_h) * g.out_w;
}

namespace {

// With several threads, each can take whole pieces of work (output row blocks in the forward
// pass, whole samples for the data gradient) with its own 1/threads slice of the tile, running
// serial im2col and GEMM: no hand-off per tile, which is what small layers (LeNet's) spend their
// time on, and each core's slice stays in its own cache. Returns the output rows one slice
// holds, or 0 when that does not apply (one thread, a 1x1 conv, a slice smaller than one output
// row). The workspace stays the plan's one tile.
int64_t rows_per_thread_slice(const ThreadPool& pool, const ConvGeometry& g, int64_t tile_rows) {
  const int64_t threads = pool.size();
  if (threads == 1 || g.is_pointwise()) return 0;
  const int64_t slice_floats = conv_gemm_workspace_floats(g, tile_rows) / threads;
  const int64_t rows = slice_floats / (g.col_rows() * g.out_w);
  // Each slice's GEMM packs the whole weight matrix. Where a slice has fewer columns than the
  // layer has output channels (ResNet's 7x7 and 14x14 stages: 512 channels, 3 x 7 columns a
  // slice), packing outweighs the product: one shared tile whose GEMM the threads split by
  // output channels packs each weight once.
  if (rows * g.out_w < g.group_out_c()) return 0;
  return rows;
}

// Starts a tile of output, [channels, cols] at dst with rows out_plane apart, as the bias, and
// returns the beta for the GEMM that adds the product: 1 over the bias, 0 without one. The
// BLAS skips its own pass over C when beta is 1, so the bias costs one write, not a zeroing
// pass and an add pass.
float fill_bias(const float* bias, int64_t channels, int64_t out_plane, float* dst, int64_t cols) {
  if (!bias) return 0.0f;
  for (int64_t c = 0; c < channels; ++c) std::fill_n(dst + c * out_plane, cols, bias[c]);
  return 1.0f;
}

// Rows per tile in the backward pass: at most the plan's tile, and at most about 1 MiB or 4
// output positions per output channel, whichever is larger. The column gradient is written by
// one GEMM and read back by col2im, so small layers gain from tiles that stay in the cores' L2
// caches (2 MiB tiles ran slower than 1 MiB on 64 -> 64 channels at 224x224, 2 threads, when the
// backward still used the whole tile), while each tile's GEMM packs the whole weight matrix, so
// wide layers need enough columns to amortise it (with one 64-column row per tile, perf showed
// the vgg19 input-gradient step of compare_footprint spending a tenth of its time packing).
int64_t backward_tile_rows(const ConvGeometry& g, int64_t tile_rows) {
  constexpr int64_t kBackwardTileBytes = int64_t{1} << 20;
  constexpr int64_t kPositionsPerOutput = 4;
  const int64_t bytes = static_cast<int64_t>(sizeof(float)) * g.col_rows();
  const int64_t budget = std::max(kBackwardTileBytes, bytes * kPositionsPerOutput * g.group_out_c());
  return std::clamp<int64_t>(budget / (bytes * g.out_w), 1, tile_rows);
}

// Channels [c0, c1) of group grp's output, columns [col, col + cols) of each plane: the
// epilogue after the GEMM that wrote them.
void apply_epilogue(const ChannelEpilogue& e, int64_t first_channel, int64_t c0, int64_t c1,
                    float* dst_g, int64_t out_plane, int64_t col, int64_t cols) {
  for (int64_t c = c0; c < c1; ++c) e.apply(first_channel + c, dst_g + c * out_plane + col, cols);
}

}  // namespace

void conv_forward_gemm(ThreadPool& pool, const ConvGeometry& g, int64_t batch, const float* src,
                       const float* weights, const float* bias, float* dst, float* workspace,
                       int64_t tile_rows, bool accumulate_dst, const ChannelEpilogue* epilogue) {
  FP_CHECK(!accumulate_dst || !bias, "conv_forward_gemm adds into dst only without a bias");
  FP_CHECK(!accumulate_dst || !epilogue, "conv_forward_gemm adds into dst only without an epilogue");
  const int64_t gic = g.group_in_c(), goc = g.group_out_c();
  const int64_t in_plane = g.in_h * g.in_w, out_plane = g.out_h * g.out_w;
  const int64_t k = g.col_rows();
  if (const int64_t slice_rows = rows_per_thread_slice(pool, g, tile_rows); slice_rows > 0) {
    // Items are (sample, block of slice_rows output rows); each writes only its own rows of dst.
    // Each core keeps its own slice of columns in its cache, and no tile waits for the slowest
    // thread before the next one starts.
    const int64_t slice_floats = conv_gemm_workspace_floats(g, tile_rows) / pool.size();
    const int64_t row_blocks = (g.out_h + slice_rows - 1) / slice_rows;
    pool.parallel_for(batch * row_blocks, [&](int64_t begin, int64_t end, int chunk) {
      float* col = workspace + chunk * slice_floats;  // no two running chunks share a slice
      for (int64_t item = begin; item < end; ++item) {
        const int64_t n = item / row_blocks;
        const int64_t row = item % row_blocks * slice_rows;
        const int64_t row_end = std::min(row + slice_rows, g.out_h);
        const int64_t cols = (row_end - row) * g.out_w;
        for (int64_t grp = 0; grp < g.groups; ++grp) {
          const float* src_g = src + n * g.src_stride() + grp * gic * in_plane;
          const float* w_g = weights + grp * goc * k;
          float* dst_tile = dst + n * g.dst_stride() + grp * goc * out_plane + row * g.out_w;
          im2col_rows_serial(g, src_g, row, row_end, col);
          const float beta = accumulate_dst ? 1.0f
                             : fill_bias(bias ? bias + grp * goc : nullptr, goc, out_plane,
                                         dst_tile, cols);
          gemm_blas_serial({.m = goc, .n = cols, .k = k, .lda = k, .ldb = cols, .ldc = out_plane},
                           1.0f, w_g, col, beta, dst_tile);
          if (epilogue) {
            apply_epilogue(*epilogue, grp * goc, 0, goc, dst + n * g.dst_stride() + grp * goc * out_plane,
                           out_plane, row * g.out_w, cols);
          }
        }
      }
    });
    return;
  }
  for (int64_t n = 0; n < batch; ++n) {
    for (int64_t grp = 0; grp < g.groups; ++grp) {
      const float* src_g = src + n * g.src_stride() + grp * gic * in_plane;
      const float* w_g = weights + grp * goc * k;
      float* dst_g = dst + n * g.dst_stride() + grp * goc * out_plane;
      const float* bias_g = bias ? bias + grp * goc : nullptr;
      if (g.is_pointwise()) {
        // [goc, out_plane] = [goc, gic] x [gic, in_plane]
        const float beta =
            accumulate_dst ? 1.0f : fill_bias(bias_g, goc, out_plane, dst_g, out_plane);
        gemm_blas(pool, {.m = goc, .n = out_plane, .k = gic, .lda = gic, .ldb = in_plane,
                         .ldc = out_plane}, 1.0f, w_g, src_g, beta, dst_g);
        // After the whole product: in smaller blocks, to apply it while each is in cache, the
        // GEMM ran slower than the pass this saves (mobilenet_v2, efficientnet_b0, densenet121).
        if (epilogue) {
          pool.parallel_for(goc, [&](int64_t c0, int64_t c1, int) {
            apply_epilogue(*epilogue, grp * goc, c0, c1, dst_g, out_plane, 0, out_plane);
          });
        }
        continue;
      }
      for (int64_t row = 0; row < g.out_h; row += tile_rows) {
        const int64_t row_end = std::min(row + tile_rows, g.out_h);
        const int64_t cols = (row_end - row) * g.out_w;
        im2col_rows(pool, g, src_g, row, row_end, workspace);  // [k, cols]
        const float beta =
            accumulate_dst ? 1.0f : fill_bias(bias_g, goc, out_plane, dst_g + row * g.out_w, cols);
        // [goc, cols] (+)= [goc, k] x [k, cols], written into the tile's rows of dst
        gemm_blas(pool, {.m = goc, .n = cols, .k = k, .lda = k, .ldb = cols, .ldc = out_plane},
                  1.0f, w_g, workspace, beta, dst_g + row * g.out_w);
        if (epilogue) {
          pool.parallel_for(goc, [&](int64_t c0, int64_t c1, int) {
            apply_epilogue(*epilogue, grp * goc, c0, c1, dst_g, out_plane, row * g.out_w, cols);
          });
        }
      }
    }
  }
}

void conv_backward_gemm(ThreadPool& pool, const ConvGeometry& g, int64_t batch, const float* src,
                        const float* weights, const float* d_dst, float* d_src,
                        bool accumulate_d_src, float* d_weights, float* d_bias, float* workspace,
                        int64_t tile_rows) {
  const int64_t gic = g.group_in_c(), goc = g.group_out_c();
  const int64_t in_plane = g.in_h * g.in_w, out_plane = g.out_h * g.out_w;
  const int64_t k = g.col_rows();
  if (d_weights) std::memset(d_weights, 0, sizeof(float) * g.out_c * k);
  if (d_src && !accumulate_d_src && !g.is_pointwise()) {
    for (int64_t n = 0; n < batch; ++n)
      std::memset(d_src + n * g.src_stride(), 0, sizeof(float) * g.in_c * in_plane);
  }
  // d_weights sums over samples into one buffer, so it stays a loop over samples with each
  // GEMM split over the threads; d_src is per sample and, where it applies, goes one sample
  // per thread in a second pass below.
  // The data gradient's col2im adds into rows that neighbouring row blocks share, so threads
  // take whole samples there, which needs at least one sample per thread.
  const int64_t slice_rows = batch >= pool.size() ? rows_per_thread_slice(pool, g, tile_rows) : 0;
  const int64_t backward_rows = backward_tile_rows(g, tile_rows);
  for (int64_t n = 0; n < batch; ++n) {
    if (!d_weights && (!d_src || slice_rows > 0)) break;
    for (int64_t grp = 0; grp < g.groups; ++grp) {
      const float* src_g = d_weights ? src + n * g.src_stride() + grp * gic * in_plane : nullptr;
      const float* w_g = weights + grp * goc * k;
      const float* d_dst_g = d_dst + n * g.dst_stride() + grp * goc * out_plane;
      float* d_w_g = d_weights ? d_weights + grp * goc * k : nullptr;
      float* d_src_g =
          d_src && slice_rows == 0 ? d_src + n * g.src_stride() + grp * gic * in_plane : nullptr;
      if (g.is_pointwise()) {
        if (d_w_g) {  // [goc, gic] += [goc, plane] x [gic, plane]^T
          gemm_blas(pool, {.trans_b = true, .m = goc, .n = gic, .k = out_plane, .lda = out_plane,
                           .ldb = in_plane, .ldc = gic}, 1.0f, d_dst_g, src_g, 1.0f, d_w_g);
        }
        if (d_src_g) {  // [gic, plane] (+)= [goc, gic]^T x [goc, plane]
          gemm_blas(pool, {.trans_a = true, .m = gic, .n = out_plane, .k = goc, .lda = gic,
                           .ldb = out_plane, .ldc = in_plane},
                    1.0f, w_g, d_dst_g, accumulate_d_src ? 1.0f : 0.0f, d_src_g);
        }
        continue;
      }
      for (int64_t row = 0; row < g.out_h; row += backward_rows) {
        const int64_t row_end = std::min(row + backward_rows, g.out_h);
        const int64_t cols = (row_end - row) * g.out_w;
        const float* d_dst_tile = d_dst_g + row * g.out_w;
        if (d_w_g) {
          im2col_rows(pool, g, src_g, row, row_end, workspace);
          // [goc, k] += [goc, cols] x [k, cols]^T
          gemm_blas(pool, {.trans_b = true, .m = goc, .n = k, .k = cols, .lda = out_plane,
                           .ldb = cols, .ldc = k}, 1.0f, d_dst_tile, workspace, 1.0f, d_w_g);
        }
        if (d_src_g) {
          // The same tile buffer now holds the column gradient: [k, cols] = [goc, k]^T x [goc, cols]
          gemm_blas(pool, {.trans_a = true, .m = k, .n = cols, .k = goc, .lda = k,
                           .ldb = out_plane, .ldc = cols}, 1.0f, w_g, d_dst_tile, 0.0f, workspace);
          col2im_rows_add(pool, g, workspace, row, row_end, d_src_g);
        }
      }
    }
  }
  if (d_src && slice_rows > 0) {
    const int64_t slice_floats = conv_gemm_workspace_floats(g, tile_rows) / pool.size();
    pool.parallel_for(batch, [&](int64_t n_begin, int64_t n_end, int chunk) {
      float* col = workspace + chunk * slice_floats;  // no two running chunks share a slice
      for (int64_t n = n_begin; n < n_end; ++n) {
        for (int64_t grp = 0; grp < g.groups; ++grp) {
          const float* w_g = weights + grp * goc * k;
          const float* d_dst_g = d_dst + n * g.dst_stride() + grp * goc * out_plane;
          float* d_src_g = d_src + n * g.src_stride() + grp * gic * in_plane;
          for (int64_t row = 0; row < g.out_h; row += slice_rows) {
            const int64_t row_end = std::min(row + slice_rows, g.out_h);
            const int64_t cols = (row_end - row) * g.out_w;
            // [k, cols] = [goc, k]^T x [goc, cols]
            gemm_blas_serial({.trans_a = true, .m = k, .n = cols, .k = goc, .lda = k,
                              .ldb = out_plane, .ldc = cols},
                             1.0f, w_g, d_dst_g + row * g.out_w, 0.0f, col);
            col2im_rows_add_serial(g, col, row, row_end, d_src_g);
          }
        }
      }
    });
  }
  if (d_bias) conv_bias_backward(pool, g, batch, d_dst, d_bias);
}

void conv_bias_backward(ThreadPool& pool, const ConvGeometry& g, int64_t batch,
                        const float* d_dst, float* d_bias) {
  const int64_t out_plane = g.out_h * g.out_w;
  pool.parallel_for(g.out_c, [&](int64_t begin, int64_t end, int) {
    for (int64_t oc = begin; oc < end; ++oc) {
      double sum = 0.0;
      for (int64_t n = 0; n < batch; ++n) {
        const float* plane = d_dst + n * g.dst_stride() + oc * out_plane;
        sum += sum_lanes(out_plane, [&](int64_t i) { return plane[i]; });
      }
      d_bias[oc] = static_cast<float>(sum);
    }
  }, channel_grain(out_plane));
}

}  // namespace footprint
