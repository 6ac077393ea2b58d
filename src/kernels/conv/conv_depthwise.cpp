#include "kernels/conv/conv_depthwise.hpp"

#include <algorithm>
#include <cstring>

#include "core/thread_pool.hpp"
#include "footprint/layer.hpp"
#include "kernels/conv/depthwise_strips.hpp"

namespace footprint {
namespace {

// Output columns [begin, end) whose every tap kw reads inside the input row: there the loops
// need no bounds checks.
struct Inside {
  int64_t begin = 0, end = 0;
};

Inside inside_columns(const ConvGeometry& g) {
  const int64_t span = (g.kernel_w - 1) * g.dilation_w;
  // ow * stride - pad >= 0, and ow * stride - pad + span <= in_w - 1.
  const int64_t begin = (g.pad_left + g.stride_w - 1) / g.stride_w;
  const int64_t last = g.in_w - 1 - span + g.pad_left;
  const int64_t end = last < 0 ? 0 : last / g.stride_w + 1;
  Inside in{std::min(begin, g.out_w), std::min(end, g.out_w)};
  if (in.end < in.begin) in.end = in.begin;
  return in;
}

// Planes per work item: enough multiply-adds that waking a thread pays.
int64_t plane_grain(const ConvGeometry& g) {
  const int64_t macs = g.out_h * g.out_w * g.kernel_h * g.kernel_w;
  return std::max<int64_t>(1, 32768 / std::max<int64_t>(1, macs));
}

// out_row[ow] += w * in_row[ow * stride_w - pad_left + kw * dilation_w] over the output row, for
// one tap; in_row is a valid input row.
void tap_forward(const ConvGeometry& g, const Inside& inside, float w, const float* in_row, int64_t kw,
                 float* out_row) {
  const int64_t offset = kw * g.dilation_w - g.pad_left;
  auto edge = [&](int64_t ow) {
    const int64_t iw = ow * g.stride_w + offset;
    if (iw >= 0 && iw < g.in_w) out_row[ow] += w * in_row[iw];
  };
  for (int64_t ow = 0; ow < inside.begin; ++ow) edge(ow);
  const float* base = in_row + offset;
  if (g.stride_w == 1) {
    for (int64_t ow = inside.begin; ow < inside.end; ++ow) out_row[ow] += w * base[ow];
  } else {
    for (int64_t ow = inside.begin; ow < inside.end; ++ow) out_row[ow] += w * base[ow * g.stride_w];
  }
  for (int64_t ow = inside.end; ow < g.out_w; ++ow) edge(ow);
}

// in_row[ow * stride_w - pad_left + kw * dilation_w] += w * out_row[ow]: a tap of the data gradient.
void tap_backward(const ConvGeometry& g, const Inside& inside, float w, const float* d_out_row,
                  int64_t kw, float* d_in_row) {
  const int64_t offset = kw * g.dilation_w - g.pad_left;
  auto edge = [&](int64_t ow) {
    const int64_t iw = ow * g.stride_w + offset;
    if (iw >= 0 && iw < g.in_w) d_in_row[iw] += w * d_out_row[ow];
  };
  for (int64_t ow = 0; ow < inside.begin; ++ow) edge(ow);
  float* base = d_in_row + offset;
  if (g.stride_w == 1) {
    for (int64_t ow = inside.begin; ow < inside.end; ++ow) base[ow] += w * d_out_row[ow];
  } else {
    for (int64_t ow = inside.begin; ow < inside.end; ++ow) base[ow * g.stride_w] += w * d_out_row[ow];
  }
  for (int64_t ow = inside.end; ow < g.out_w; ++ow) edge(ow);
}

// sum over the output row of d_out_row[ow] * in_row[ow * stride_w - pad_left + kw * dilation_w].
float tap_weight_grad(const ConvGeometry& g, const Inside& inside, const float* d_out_row,
                      const float* in_row, int64_t kw) {
  const int64_t offset = kw * g.dilation_w - g.pad_left;
  float sum = 0.0f;
  auto edge = [&](int64_t ow) {
    const int64_t iw = ow * g.stride_w + offset;
    if (iw >= 0 && iw < g.in_w) sum += d_out_row[ow] * in_row[iw];
  };
  for (int64_t ow = 0; ow < inside.begin; ++ow) edge(ow);
  const float* base = in_row + offset;
  float inner = 0.0f;
  if (g.stride_w == 1) {
    for (int64_t ow = inside.begin; ow < inside.end; ++ow) inner += d_out_row[ow] * base[ow];
  } else {
    for (int64_t ow = inside.begin; ow < inside.end; ++ow) inner += d_out_row[ow] * base[ow * g.stride_w];
  }
  for (int64_t ow = inside.end; ow < g.out_w; ++ow) edge(ow);
  return sum + inner;
}

// One output row of a K x K, stride S, undilated kernel: each output value sums its K*K taps
// in registers and is stored once. rows[kh] is the input row under tap row kh, or any valid row
// when that row lies in the padding, where w (K*K weights) holds zeros instead: no test per
// value, so the loop over the row's inside part vectorises. Edges go through the checked path.
template <int K, int S>
void row_forward_fixed(const ConvGeometry& g, const Inside& inside, const float* const* rows,
                       const float* w, float bias, float* __restrict out_row) {
  for (int64_t ow = 0; ow < inside.begin; ++ow) {
    float acc = bias;
    for (int kh = 0; kh < K; ++kh)
      for (int kw = 0; kw < K; ++kw) {
        const int64_t iw = ow * S - g.pad_left + kw;
        if (iw >= 0 && iw < g.in_w) acc += w[kh * K + kw] * rows[kh][iw];
      }
    out_row[ow] = acc;
  }
  const float* base[K];
  for (int kh = 0; kh < K; ++kh) base[kh] = rows[kh] - g.pad_left;
  for (int64_t ow = inside.begin; ow < inside.end; ++ow) {
    float acc = bias;
    for (int kh = 0; kh < K; ++kh)
      for (int kw = 0; kw < K; ++kw) acc += w[kh * K + kw] * base[kh][ow * S + kw];
    out_row[ow] = acc;
  }
  for (int64_t ow = inside.end; ow < g.out_w; ++ow) {
    float acc = bias;
    for (int kh = 0; kh < K; ++kh)
      for (int kw = 0; kw < K; ++kw) {
        const int64_t iw = ow * S - g.pad_left + kw;
        if (iw >= 0 && iw < g.in_w) acc += w[kh * K + kw] * rows[kh][iw];
      }
    out_row[ow] = acc;
  }
}

using RowForward = void (*)(const ConvGeometry&, const Inside&, const float* const*, const float*,
                            float, float*);

// The fixed-size row kernel for this layer, or nullptr (dilated, or another size).
RowForward fixed_row_forward(const ConvGeometry& g) {
  if (g.kernel_h != g.kernel_w || g.stride_h != g.stride_w || g.dilation_h != 1 ||
      g.dilation_w != 1) {
    return nullptr;
  }
  const int64_t k = g.kernel_h, s = g.stride_h;
  if (k == 3 && s == 1) return row_forward_fixed<3, 1>;
  if (k == 3 && s == 2) return row_forward_fixed<3, 2>;
  if (k == 5 && s == 1) return row_forward_fixed<5, 1>;
  if (k == 5 && s == 2) return row_forward_fixed<5, 2>;
  if (k == 7 && s == 1) return row_forward_fixed<7, 1>;
  return nullptr;
}

}  // namespace

bool conv_depthwise_applies(const ConvGeometry& g) {
  return g.groups > 1 && g.groups == g.in_c && g.groups == g.out_c &&
         g.kernel_h * g.kernel_w <= kMaxDepthwiseTaps;
}

namespace {

void forward_planes(ThreadPool& pool, const ConvGeometry& g, int64_t batch, const float* src,
                    const float* weights, const float* bias, float* dst,
                    const ChannelEpilogue* epilogue, bool strips) {
  const Inside inside = inside_columns(g);
  const int64_t in_plane = g.in_h * g.in_w, out_plane = g.out_h * g.out_w;
  const int64_t taps = g.kernel_h * g.kernel_w;
  const RowForward fixed = fixed_row_forward(g);
  pool.parallel_for(batch * g.out_c, [&](int64_t begin, int64_t end, int) {
    for (int64_t p = begin; p < end; ++p) {
      const int64_t n = p / g.out_c, c = p % g.out_c;
      const float* in = src + n * g.src_stride() + c * in_plane;
      float* out = dst + n * g.dst_stride() + c * out_plane;
      const float* w = weights + c * taps;
      if (strips) {
        depthwise_plane_strips(g, in, w, bias ? bias[c] : 0.0f, out);
        if (epilogue) epilogue->apply(c, out, out_plane);
        continue;
      }
      if (fixed) {
        const float* rows[kMaxDepthwiseTaps];
        float w_row[kMaxDepthwiseTaps];  // the weights, zero for tap rows in the padding
        for (int64_t oh = 0; oh < g.out_h; ++oh) {
          for (int64_t kh = 0; kh < g.kernel_h; ++kh) {
            const int64_t ih = oh * g.stride_h - g.pad_top + kh;
            const bool valid = ih >= 0 && ih < g.in_h;
            rows[kh] = in + (valid ? ih : 0) * g.in_w;
            for (int64_t kw = 0; kw < g.kernel_w; ++kw)
              w_row[kh * g.kernel_w + kw] = valid ? w[kh * g.kernel_w + kw] : 0.0f;
          }
          fixed(g, inside, rows, w_row, bias ? bias[c] : 0.0f, out + oh * g.out_w);
        }
        if (epilogue) epilogue->apply(c, out, out_plane);
        continue;
      }
      for (int64_t oh = 0; oh < g.out_h; ++oh) {
        float* out_row = out + oh * g.out_w;
        std::fill_n(out_row, g.out_w, bias ? bias[c] : 0.0f);
        for (int64_t kh = 0; kh < g.kernel_h; ++kh) {
          const int64_t ih = oh * g.stride_h - g.pad_top + kh * g.dilation_h;
          if (ih < 0 || ih >= g.in_h) continue;
          for (int64_t kw = 0; kw < g.kernel_w; ++kw)
            tap_forward(g, inside, w[kh * g.kernel_w + kw], in + ih * g.in_w, kw, out_row);
        }
      }
      if (epilogue) epilogue->apply(c, out, out_plane);
    }
  }, plane_grain(g));
}

}  // namespace

void conv_forward_depthwise(ThreadPool& pool, const ConvGeometry& g, int64_t batch,
                            const float* src, const float* weights, const float* bias, float* dst,
                            const ChannelEpilogue* epilogue) {
  forward_planes(pool, g, batch, src, weights, bias, dst, epilogue, depthwise_strips_apply(g));
}

void conv_forward_depthwise_loops(ThreadPool& pool, const ConvGeometry& g, int64_t batch,
                                  const float* src, const float* weights, const float* bias,
                                  float* dst, const ChannelEpilogue* epilogue) {
  forward_planes(pool, g, batch, src, weights, bias, dst, epilogue, /*strips=*/false);
}

void conv_backward_depthwise(ThreadPool& pool, const ConvGeometry& g, int64_t batch,
                             const float* src, const float* weights, const float* d_dst,
                             float* d_src, bool accumulate_d_src, float* d_weights, float* d_bias) {
  const Inside inside = inside_columns(g);
  const int64_t in_plane = g.in_h * g.in_w, out_plane = g.out_h * g.out_w;
  const int64_t taps = g.kernel_h * g.kernel_w;
  if (d_src) {
    pool.parallel_for(batch * g.in_c, [&](int64_t begin, int64_t end, int) {
      for (int64_t p = begin; p < end; ++p) {
        const int64_t n = p / g.in_c, c = p % g.in_c;
        float* d_in = d_src + n * g.src_stride() + c * in_plane;
        const float* d_out = d_dst + n * g.dst_stride() + c * out_plane;
        const float* w = weights + c * taps;
        if (!accumulate_d_src) std::memset(d_in, 0, sizeof(float) * in_plane);
        for (int64_t oh = 0; oh < g.out_h; ++oh) {
          for (int64_t kh = 0; kh < g.kernel_h; ++kh) {
            const int64_t ih = oh * g.stride_h - g.pad_top + kh * g.dilation_h;
            if (ih < 0 || ih >= g.in_h) continue;
            for (int64_t kw = 0; kw < g.kernel_w; ++kw) {
              tap_backward(g, inside, w[kh * g.kernel_w + kw], d_out + oh * g.out_w, kw,
                           d_in + ih * g.in_w);
            }
          }
        }
      }
    }, plane_grain(g));
  }
  if (!d_weights && !d_bias) return;
  // One thread per channel, summing over the batch in a fixed order: the same bits with any
  // thread count.
  pool.parallel_for(g.out_c, [&](int64_t begin, int64_t end, int) {
    double sums[kMaxDepthwiseTaps];  // on the stack: a step allocates nothing
    for (int64_t c = begin; c < end; ++c) {
      std::fill_n(sums, taps, 0.0);
      double bias_sum = 0.0;
      for (int64_t n = 0; n < batch; ++n) {
        const float* in = src + n * g.src_stride() + c * in_plane;
        const float* d_out = d_dst + n * g.dst_stride() + c * out_plane;
        for (int64_t oh = 0; oh < g.out_h; ++oh) {
          const float* d_out_row = d_out + oh * g.out_w;
          if (d_bias) {
            float row = 0.0f;
            for (int64_t ow = 0; ow < g.out_w; ++ow) row += d_out_row[ow];
            bias_sum += row;
          }
          if (!d_weights) continue;
          for (int64_t kh = 0; kh < g.kernel_h; ++kh) {
            const int64_t ih = oh * g.stride_h - g.pad_top + kh * g.dilation_h;
            if (ih < 0 || ih >= g.in_h) continue;
            for (int64_t kw = 0; kw < g.kernel_w; ++kw) {
              sums[kh * g.kernel_w + kw] +=
                  tap_weight_grad(g, inside, d_out_row, in + ih * g.in_w, kw);
            }
          }
        }
      }
      if (d_weights)
        for (int64_t t = 0; t < taps; ++t) d_weights[c * taps + t] = static_cast<float>(sums[t]);
      if (d_bias) d_bias[c] = static_cast<float>(bias_sum);
    }
  }, std::max<int64_t>(1, plane_grain(g) / std::max<int64_t>(1, batch)));
}

}  // namespace footprint
