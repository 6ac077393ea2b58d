#include "kernels/conv/conv_winograd.hpp"

#include <algorithm>

#include "core/thread_pool.hpp"
#include "kernels/gemm/gemm.hpp"

namespace footprint {
namespace {

constexpr int64_t kPositions = 16;  // a 4x4 transformed block

// U = G g G^T for one 3x3 filter g (row-major), into u[xi * stride] for the 16 positions xi.
//   G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1]
void transform_filter(const float* g, float* u, int64_t stride) {
  float t[4][3];  // G g
  for (int c = 0; c < 3; ++c) {
    t[0][c] = g[c];
    t[1][c] = 0.5f * (g[c] + g[3 + c] + g[6 + c]);
    t[2][c] = 0.5f * (g[c] - g[3 + c] + g[6 + c]);
    t[3][c] = g[6 + c];
  }
  for (int r = 0; r < 4; ++r) {
    u[(r * 4 + 0) * stride] = t[r][0];
    u[(r * 4 + 1) * stride] = 0.5f * (t[r][0] + t[r][1] + t[r][2]);
    u[(r * 4 + 2) * stride] = 0.5f * (t[r][0] - t[r][1] + t[r][2]);
    u[(r * 4 + 3) * stride] = t[r][2];
  }
}

// One pass: out[oc] (+)= sum over ic of filter(oc, ic) correlated with in[ic], for every 2x2
// block of output, given the filters already transformed into U [16, out_c, in_c].
struct Pass {
  int64_t in_c, in_h, in_w, in_stride;
  int64_t out_c, out_h, out_w, out_stride;
  int64_t pad_top, pad_left;  // where the first output's window starts: -pad
  const float* u;
  const float* bias;  // per output channel, or nullptr
  bool accumulate;
};

// V = B^T d B for one channel over a run of tiles in one row of tiles (consecutive tx), into
// v[xi * step + j]. Tiles whose 4x4 block lies inside the plane take the loop without bounds
// checks, written across tiles so it vectorises; the others check each value.
//   B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]
void transform_input_run(const Pass& p, const float* plane, int64_t ty, int64_t tx0, int64_t count,
                         float* v, int64_t step) {
  const int64_t y0 = ty * 2 - p.pad_top;
  auto one = [&](int64_t j) {  // the checked way, for a tile at the edge
    const int64_t x0 = (tx0 + j) * 2 - p.pad_left;
    float d[4][4];
    for (int r = 0; r < 4; ++r)
      for (int q = 0; q < 4; ++q) {
        const int64_t y = y0 + r, x = x0 + q;
        d[r][q] = y >= 0 && y < p.in_h && x >= 0 && x < p.in_w ? plane[y * p.in_w + x] : 0.0f;
      }
    float t[4][4];
    for (int q = 0; q < 4; ++q) {
      t[0][q] = d[0][q] - d[2][q];
      t[1][q] = d[1][q] + d[2][q];
      t[2][q] = d[2][q] - d[1][q];
      t[3][q] = d[1][q] - d[3][q];
    }
    for (int r = 0; r < 4; ++r) {
      v[(r * 4 + 0) * step + j] = t[r][0] - t[r][2];
      v[(r * 4 + 1) * step + j] = t[r][1] + t[r][2];
      v[(r * 4 + 2) * step + j] = t[r][2] - t[r][1];
      v[(r * 4 + 3) * step + j] = t[r][1] - t[r][3];
    }
  };
  // Tiles [inside_begin, inside_end) of the run lie inside horizontally; vertically all or none.
  const bool rows_inside = y0 >= 0 && y0 + 4 <= p.in_h;
  int64_t inside_begin = count, inside_end = count;
  if (rows_inside) {
    // x0 = (tx0 + j) * 2 - pad_left >= 0 and x0 + 4 <= in_w.
    inside_begin = std::clamp<int64_t>((p.pad_left + 1) / 2 - tx0, 0, count);
    inside_end = std::clamp<int64_t>((p.in_w - 4 + p.pad_left) / 2 - tx0 + 1, inside_begin, count);
  }
  for (int64_t j = 0; j < inside_begin; ++j) one(j);
  if (inside_end > inside_begin) {
    const float* r0 = plane + y0 * p.in_w + tx0 * 2 - p.pad_left;
    const float* r1 = r0 + p.in_w;
    const float* r2 = r1 + p.in_w;
    const float* r3 = r2 + p.in_w;
    float* __restrict out = v;
    for (int64_t j = inside_begin; j < inside_end; ++j) {
      const int64_t x = 2 * j;
      float t[4][4];
      for (int q = 0; q < 4; ++q) {
        t[0][q] = r0[x + q] - r2[x + q];
        t[1][q] = r1[x + q] + r2[x + q];
        t[2][q] = r2[x + q] - r1[x + q];
        t[3][q] = r1[x + q] - r3[x + q];
      }
      for (int r = 0; r < 4; ++r) {
        out[(r * 4 + 0) * step + j] = t[r][0] - t[r][2];
        out[(r * 4 + 1) * step + j] = t[r][1] + t[r][2];
        out[(r * 4 + 2) * step + j] = t[r][2] - t[r][1];
        out[(r * 4 + 3) * step + j] = t[r][1] - t[r][3];
      }
    }
  }
  for (int64_t j = inside_end; j < count; ++j) one(j);
}

// Y = A^T M A for one output channel over a run of tiles in one row of tiles, from
// m[xi * step + j], written (or added) into the plane; tiles hanging over the bottom or right
// edge write only what lies inside.
//   A^T = [1 1 1 0; 0 1 -1 -1]
void transform_output_run(const Pass& p, float bias, const float* m, int64_t step, int64_t ty,
                          int64_t tx0, int64_t count, float* plane) {
  const int64_t oy = ty * 2;
  const bool two_rows = oy + 2 <= p.out_h;
  // Tiles of the run whose two columns are inside: tx * 2 + 2 <= out_w.
  const int64_t full = two_rows ? std::clamp<int64_t>(p.out_w / 2 - tx0, 0, count) : 0;
  auto values = [&](int64_t j, float y[2][2]) {
    float s[4][4];
    for (int r = 0; r < 4; ++r)
      for (int q = 0; q < 4; ++q) s[r][q] = m[(r * 4 + q) * step + j];
    float t[2][4];
    for (int q = 0; q < 4; ++q) {
      t[0][q] = s[0][q] + s[1][q] + s[2][q];
      t[1][q] = s[1][q] - s[2][q] - s[3][q];
    }
    for (int r = 0; r < 2; ++r) {
      y[r][0] = t[r][0] + t[r][1] + t[r][2] + bias;
      y[r][1] = t[r][1] - t[r][2] - t[r][3] + bias;
    }
  };
  float* __restrict row0 = plane + oy * p.out_w + tx0 * 2;
  float* __restrict row1 = row0 + p.out_w;
  if (p.accumulate) {
    for (int64_t j = 0; j < full; ++j) {
      float y[2][2];
      values(j, y);
      row0[2 * j] += y[0][0];
      row0[2 * j + 1] += y[0][1];
      row1[2 * j] += y[1][0];
      row1[2 * j + 1] += y[1][1];
    }
  } else {
    for (int64_t j = 0; j < full; ++j) {
      float y[2][2];
      values(j, y);
      row0[2 * j] = y[0][0];
      row0[2 * j + 1] = y[0][1];
      row1[2 * j] = y[1][0];
      row1[2 * j + 1] = y[1][1];
    }
  }
  for (int64_t j = full; j < count; ++j) {  // over the edge: only what lies inside
    float y[2][2];
    values(j, y);
    for (int r = 0; r < 2 && oy + r < p.out_h; ++r) {
      for (int q = 0; q < 2; ++q) {
        const int64_t ox = (tx0 + j) * 2 + q;
        if (ox >= p.out_w) break;
        float& o = plane[(oy + r) * p.out_w + ox];
        o = p.accumulate ? o + y[r][q] : y[r][q];
      }
    }
  }
}

void run_pass(ThreadPool& pool, const Pass& p, int64_t batch, const float* in, float* out,
              float* v, float* m, int64_t block) {
  const int64_t tiles_h = (p.out_h + 1) / 2, tiles_w = (p.out_w + 1) / 2;
  const int64_t per_sample = tiles_h * tiles_w;
  const int64_t total = batch * per_sample;
  // Calls fn(n, ty, tx0, j, count) for each run of the block's tiles within one row of tiles:
  // tiles first + j .. first + j + count - 1.
  auto for_each_run = [&](int64_t first, int64_t nb, auto&& fn) {
    for (int64_t j = 0; j < nb;) {
      const int64_t t = first + j, n = t / per_sample, ty = t % per_sample / tiles_w,
                    tx = t % tiles_w;
      const int64_t count = std::min(nb - j, tiles_w - tx);
      fn(n, ty, tx, j, count);
      j += count;
    }
  };
  // Blocks of a multiple of kWinogradColumns tiles, the last padded up to one with zero
  // columns: OpenBLAS's AVX-512 kernel for small [M, K] x [K, N] products mallocs a packing
  // buffer on every call whose N is not a multiple of 16, and a step must allocate nothing.
  const int64_t step = block >= kWinogradColumns ? block / kWinogradColumns * kWinogradColumns : block;
  for (int64_t first = 0; first < total; first += step) {
    const int64_t nb = std::min(step, total - first);
    const int64_t cols = std::min(block, (nb + kWinogradColumns - 1) / kWinogradColumns * kWinogradColumns);
    // V [16, in_c, cols], channel by channel; columns past nb zero.
    pool.parallel_for(p.in_c, [&](int64_t c_begin, int64_t c_end, int) {
      for (int64_t c = c_begin; c < c_end; ++c) {
        for_each_run(first, nb, [&](int64_t n, int64_t ty, int64_t tx, int64_t j, int64_t count) {
          transform_input_run(p, in + n * p.in_stride + c * p.in_h * p.in_w, ty, tx, count,
                              v + c * cols + j, p.in_c * cols);
        });
        for (int64_t xi = 0; xi < kPositions && cols > nb; ++xi)
          std::fill_n(v + xi * p.in_c * cols + c * cols + nb, cols - nb, 0.0f);
      }
    }, std::max<int64_t>(1, 4096 / std::max<int64_t>(1, nb)));
    // M = U . V per position: [out_c, cols] = [out_c, in_c] x [in_c, cols], one GEMM a position.
    pool.parallel_for(kPositions, [&](int64_t begin, int64_t end, int) {
      for (int64_t xi = begin; xi < end; ++xi) {
        gemm_blas_serial({.m = p.out_c, .n = cols, .k = p.in_c, .lda = p.in_c, .ldb = cols, .ldc = cols},
                         1.0f, p.u + xi * p.out_c * p.in_c, v + xi * p.in_c * cols, 0.0f,
                         m + xi * p.out_c * cols);
      }
    });
    // Y into out, output channel by output channel.
    pool.parallel_for(p.out_c, [&](int64_t k_begin, int64_t k_end, int) {
      for (int64_t k = k_begin; k < k_end; ++k) {
        const float b = p.bias ? p.bias[k] : 0.0f;
        for_each_run(first, nb, [&](int64_t n, int64_t ty, int64_t tx, int64_t j, int64_t count) {
          transform_output_run(p, b, m + k * cols + j, p.out_c * cols, ty, tx, count,
                               out + n * p.out_stride + k * p.out_h * p.out_w);
        });
      }
    }, std::max<int64_t>(1, 4096 / std::max<int64_t>(1, nb)));
  }
}

}  // namespace

bool conv_winograd_applies(const ConvGeometry& g) {
  // The data gradient's correlation starts at 2 - pad: the top and left padding at most 2.
  return g.kernel_h == 3 && g.kernel_w == 3 && g.stride_h == 1 && g.stride_w == 1 &&
         g.dilation_h == 1 && g.dilation_w == 1 && g.groups == 1 && g.pad_top <= 2 &&
         g.pad_left <= 2;
}

int64_t conv_winograd_workspace_floats(const ConvGeometry& g, int64_t block_tiles) {
  return kPositions * (g.out_c * g.in_c + (g.in_c + g.out_c) * block_tiles);
}

int64_t conv_winograd_block_tiles(const ConvGeometry& g, int64_t budget_bytes) {
  const int64_t tiles = ((g.out_h + 1) / 2) * ((g.out_w + 1) / 2);
  const int64_t per_tile = kPositions * (g.in_c + g.out_c) * static_cast<int64_t>(sizeof(float));
  const int64_t filters = kPositions * g.out_c * g.in_c * static_cast<int64_t>(sizeof(float));
  return std::clamp<int64_t>((budget_bytes - filters) / per_tile, 1, tiles);
}

void conv_forward_winograd(ThreadPool& pool, const ConvGeometry& g, int64_t batch,
                           const float* src, const float* weights, const float* bias, float* dst,
                           float* workspace, int64_t block_tiles) {
  float* u = workspace;  // [16, out_c, in_c]
  pool.parallel_for(g.out_c, [&](int64_t begin, int64_t end, int) {
    for (int64_t k = begin; k < end; ++k)
      for (int64_t c = 0; c < g.in_c; ++c)
        transform_filter(weights + (k * g.in_c + c) * 9, u + k * g.in_c + c, g.out_c * g.in_c);
  });
  float* v = u + kPositions * g.out_c * g.in_c;
  float* m = v + kPositions * g.in_c * block_tiles;
  const Pass p{.in_c = g.in_c, .in_h = g.in_h, .in_w = g.in_w, .in_stride = g.src_stride(),
               .out_c = g.out_c, .out_h = g.out_h, .out_w = g.out_w, .out_stride = g.dst_stride(),
               .pad_top = g.pad_top, .pad_left = g.pad_left, .u = u, .bias = bias,
               .accumulate = false};
  run_pass(pool, p, batch, src, dst, v, m, block_tiles);
}

void conv_data_grad_winograd(ThreadPool& pool, const ConvGeometry& g, int64_t batch,
                             const float* weights, const float* d_dst, float* d_src,
                             bool accumulate, float* workspace, int64_t block_tiles) {
  // d_src[c] = sum over k of d_dst[k] correlated with w[k][c] turned 180 degrees, at padding
  // 2 - pad: filters [16, in_c, out_c].
  float* u = workspace;
  pool.parallel_for(g.in_c, [&](int64_t begin, int64_t end, int) {
    for (int64_t c = begin; c < end; ++c) {
      for (int64_t k = 0; k < g.out_c; ++k) {
        const float* w = weights + (k * g.in_c + c) * 9;
        const float turned[9] = {w[8], w[7], w[6], w[5], w[4], w[3], w[2], w[1], w[0]};
        transform_filter(turned, u + c * g.out_c + k, g.in_c * g.out_c);
      }
    }
  });
  float* v = u + kPositions * g.out_c * g.in_c;
  float* m = v + kPositions * g.out_c * block_tiles;
  const Pass p{.in_c = g.out_c, .in_h = g.out_h, .in_w = g.out_w, .in_stride = g.dst_stride(),
               .out_c = g.in_c, .out_h = g.in_h, .out_w = g.in_w, .out_stride = g.src_stride(),
               .pad_top = 2 - g.pad_top, .pad_left = 2 - g.pad_left, .u = u, .bias = nullptr,
               .accumulate = accumulate};
  run_pass(pool, p, batch, d_dst, d_src, v, m, block_tiles);
}

}  // namespace footprint
