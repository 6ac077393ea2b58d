#include "kernels/conv/depthwise_strips.hpp"

#include <algorithm>

#include "kernels/cpu_clones.hpp"
#include "kernels/v8.hpp"

namespace footprint {
namespace {

// The stack buffer one strip of padded rows lives in.
constexpr int64_t kStripFloats = 16384;

// Output vectors computed together, sharing each tap's weight: eight independent chains of
// multiply-adds hide FMA's latency (four would wait on it).
constexpr int kVectorsPerBlock = 8;

// How a strip is laid out. A padded input row is `stride` phases of `phase_len` floats: phase p
// holds padded columns p, p + stride, p + 2 stride, ..., so the tap kw of output column ow reads
// phase kw % stride at index ow + kw / stride, contiguous across ow.
struct StripLayout {
  int64_t vectors_per_row = 0;  // output row in vectors of 8, the last one partial
  int64_t phase_len = 0;
  int64_t row_floats = 0;       // stride * phase_len
  int64_t rows_out = 0;         // output rows per strip
};

StripLayout strip_layout(const ConvGeometry& g) {
  StripLayout l;
  const int64_t k = g.kernel_w, s = g.stride_w;
  l.vectors_per_row = (g.out_w + 7) / 8;
  l.phase_len = l.vectors_per_row * 8 + (k - 1) / s;
  l.row_floats = s * l.phase_len;
  // rows_out output rows read (rows_out - 1) * s + k input rows.
  const int64_t rows_in_fit = kStripFloats / l.row_floats;
  l.rows_out = rows_in_fit < k ? 0 : std::min(g.out_h, (rows_in_fit - k) / s + 1);
  return l;
}

// Inline copies and zeroing: the rows are short (7 to 120 floats in MobileNet), where a call
// to memcpy or memset per row costs more than the row's arithmetic.
FP_INLINE void copy_floats(float* dst, const float* src, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    store8(dst + i, load8(src + i));
  }
  for (; i < n; ++i) dst[i] = src[i];
}
FP_INLINE void zero_floats(float* dst, int64_t n) {
  const v8 zero{};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) store8(dst + i, zero);
  for (; i < n; ++i) dst[i] = 0.0f;
}

// Padded input rows [ih0, ih0 + rows) of the plane into buf, zeros outside the input.
FP_INLINE void fill_strip(const ConvGeometry& g, const StripLayout& l, const float* src,
                          int64_t ih0, int64_t rows, float* buf) {
  const int64_t s = g.stride_w;
  for (int64_t r = 0; r < rows; ++r) {
    float* row = buf + r * l.row_floats;
    const int64_t ih = ih0 + r;
    if (ih < 0 || ih >= g.in_h) {
      zero_floats(row, l.row_floats);
      continue;
    }
    const float* in = src + ih * g.in_w;
    if (s == 1) {
      // Columns [0, pad_left) and from pad_left + in_w on are padding.
      const int64_t left = std::min(g.pad_left, l.phase_len);
      const int64_t copied = std::clamp<int64_t>(l.phase_len - g.pad_left, 0, g.in_w);
      zero_floats(row, left);
      copy_floats(row + left, in, copied);
      zero_floats(row + left + copied, l.phase_len - left - copied);
      continue;
    }
    // Stride 2: even and odd padded columns, eight of each from 16 inputs split by shuffles
    // where all 16 lie inside the row, one at a time (zero in the padding) elsewhere.
    float* even = row;
    float* odd = row + l.phase_len;
    auto one = [&](int64_t j) {
      const int64_t iw = 2 * j - g.pad_left;
      even[j] = iw >= 0 && iw < g.in_w ? in[iw] : 0.0f;
      odd[j] = iw + 1 >= 0 && iw + 1 < g.in_w ? in[iw + 1] : 0.0f;
    };
    int64_t j = 0;
    for (; j < l.phase_len && 2 * j - g.pad_left < 0; ++j) one(j);
    for (; j + 8 <= l.phase_len && 2 * j - g.pad_left + 16 <= g.in_w; j += 8) {
      const float* p = in + 2 * j - g.pad_left;
      const v8 a = load8(p), b = load8(p + 8);
      const v8 e = __builtin_shufflevector(a, b, 0, 2, 4, 6, 8, 10, 12, 14);
      const v8 o = __builtin_shufflevector(a, b, 1, 3, 5, 7, 9, 11, 13, 15);
      store8(even + j, e);
      store8(odd + j, o);
    }
    for (; j < l.phase_len; ++j) one(j);
  }
}

// NV output vectors, vector q at out_base[q] in the output and reading from in_base[q] (its
// first tap in the strip): acc = bias + sum over the K x K taps.
template <int K, int S, int NV>
FP_INLINE void vectors(const StripLayout& l, const v8* w, v8 bias, const float* const* in_base,
                       v8* acc) {
  for (int q = 0; q < NV; ++q) acc[q] = bias;
  for (int kh = 0; kh < K; ++kh) {
    for (int kw = 0; kw < K; ++kw) {
      const v8 wt = w[kh * K + kw];
      const int64_t offset = kh * l.row_floats + (kw % S) * l.phase_len + kw / S;
      for (int q = 0; q < NV; ++q) acc[q] += wt * load8(in_base[q] + offset);
    }
  }
}

FP_INLINE void store_vector(float* out, v8 v, int64_t lanes) {
  if (lanes == 8) {
    store8(out, v);
    return;
  }
  for (int64_t i = 0; i < lanes; ++i) out[i] = v[i];
}

template <int K, int S>
FP_INLINE void plane(const ConvGeometry& g, const StripLayout& l, const float* src,
                     const float* weights, float bias, float* dst) {
  alignas(32) float buf[kStripFloats];
  v8 w[K * K];
  for (int t = 0; t < K * K; ++t) w[t] = v8{} + weights[t];
  const v8 b = v8{} + bias;
  for (int64_t oh0 = 0; oh0 < g.out_h; oh0 += l.rows_out) {
    const int64_t rows_out = std::min(l.rows_out, g.out_h - oh0);
    fill_strip(g, l, src, oh0 * S - g.pad_top, (rows_out - 1) * S + K, buf);
    // The strip's output vectors, row by row, in blocks: a block may span rows.
    const int64_t count = rows_out * l.vectors_per_row;
    const float* in_base[kVectorsPerBlock];
    float* out_base[kVectorsPerBlock];
    int64_t lanes[kVectorsPerBlock];
    int64_t r = 0, v = 0;  // the next vector's output row in the strip and place in the row
    auto next = [&](int slot) {
      in_base[slot] = buf + r * S * l.row_floats + v * 8;
      out_base[slot] = dst + (oh0 + r) * g.out_w + v * 8;
      lanes[slot] = std::min<int64_t>(8, g.out_w - v * 8);
      if (++v == l.vectors_per_row) v = 0, ++r;
    };
    v8 acc[kVectorsPerBlock];
    for (int64_t q = 0; q < count; q += kVectorsPerBlock) {
      // The last block takes what is left together (a 7x7 plane is 7 vectors): one at a time,
      // each would wait out its chain of K*K multiply-adds alone.
      const int n = static_cast<int>(std::min<int64_t>(kVectorsPerBlock, count - q));
      for (int j = 0; j < n; ++j) next(j);
      switch (n) {
        case 8: vectors<K, S, 8>(l, w, b, in_base, acc); break;
        case 7: vectors<K, S, 7>(l, w, b, in_base, acc); break;
        case 6: vectors<K, S, 6>(l, w, b, in_base, acc); break;
        case 5: vectors<K, S, 5>(l, w, b, in_base, acc); break;
        case 4: vectors<K, S, 4>(l, w, b, in_base, acc); break;
        case 3: vectors<K, S, 3>(l, w, b, in_base, acc); break;
        case 2: vectors<K, S, 2>(l, w, b, in_base, acc); break;
        default: vectors<K, S, 1>(l, w, b, in_base, acc); break;
      }
      for (int j = 0; j < n; ++j) store_vector(out_base[j], acc[j], lanes[j]);
    }
  }
}

}  // namespace

bool depthwise_strips_apply(const ConvGeometry& g) {
  if (g.kernel_h != g.kernel_w || g.stride_h != g.stride_w || g.dilation_h != 1 ||
      g.dilation_w != 1 || g.out_h <= 0 || g.out_w <= 0) {
    return false;
  }
  const int64_t k = g.kernel_h, s = g.stride_h;
  // Not 3x3 at stride 2: there the copy (four inputs per output) outweighs the nine taps, and
  // the general loops were faster (0.76-0.83x at 112, 56 and 14, bench/depthwise.cpp).
  const bool covered = (k == 3 && s == 1) || (k == 5 && (s == 1 || s == 2)) || (k == 7 && s == 1);
  return covered && strip_layout(g).rows_out > 0;
}

FP_CLONES void depthwise_plane_strips(const ConvGeometry& g, const float* src,
                                      const float* weights, float bias, float* dst) {
  const StripLayout l = strip_layout(g);
  const int64_t k = g.kernel_h, s = g.stride_h;
  if (k == 3 && s == 1) plane<3, 1>(g, l, src, weights, bias, dst);
  if (k == 5 && s == 1) plane<5, 1>(g, l, src, weights, bias, dst);
  if (k == 5 && s == 2) plane<5, 2>(g, l, src, weights, bias, dst);
  if (k == 7 && s == 1) plane<7, 1>(g, l, src, weights, bias, dst);
}

}  // namespace footprint
