#include "kernels/conv/conv_winograd.hpp"

#include <algorithm>
#include <limits>

#include "core/thread_pool.hpp"
#include "kernels/conv/winograd_kernels.hpp"

namespace footprint {
namespace {

using winograd::kPositions;

// One thread's transformed input and products of a block, at most (but at least 16 tiles).
constexpr int64_t kBlockBytes = int64_t{1} << 20;

int64_t round_up(int64_t n, int64_t to) { return (n + to - 1) / to * to; }

// One pass: out[oc] (+)= sum over ic of filter(oc, ic) correlated with in[ic], 4x4 block of
// output by 4x4 block, given the filters already transformed and packed into u.
struct Pass {
  int64_t in_c, in_h, in_w, in_stride;
  int64_t out_c, out_h, out_w, out_stride;  // out_c: this group's output channels
  int64_t pad_top, pad_left;  // where the first output's window starts: -pad
  int64_t out_first;          // the group's first output channel
  const float* u;             // the group's transformed filters
  const float* bias;          // per output channel of the layer, or nullptr
  bool accumulate;

  [[nodiscard]] int64_t tiles_h() const { return (out_h + 3) / 4; }
  [[nodiscard]] int64_t tiles_w() const { return (out_w + 3) / 4; }
};

// One thread's share of the workspace for blocks of `block` tiles, in floats:
// V [36][in_c][block], M [36][out_c][block], the column pass's scratch, six padded input rows,
// one row of zeros and the 4 output rows of tiles that hang over the edge.
struct ThreadSlice {
  float *v, *m, *scratch, *rows, *zeros, *edge;
  int64_t row_len;  // floats from one padded input row to the next

  static int64_t floats(int64_t in_c, int64_t out_c, int64_t block) {
    return kPositions * (in_c + out_c) * block + 24 * (block + 1) + 7 * row_floats(block) +
           16 * block;
  }
  static int64_t row_floats(int64_t block) { return 4 * block + 4; }
  ThreadSlice(float* base, int64_t in_c, int64_t out_c, int64_t block) {
    row_len = row_floats(block);
    v = base;
    m = v + kPositions * in_c * block;
    scratch = m + kPositions * out_c * block;
    rows = scratch + 24 * (block + 1);
    zeros = rows + 6 * row_floats(block);
    edge = zeros + row_floats(block);
  }
};

// The slice's transformed input for channel c of tiles [j, j + count) of the block: a run of
// tiles in row ty of sample n's tiles, from tile column tx0.
void input_run(const Pass& p, const ThreadSlice& s, const float* plane, int64_t ty, int64_t tx0,
               int64_t count, float* v, int64_t xi_stride) {
  const int64_t y0 = ty * 4 - p.pad_top, x0 = tx0 * 4 - p.pad_left;
  const int64_t width = 4 * count + 4;  // what transform_input reads of each row
  const float* rows[6];
  for (int r = 0; r < 6; ++r) {
    const int64_t y = y0 + r;
    if (y < 0 || y >= p.in_h) {
      rows[r] = s.zeros;
    } else if (x0 >= 0 && x0 + width <= p.in_w) {
      rows[r] = plane + y * p.in_w + x0;  // inside: read in place
    } else {  // at the left or right edge: a copy with zeros outside the plane
      float* row = s.rows + r * s.row_len;
      const float* src = plane + y * p.in_w;
      for (int64_t i = 0; i < width; ++i) {
        const int64_t x = x0 + i;
        row[i] = x >= 0 && x < p.in_w ? src[x] : 0.0f;
      }
      rows[r] = row;
    }
  }
  winograd::transform_input(rows, count, v, xi_stride, s.scratch);
}

// Output channel k of tiles [j, j + count) of the block into its plane.
void output_run(const Pass& p, const ThreadSlice& s, float bias, const float* m, int64_t xi_stride,
                int64_t ty, int64_t tx0, int64_t count, float* plane) {
  const int64_t oy = ty * 4, ox = tx0 * 4;
  // Tiles whose 4x4 block lies inside the plane write in place, the rest through `edge`.
  const int64_t inside = oy + 4 <= p.out_h ? std::clamp<int64_t>(p.out_w / 4 - tx0, 0, count) : 0;
  if (inside > 0) {
    winograd::transform_output(m, xi_stride, inside, bias, plane + oy * p.out_w + ox, p.out_w,
                               p.accumulate);
  }
  if (inside == count) return;
  const int64_t rest = count - inside;
  winograd::transform_output(m + inside, xi_stride, rest, bias, s.edge, 4 * rest, false);
  const int64_t rows = std::min<int64_t>(4, p.out_h - oy);
  const int64_t x_begin = ox + 4 * inside, cols = std::min(4 * rest, p.out_w - x_begin);
  for (int64_t r = 0; r < rows; ++r) {
    float* o = plane + (oy + r) * p.out_w + x_begin;
    const float* e = s.edge + r * 4 * rest;
    for (int64_t i = 0; i < cols; ++i) o[i] = p.accumulate ? o[i] + e[i] : e[i];
  }
}

// Tiles [first, first + nb) of the pass (counted over the whole batch) by one thread.
void run_block(const Pass& p, const ThreadSlice& s, const float* in, float* out, int64_t first,
               int64_t nb) {
  const int64_t tiles_w = p.tiles_w(), per_sample = p.tiles_h() * tiles_w;
  const int64_t columns = round_up(nb, kWinogradColumns);
  // Calls fn(n, ty, tx0, j, count) for each run of the block's tiles within one row of tiles.
  auto for_each_run = [&](auto&& fn) {
    for (int64_t j = 0; j < nb;) {
      const int64_t t = first + j, n = t / per_sample, ty = t % per_sample / tiles_w, tx = t % tiles_w;
      const int64_t count = std::min(nb - j, tiles_w - tx);
      fn(n, ty, tx, j, count);
      j += count;
    }
  };
  for (int64_t c = 0; c < p.in_c; ++c) {
    for_each_run([&](int64_t n, int64_t ty, int64_t tx, int64_t j, int64_t count) {
      input_run(p, s, in + n * p.in_stride + c * p.in_h * p.in_w, ty, tx, count,
                s.v + c * columns + j, p.in_c * columns);
    });
    // Columns past the block's tiles: zeros, so the products there are finite and unused.
    for (int64_t xi = 0; xi < kPositions && columns > nb; ++xi)
      std::fill_n(s.v + (xi * p.in_c + c) * columns + nb, columns - nb, 0.0f);
  }
  winograd::multiply(p.u, s.v, s.m, p.out_c, p.in_c, columns);
  for (int64_t k = 0; k < p.out_c; ++k) {
    const int64_t channel = p.out_first + k;
    const float b = p.bias ? p.bias[channel] : 0.0f;
    for_each_run([&](int64_t n, int64_t ty, int64_t tx, int64_t j, int64_t count) {
      output_run(p, s, b, s.m + k * columns + j, p.out_c * columns, ty, tx, count,
                 out + n * p.out_stride + channel * p.out_h * p.out_w);
    });
  }
}

// The pass's output channels group by group: the group's filters transformed (by
// `transform(first, count, u)`, packed for `count` outputs), then every tile.
template <typename Transform>
void run_pass(ThreadPool& pool, Pass p, int64_t batch, const float* in, float* out, float* workspace,
              WinogradBlocking b, int64_t slice_floats, int64_t filter_floats, Transform&& transform) {
  const int64_t total = batch * p.tiles_h() * p.tiles_w();
  const int64_t blocks = (total + b.block - 1) / b.block;
  const int64_t all = p.out_c;
  float* u = workspace;
  float* slices = workspace + filter_floats;
  for (int64_t first = 0; first < all; first += b.group) {
    p.out_first = first;
    p.out_c = std::min(b.group, all - first);
    p.u = u;
    transform(first, p.out_c, u);
    pool.parallel_for(blocks, [&](int64_t b_begin, int64_t b_end, int chunk) {
      const ThreadSlice s(slices + chunk * slice_floats, p.in_c, p.out_c, b.block);
      std::fill_n(s.zeros, ThreadSlice::row_floats(b.block), 0.0f);
      for (int64_t i = b_begin; i < b_end; ++i)
        run_block(p, s, in, out, i * b.block, std::min(b.block, total - i * b.block));
    });
  }
}

// One group's transformed filters, for either pass.
int64_t filter_floats(const ConvGeometry& g, int64_t group) {
  return kPositions * std::max(winograd::packed_filter_floats(std::min(group, g.out_c), g.in_c),
                               winograd::packed_filter_floats(std::min(group, g.in_c), g.out_c));
}
// One thread's slice, for either pass.
int64_t slice_floats(const ConvGeometry& g, WinogradBlocking b) {
  return std::max(ThreadSlice::floats(g.in_c, std::min(b.group, g.out_c), b.block),
                  ThreadSlice::floats(g.out_c, std::min(b.group, g.in_c), b.block));
}

}  // namespace

bool conv_winograd_applies(const ConvGeometry& g) {
  // The data gradient's correlation starts at 2 - pad: the top and left padding at most 2.
  return g.kernel_h == 3 && g.kernel_w == 3 && g.stride_h == 1 && g.stride_w == 1 &&
         g.dilation_h == 1 && g.dilation_w == 1 && g.groups == 1 && g.pad_top <= 2 &&
         g.pad_left <= 2;
}

int64_t conv_winograd_workspace_floats(const ConvGeometry& g, WinogradBlocking b, int threads) {
  return filter_floats(g, b.group) + threads * slice_floats(g, b);
}

WinogradBlocking conv_winograd_blocking(const ConvGeometry& g, int64_t batch, int threads,
                                        int64_t budget_bytes) {
  const int64_t tiles = batch * ((g.out_h + 3) / 4) * ((g.out_w + 3) / 4);
  const int64_t share = round_up((tiles + threads - 1) / threads, kWinogradColumns);
  const int64_t widest = std::max(g.in_c, g.out_c);
  const int64_t budget = budget_bytes > 0 ? budget_bytes / static_cast<int64_t>(sizeof(float))
                                          : std::numeric_limits<int64_t>::max() / 4;
  // Groups from all the channels down, halving (rounded up to the products' register block).
  for (int64_t group = widest;;) {
    const int64_t per_tile = kPositions * (widest + group) * static_cast<int64_t>(sizeof(float));
    const int64_t wanted = std::clamp<int64_t>(kBlockBytes / per_tile / kWinogradColumns * kWinogradColumns,
                                               kWinogradColumns, share);
    for (int64_t block = wanted; block >= kWinogradColumns; block -= kWinogradColumns) {
      const WinogradBlocking b{.group = group, .block = block};
      if (conv_winograd_workspace_floats(g, b, threads) <= budget) return b;
    }
    if (group <= kWinogradMinGroup) return {};
    group = std::max(kWinogradMinGroup, round_up((group + 1) / 2, winograd::kRows));
  }
}

void conv_forward_winograd(ThreadPool& pool, const ConvGeometry& g, int64_t batch,
                           const float* src, const float* weights, const float* bias, float* dst,
                           float* workspace, WinogradBlocking blocking) {
  const Pass p{.in_c = g.in_c, .in_h = g.in_h, .in_w = g.in_w, .in_stride = g.src_stride(),
               .out_c = g.out_c, .out_h = g.out_h, .out_w = g.out_w, .out_stride = g.dst_stride(),
               .pad_top = g.pad_top, .pad_left = g.pad_left, .out_first = 0, .u = nullptr,
               .bias = bias, .accumulate = false};
  // Filters [36][packed count x in_c] of output channels first .. first + count - 1.
  auto transform = [&](int64_t first, int64_t count, float* u) {
    const int64_t stride = winograd::packed_filter_floats(count, g.in_c);
    pool.parallel_for(count, [&](int64_t begin, int64_t end, int) {
      for (int64_t k = begin; k < end; ++k)
        for (int64_t c = 0; c < g.in_c; ++c)
          winograd::transform_filter(weights + ((first + k) * g.in_c + c) * 9, false,
                                     u + winograd::packed_filter_index(k, c, g.in_c), stride);
    });
  };
  run_pass(pool, p, batch, src, dst, workspace, blocking, slice_floats(g, blocking),
           filter_floats(g, blocking.group), transform);
}

void conv_data_grad_winograd(ThreadPool& pool, const ConvGeometry& g, int64_t batch,
                             const float* weights, const float* d_dst, float* d_src,
                             bool accumulate, float* workspace, WinogradBlocking blocking) {
  // d_src[c] = sum over k of d_dst[k] correlated with w[k][c] turned 180 degrees, at padding
  // 2 - pad.
  const Pass p{.in_c = g.out_c, .in_h = g.out_h, .in_w = g.out_w, .in_stride = g.dst_stride(),
               .out_c = g.in_c, .out_h = g.in_h, .out_w = g.in_w, .out_stride = g.src_stride(),
               .pad_top = 2 - g.pad_top, .pad_left = 2 - g.pad_left, .out_first = 0,
               .u = nullptr, .bias = nullptr, .accumulate = accumulate};
  // Filters [36][packed count x out_c] of input channels first .. first + count - 1.
  auto transform = [&](int64_t first, int64_t count, float* u) {
    const int64_t stride = winograd::packed_filter_floats(count, g.out_c);
    pool.parallel_for(count, [&](int64_t begin, int64_t end, int) {
      for (int64_t c = begin; c < end; ++c)
        for (int64_t k = 0; k < g.out_c; ++k)
          winograd::transform_filter(weights + (k * g.in_c + first + c) * 9, true,
                                     u + winograd::packed_filter_index(c, k, g.out_c), stride);
    });
  };
  run_pass(pool, p, batch, d_dst, d_src, workspace, blocking, slice_floats(g, blocking),
           filter_floats(g, blocking.group), transform);
}

}  // namespace footprint
