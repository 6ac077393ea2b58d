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

void run_pass(ThreadPool& pool, const Pass& p, int64_t batch, const float* in, float* out,
              float* v, float* m, int64_t block) {
  const int64_t tiles_h = (p.out_h + 1) / 2, tiles_w = (p.out_w + 1) / 2;
  const int64_t per_sample = tiles_h * tiles_w;
  const int64_t total = batch * per_sample;
  for (int64_t first = 0; first < total; first += block) {
    const int64_t nb = std::min(block, total - first);
    // V = B^T d B for every input channel and tile of the block: v [16, in_c, nb].
    //   B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]
    pool.parallel_for(p.in_c, [&](int64_t c_begin, int64_t c_end, int) {
      for (int64_t c = c_begin; c < c_end; ++c) {
        for (int64_t j = 0; j < nb; ++j) {
          const int64_t t = first + j, n = t / per_sample, ty = t % per_sample / tiles_w,
                        tx = t % tiles_w;
          const float* plane = in + n * p.in_stride + c * p.in_h * p.in_w;
          const int64_t y0 = ty * 2 - p.pad_top, x0 = tx * 2 - p.pad_left;
          float d[4][4];
          const bool inside = y0 >= 0 && x0 >= 0 && y0 + 4 <= p.in_h && x0 + 4 <= p.in_w;
          for (int r = 0; r < 4; ++r)
            for (int q = 0; q < 4; ++q) {
              const int64_t y = y0 + r, x = x0 + q;
              d[r][q] = inside || (y >= 0 && y < p.in_h && x >= 0 && x < p.in_w)
                            ? plane[y * p.in_w + x] : 0.0f;
            }
          float t0[4][4];  // B^T d
          for (int q = 0; q < 4; ++q) {
            t0[0][q] = d[0][q] - d[2][q];
            t0[1][q] = d[1][q] + d[2][q];
            t0[2][q] = d[2][q] - d[1][q];
            t0[3][q] = d[1][q] - d[3][q];
          }
          float* dst = v + c * nb + j;
          const int64_t step = p.in_c * nb;  // between positions
          for (int r = 0; r < 4; ++r) {
            dst[(r * 4 + 0) * step] = t0[r][0] - t0[r][2];
            dst[(r * 4 + 1) * step] = t0[r][1] + t0[r][2];
            dst[(r * 4 + 2) * step] = t0[r][2] - t0[r][1];
            dst[(r * 4 + 3) * step] = t0[r][1] - t0[r][3];
          }
        }
      }
    }, std::max<int64_t>(1, 4096 / std::max<int64_t>(1, nb)));
    // M = U . V per position: [out_c, nb] = [out_c, in_c] x [in_c, nb], one GEMM a position.
    pool.parallel_for(kPositions, [&](int64_t begin, int64_t end, int) {
      for (int64_t xi = begin; xi < end; ++xi) {
        gemm_blas_serial({.m = p.out_c, .n = nb, .k = p.in_c, .lda = p.in_c, .ldb = nb, .ldc = nb},
                         1.0f, p.u + xi * p.out_c * p.in_c, v + xi * p.in_c * nb, 0.0f,
                         m + xi * p.out_c * nb);
      }
    });
    // Y = A^T M A for every output channel and tile, into out.
    //   A^T = [1 1 1 0; 0 1 -1 -1]
    pool.parallel_for(p.out_c, [&](int64_t k_begin, int64_t k_end, int) {
      for (int64_t k = k_begin; k < k_end; ++k) {
        const float b = p.bias ? p.bias[k] : 0.0f;
        for (int64_t j = 0; j < nb; ++j) {
          const int64_t t = first + j, n = t / per_sample, ty = t % per_sample / tiles_w,
                        tx = t % tiles_w;
          const float* src = m + k * nb + j;
          const int64_t step = p.out_c * nb;
          float s[4][4];
          for (int r = 0; r < 4; ++r)
            for (int q = 0; q < 4; ++q) s[r][q] = src[(r * 4 + q) * step];
          float t0[2][4];  // A^T s
          for (int q = 0; q < 4; ++q) {
            t0[0][q] = s[0][q] + s[1][q] + s[2][q];
            t0[1][q] = s[1][q] - s[2][q] - s[3][q];
          }
          float y[2][2];
          for (int r = 0; r < 2; ++r) {
            y[r][0] = t0[r][0] + t0[r][1] + t0[r][2] + b;
            y[r][1] = t0[r][1] - t0[r][2] - t0[r][3] + b;
          }
          float* plane = out + n * p.out_stride + k * p.out_h * p.out_w;
          for (int r = 0; r < 2; ++r) {
            const int64_t oy = ty * 2 + r;
            if (oy >= p.out_h) break;
            for (int q = 0; q < 2; ++q) {
              const int64_t ox = tx * 2 + q;
              if (ox >= p.out_w) break;
              float& o = plane[oy * p.out_w + ox];
              o = p.accumulate ? o + y[r][q] : y[r][q];
            }
          }
        }
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
