#include "kernels/conv/conv_direct.hpp"

#include <algorithm>
#include <atomic>
#include <cstring>

#include "core/thread_pool.hpp"
#include "kernels/conv/conv_gemm.hpp"
#include "kernels/eltwise/sum_lanes.hpp"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define FP_HAVE_AVX2_PATH 1
#define FP_AVX2 __attribute__((target("avx2,fma")))
#else
#define FP_HAVE_AVX2_PATH 0
#endif

namespace footprint {
namespace {

std::atomic<bool> force_portable{false};

bool use_avx2() {
#if FP_HAVE_AVX2_PATH
  static const bool cpu_has = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return cpu_has && !force_portable.load(std::memory_order_relaxed);
#else
  return false;
#endif
}

// One 3x3 "sweep", the shape shared by the forward pass and the data gradient:
//   out[o, h, w] (+)= sum_i sum_{kh,kw} weight(o, i, kh, kw) * in[i, h + kh + off_h, w + kw + off_w]
// with in[] zero outside its bounds. The forward pass is a sweep of src into dst (off = -pad);
// the data gradient is a sweep of d_dst into d_src with the kernel flipped and its two channel
// axes swapped (off = pad - 2), which the weight strides express without copying the weights.
struct Sweep {
  int64_t in_c, in_h, in_w;
  int64_t out_c, out_h, out_w;
  int64_t off_h, off_w;
  int64_t weight_stride_o, weight_stride_i;
  bool flip;  // tap kh*3+kw reads weight 8 - (kh*3+kw)
  const float* weights;
  const float* bias;  // per output channel, or nullptr
  bool accumulate;    // add to out instead of overwriting it
  int64_t in_sample_stride, out_sample_stride;  // floats from one sample to the next

  [[nodiscard]] const float* weight(int64_t o, int64_t i, int tap) const {
    return weights + o * weight_stride_o + i * weight_stride_i + (flip ? 8 - tap : tap);
  }
};

// Output channels per register block and output columns per vector.
constexpr int kBlockChannels = 4;
constexpr int kLanes = 8;

// --- plain loops (any CPU) -------------------------------------------------------------------

// Output row h of channels [o_begin, o_end) of one sample.
void sweep_row_portable(const Sweep& s, const float* in, float* out, int64_t o_begin,
                        int64_t o_end, int64_t h) {
  for (int64_t o = o_begin; o < o_end; ++o) {
    float* row = out + (o * s.out_h + h) * s.out_w;
    if (!s.accumulate) std::fill(row, row + s.out_w, s.bias ? s.bias[o] : 0.0f);
    for (int64_t i = 0; i < s.in_c; ++i) {
      for (int kh = 0; kh < 3; ++kh) {
        const int64_t ih = h + kh + s.off_h;
        if (ih < 0 || ih >= s.in_h) continue;
        const float* in_row = in + (i * s.in_h + ih) * s.in_w;
        for (int kw = 0; kw < 3; ++kw) {
          const int64_t shift = kw + s.off_w;
          // Output columns whose input column lies inside the row: one contiguous run.
          const int64_t lo = std::clamp<int64_t>(-shift, 0, s.out_w);
          const int64_t hi = std::clamp<int64_t>(s.in_w - shift, lo, s.out_w);
          const float w = *s.weight(o, i, kh * 3 + kw);
          for (int64_t x = lo; x < hi; ++x) row[x] += w * in_row[x + shift];
        }
      }
    }
  }
}

// d_weights[o, i, tap] += sum over rows [h_begin, h_end) of one sample, o in [o_begin, o_end).
void weight_grad_rows_portable(const ConvGeometry& g, const float* src, const float* d_dst,
                               int64_t o_begin, int64_t o_end, int64_t i, int64_t h_begin,
                               int64_t h_end, float* d_weights) {
  for (int64_t o = o_begin; o < o_end; ++o) {
    float sums[9] = {};
    for (int64_t h = h_begin; h < h_end; ++h) {
      const float* d_row = d_dst + (o * g.out_h + h) * g.out_w;
      for (int kh = 0; kh < 3; ++kh) {
        const int64_t ih = h + kh - g.pad_top;
        if (ih < 0 || ih >= g.in_h) continue;
        const float* in_row = src + (i * g.in_h + ih) * g.in_w;
        for (int kw = 0; kw < 3; ++kw) {
          const int64_t shift = kw - g.pad_left;
          const int64_t lo = std::clamp<int64_t>(-shift, 0, g.out_w);
          const int64_t hi = std::clamp<int64_t>(g.in_w - shift, lo, g.out_w);
          sums[kh * 3 + kw] +=
              sum_lanes(hi - lo, [&](int64_t x) { return d_row[lo + x] * in_row[lo + x + shift]; });
        }
      }
    }
    float* d_w = d_weights + (o * g.in_c + i) * 9;
    for (int t = 0; t < 9; ++t) d_w[t] += sums[t];
  }
}

// --- AVX2 + FMA ------------------------------------------------------------------------------
#if FP_HAVE_AVX2_PATH

// Lanes l of a vector starting at column x whose x + l lies in [0, limit).
FP_AVX2 inline __m256i lanes_inside(int64_t x, int64_t limit) {
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const __m256i col = _mm256_add_epi32(_mm256_set1_epi32(static_cast<int>(x)), lane);
  return _mm256_and_si256(_mm256_cmpgt_epi32(col, _mm256_set1_epi32(-1)),
                          _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(limit)), col));
}

// Output columns [w0, w0 + 8 V) of row h, channels [o0, o0 + OB). Edge strips (kEdge) mask
// every load and store to the row's bounds, so padding reads zeros and nothing outside the
// buffers is touched; interior strips load plainly. kFlip: the sweep reads tap 8 - t (see Sweep).
// Every loop over OB, V and the taps is unrolled, so the OB x V accumulators live in registers.
template <int OB, int V, bool kEdge, bool kFlip>
FP_AVX2 void sweep_strip_avx2(const Sweep& s, const float* in, float* out, int64_t o0, int64_t h,
                              int64_t w0) {
  __m256 acc[OB][V];
  const int64_t out_plane = s.out_h * s.out_w;
  float* out_row = out + (o0 * s.out_h + h) * s.out_w + w0;
  __m256i store_mask[V];
#pragma GCC unroll 4
  for (int j = 0; j < V; ++j) {
    store_mask[j] = kEdge ? lanes_inside(w0 + j * kLanes, s.out_w) : _mm256_set1_epi32(-1);
  }
#pragma GCC unroll 4
  for (int o = 0; o < OB; ++o) {
#pragma GCC unroll 4
    for (int j = 0; j < V; ++j) {
      if (s.accumulate) {
        const float* p = out_row + o * out_plane + j * kLanes;
        acc[o][j] = kEdge ? _mm256_maskload_ps(p, store_mask[j]) : _mm256_loadu_ps(p);
      } else {
        acc[o][j] = _mm256_set1_ps(s.bias ? s.bias[o0 + o] : 0.0f);
      }
    }
  }
  __m256i load_mask[3][V];
  if (kEdge) {
    for (int kw = 0; kw < 3; ++kw)
      for (int j = 0; j < V; ++j) load_mask[kw][j] = lanes_inside(w0 + kw + s.off_w + j * kLanes, s.in_w);
  }
  // Rows of the input that exist for this output row: the taps above and below the image read
  // zeros, so they are skipped.
  const int kh_begin = static_cast<int>(std::max<int64_t>(0, -(h + s.off_h)));
  const int kh_end = static_cast<int>(std::min<int64_t>(3, s.in_h - (h + s.off_h)));
  const int64_t in_plane = s.in_h * s.in_w;
  // Row h + off_h + kh_begin of channel 0: the first input row that exists (none may, for an
  // output row wholly in the padding; then the loop below adds nothing to the start values).
  const int64_t first_row = std::min(h + s.off_h + kh_begin, s.in_h) * s.in_w;
  for (int64_t i = 0; i < s.in_c; ++i) {
    const float* in_col = in + i * in_plane + first_row;
    const float* w_i = s.weights + o0 * s.weight_stride_o + i * s.weight_stride_i;
    for (int kh = kh_begin; kh < kh_end; ++kh) {
      // Column w0 + kw + off_w of the row may lie left of it on an edge strip; the masked loads
      // then skip those lanes, so the address is formed by integers, never dereferenced there.
      const intptr_t row = reinterpret_cast<intptr_t>(in_col + (kh - kh_begin) * s.in_w);
#pragma GCC unroll 3
      for (int kw = 0; kw < 3; ++kw) {
        const intptr_t x = row + static_cast<intptr_t>(sizeof(float)) * (w0 + kw + s.off_w);
        __m256 v[V];
#pragma GCC unroll 4
        for (int j = 0; j < V; ++j) {
          const float* p = reinterpret_cast<const float*>(x) + j * kLanes;
          v[j] = kEdge ? _mm256_maskload_ps(p, load_mask[kw][j]) : _mm256_loadu_ps(p);
        }
        const int tap = kFlip ? 8 - (kh * 3 + kw) : kh * 3 + kw;
#pragma GCC unroll 4
        for (int o = 0; o < OB; ++o) {
          const __m256 w = _mm256_broadcast_ss(w_i + o * s.weight_stride_o + tap);
#pragma GCC unroll 4
          for (int j = 0; j < V; ++j) acc[o][j] = _mm256_fmadd_ps(w, v[j], acc[o][j]);
        }
      }
    }
  }
#pragma GCC unroll 4
  for (int o = 0; o < OB; ++o) {
#pragma GCC unroll 4
    for (int j = 0; j < V; ++j) {
      float* p = out_row + o * out_plane + j * kLanes;
      if (kEdge) {
        _mm256_maskstore_ps(p, store_mask[j], acc[o][j]);
      } else {
        _mm256_storeu_ps(p, acc[o][j]);
      }
    }
  }
}

// One strip of columns for channels [o_begin, o_end), in register blocks of 4 channels.
template <int V, bool kEdge, bool kFlip>
FP_AVX2 void sweep_strip_channels_avx2(const Sweep& s, const float* in, float* out,
                                       int64_t o_begin, int64_t o_end, int64_t h, int64_t w0) {
  int64_t o = o_begin;
  for (; o + kBlockChannels <= o_end; o += kBlockChannels) {
    sweep_strip_avx2<4, V, kEdge, kFlip>(s, in, out, o, h, w0);
  }
  switch (o_end - o) {
    case 3: sweep_strip_avx2<3, V, kEdge, kFlip>(s, in, out, o, h, w0); break;
    case 2: sweep_strip_avx2<2, V, kEdge, kFlip>(s, in, out, o, h, w0); break;
    case 1: sweep_strip_avx2<1, V, kEdge, kFlip>(s, in, out, o, h, w0); break;
    default: break;
  }
}

// Output row h of channels [o_begin, o_end). Channels go in groups of 16; within a group,
// strip by strip, every channel block of a strip before the next strip, so the strip's input
// columns stay in L1 while the four blocks reuse them, and no more than 16 output rows are
// written at once (a net's first layer, 3 -> 64 channels, is bound by those stores).
template <bool kFlip>
FP_AVX2 void sweep_rows_avx2(const Sweep& s, const float* in, float* out, int64_t o_begin,
                             int64_t o_end, int64_t h) {
  constexpr int kWide = 3;  // vectors per strip: 4 x 3 accumulators, 3 inputs, 1 weight
  constexpr int64_t kGroupChannels = 4 * kBlockChannels;
  for (int64_t g_begin = o_begin; g_begin < o_end; g_begin += kGroupChannels) {
    const int64_t g_end = std::min(g_begin + kGroupChannels, o_end);
    int64_t w0 = 0;
    for (; w0 + kWide * kLanes <= s.out_w; w0 += kWide * kLanes) {
      // Interior strips: every column read lies inside the input row.
      const bool inside = w0 + s.off_w >= 0 && w0 + kWide * kLanes + 1 + s.off_w < s.in_w;
      if (inside) {
        sweep_strip_channels_avx2<kWide, false, kFlip>(s, in, out, g_begin, g_end, h, w0);
      } else {
        sweep_strip_channels_avx2<kWide, true, kFlip>(s, in, out, g_begin, g_end, h, w0);
      }
    }
    const int64_t rest = s.out_w - w0;
    if (rest > 2 * kLanes) {
      sweep_strip_channels_avx2<3, true, kFlip>(s, in, out, g_begin, g_end, h, w0);
    } else if (rest > kLanes) {
      sweep_strip_channels_avx2<2, true, kFlip>(s, in, out, g_begin, g_end, h, w0);
    } else if (rest > 0) {
      sweep_strip_channels_avx2<1, true, kFlip>(s, in, out, g_begin, g_end, h, w0);
    }
  }
}

FP_AVX2 void sweep_row_avx2(const Sweep& s, const float* in, float* out, int64_t o_begin,
                            int64_t o_end, int64_t h) {
  if (s.flip) {
    sweep_rows_avx2<true>(s, in, out, o_begin, o_end, h);
  } else {
    sweep_rows_avx2<false>(s, in, out, o_begin, o_end, h);
  }
}

FP_AVX2 inline float horizontal_sum(__m256 v) {
  const __m128 quad = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  const __m128 pair = _mm_add_ps(quad, _mm_movehl_ps(quad, quad));
  return _mm_cvtss_f32(_mm_add_ss(pair, _mm_movehdup_ps(pair)));
}

// One strip of 8 output columns of weight_grad_tap_row_avx2 below.
template <int OB, bool kEdge>
FP_AVX2 inline void weight_grad_strip_avx2(const ConvGeometry& g, intptr_t row, const float* d_row,
                                           int64_t out_plane, int64_t w0, __m256 (&acc)[OB][3]) {
  const __m256i d_mask = kEdge ? lanes_inside(w0, g.out_w) : _mm256_set1_epi32(-1);
  __m256 v[3];
#pragma GCC unroll 3
  for (int kw = 0; kw < 3; ++kw) {
    const int64_t x = w0 + kw - g.pad_left;
    const float* p = reinterpret_cast<const float*>(row + static_cast<intptr_t>(sizeof(float)) * x);
    // Lanes past out_w carry d = 0; their input lanes are masked to the row too, so nothing
    // outside it is read and no stray NaN can meet that zero.
    v[kw] = kEdge ? _mm256_maskload_ps(p, _mm256_and_si256(d_mask, lanes_inside(x, g.in_w)))
                  : _mm256_loadu_ps(p);
  }
#pragma GCC unroll 4
  for (int o = 0; o < OB; ++o) {
    const float* dp = d_row + o * out_plane + w0;
    const __m256 d = kEdge ? _mm256_maskload_ps(dp, d_mask) : _mm256_loadu_ps(dp);
#pragma GCC unroll 3
    for (int kw = 0; kw < 3; ++kw) acc[o][kw] = _mm256_fmadd_ps(d, v[kw], acc[o][kw]);
  }
}

// Tap row kh of the weight gradient of channels [o0, o0 + OB) against input channel i, summed
// over output rows [h_begin, h_end): OB x 3 accumulators (one per output channel and kw), so each
// strip loads 3 shifted input vectors and OB output-gradient vectors for 3 OB multiply-adds.
template <int OB>
FP_AVX2 void weight_grad_tap_row_avx2(const ConvGeometry& g, const float* src, const float* d_dst,
                                      int64_t o0, int64_t i, int kh, int64_t h_begin,
                                      int64_t h_end, float* d_weights) {
  __m256 acc[OB][3];
#pragma GCC unroll 4
  for (int o = 0; o < OB; ++o)
    for (int kw = 0; kw < 3; ++kw) acc[o][kw] = _mm256_setzero_ps();
  const int64_t out_plane = g.out_h * g.out_w;
  for (int64_t h = h_begin; h < h_end; ++h) {
    const int64_t ih = h + kh - g.pad_top;
    if (ih < 0 || ih >= g.in_h) continue;
    const intptr_t row = reinterpret_cast<intptr_t>(src + (i * g.in_h + ih) * g.in_w);
    const float* d_row = d_dst + (o0 * g.out_h + h) * g.out_w;
    int64_t w0 = 0;
    for (; w0 + kLanes <= g.out_w; w0 += kLanes) {
      const bool inside = w0 - g.pad_left >= 0 && w0 + kLanes + 1 - g.pad_left < g.in_w;
      if (inside) {
        weight_grad_strip_avx2<OB, false>(g, row, d_row, out_plane, w0, acc);
      } else {
        weight_grad_strip_avx2<OB, true>(g, row, d_row, out_plane, w0, acc);
      }
    }
    if (w0 < g.out_w) weight_grad_strip_avx2<OB, true>(g, row, d_row, out_plane, w0, acc);
  }
#pragma GCC unroll 4
  for (int o = 0; o < OB; ++o) {
    float* d_w = d_weights + ((o0 + o) * g.in_c + i) * 9 + kh * 3;
    for (int kw = 0; kw < 3; ++kw) d_w[kw] += horizontal_sum(acc[o][kw]);
  }
}

FP_AVX2 void weight_grad_rows_avx2(const ConvGeometry& g, const float* src, const float* d_dst,
                                   int64_t o_begin, int64_t o_end, int64_t i, int64_t h_begin,
                                   int64_t h_end, float* d_weights) {
  for (int kh = 0; kh < 3; ++kh) {
    switch (o_end - o_begin) {
      case 4: weight_grad_tap_row_avx2<4>(g, src, d_dst, o_begin, i, kh, h_begin, h_end, d_weights); break;
      case 3: weight_grad_tap_row_avx2<3>(g, src, d_dst, o_begin, i, kh, h_begin, h_end, d_weights); break;
      case 2: weight_grad_tap_row_avx2<2>(g, src, d_dst, o_begin, i, kh, h_begin, h_end, d_weights); break;
      default: weight_grad_tap_row_avx2<1>(g, src, d_dst, o_begin, i, kh, h_begin, h_end, d_weights); break;
    }
  }
}

#endif  // FP_HAVE_AVX2_PATH

// Runs a sweep over a batch: work items are (sample, output row), split over the pool; each
// writes its own rows of out, so no two threads touch the same bytes.
void run_sweep(ThreadPool& pool, const Sweep& s, int64_t batch, const float* in, float* out) {
  const int64_t items = batch * s.out_h;
  // About 16K multiply-adds per item at least before a second thread is worth waking.
  const int64_t macs_per_item = s.out_c * s.in_c * 9 * s.out_w;
  const int64_t grain = std::max<int64_t>(1, 16384 / std::max<int64_t>(1, macs_per_item));
  const bool avx2 = use_avx2();
  pool.parallel_for(items, [&](int64_t begin, int64_t end, int) {
    for (int64_t item = begin; item < end; ++item) {
      const int64_t h = item % s.out_h;
      const int64_t n = item / s.out_h;
      const float* in_n = in + n * s.in_sample_stride;
      float* out_n = out + n * s.out_sample_stride;
#if FP_HAVE_AVX2_PATH
      if (avx2) {
        sweep_row_avx2(s, in_n, out_n, 0, s.out_c, h);
        continue;
      }
#endif
      sweep_row_portable(s, in_n, out_n, 0, s.out_c, h);
    }
  }, grain);
}

// Rows per band of the weight gradient: the band's input and output-gradient rows of every
// channel stay in a core's L2 cache while each (output block, input channel) item sweeps them.
int64_t weight_grad_band_rows(const ConvGeometry& g) {
  constexpr int64_t kBandBytes = 256 * 1024;
  const int64_t row_bytes = (g.in_c + g.out_c) * std::max(g.in_w, g.out_w) * 4;
  return std::clamp<int64_t>(kBandBytes / std::max<int64_t>(1, row_bytes), 1, g.out_h);
}

void weight_grad(ThreadPool& pool, const ConvGeometry& g, int64_t batch, const float* src,
                 const float* d_dst, float* d_weights) {
  std::memset(d_weights, 0, sizeof(float) * g.out_c * g.in_c * 9);
  // Items are (block of 4 output channels, input channel); each thread owns whole items, so
  // their sums need no merging, and the order of every sum is fixed whatever the thread count.
  const int64_t blocks = (g.out_c + kBlockChannels - 1) / kBlockChannels;
  const int64_t items = blocks * g.in_c;
  const int64_t band = weight_grad_band_rows(g);
  const int64_t item_macs = kBlockChannels * g.out_h * g.out_w * 9 * batch;
  const int64_t grain = std::max<int64_t>(1, 65536 / std::max<int64_t>(1, item_macs));
  const bool avx2 = use_avx2();
  pool.parallel_for(items, [&](int64_t begin, int64_t end, int) {
    for (int64_t n = 0; n < batch; ++n) {
      const float* src_n = src + n * g.src_stride();
      const float* d_dst_n = d_dst + n * g.dst_stride();
      for (int64_t h0 = 0; h0 < g.out_h; h0 += band) {
        const int64_t h1 = std::min(h0 + band, g.out_h);
        for (int64_t item = begin; item < end; ++item) {
          const int64_t o_begin = item / g.in_c * kBlockChannels, i = item % g.in_c;
          const int64_t o_end = std::min(o_begin + kBlockChannels, g.out_c);
#if FP_HAVE_AVX2_PATH
          if (avx2) {
            weight_grad_rows_avx2(g, src_n, d_dst_n, o_begin, o_end, i, h0, h1, d_weights);
            continue;
          }
#endif
          weight_grad_rows_portable(g, src_n, d_dst_n, o_begin, o_end, i, h0, h1, d_weights);
        }
      }
    }
  }, grain);
}

}  // namespace

bool conv_direct_applies(const ConvGeometry& g) {
  return g.kernel_h == 3 && g.kernel_w == 3 && g.stride_h == 1 && g.stride_w == 1 &&
         g.dilation_h == 1 && g.dilation_w == 1 && g.groups == 1;
}

ConvPaths choose_conv_paths(const ConvGeometry& g) {
  if (!conv_direct_applies(g)) return {};
  // Crossovers from build-bench/conv_paths (bench/conv_paths.cpp) on the project's 2-core AMD
  // EPYC (AVX2, 2 threads): with 3 and 6 input channels the direct passes ran 1.05x to 4.7x
  // faster, with 12 about even, with 24 and more up to 4x slower; the data gradient ran faster
  // direct with 6 and 12 output channels, even with 24, and 4x slower with 64.
  constexpr int64_t kMaxDirectDepth = 8;
  constexpr int64_t kMaxDirectDataGradDepth = 16;
  return {.forward = g.in_c <= kMaxDirectDepth,
          .weight_grad = g.in_c <= kMaxDirectDepth,
          .data_grad = g.out_c <= kMaxDirectDataGradDepth};
}

void conv_direct_force_portable(bool on) { force_portable.store(on); }

void conv_forward_direct(ThreadPool& pool, const ConvGeometry& g, int64_t batch, const float* src,
                         const float* weights, const float* bias, float* dst) {
  const Sweep s{.in_c = g.in_c, .in_h = g.in_h, .in_w = g.in_w,
                .out_c = g.out_c, .out_h = g.out_h, .out_w = g.out_w,
                .off_h = -g.pad_top, .off_w = -g.pad_left,
                .weight_stride_o = g.in_c * 9, .weight_stride_i = 9, .flip = false,
                .weights = weights, .bias = bias, .accumulate = false,
                .in_sample_stride = g.src_stride(), .out_sample_stride = g.dst_stride()};
  run_sweep(pool, s, batch, src, dst);
}

void conv_backward_direct(ThreadPool& pool, const ConvGeometry& g, int64_t batch,
                          const float* src, const float* weights, const float* d_dst,
                          float* d_src, bool accumulate_d_src, float* d_weights, float* d_bias) {
  if (d_weights) weight_grad(pool, g, batch, src, d_dst, d_weights);
  if (d_bias) conv_bias_backward(pool, g, batch, d_dst, d_bias);
  if (!d_src) return;
  // d_src[i, y, x] = sum_o sum_{kh,kw} w[o, i, kh, kw] d_dst[o, y - kh + pad_top, x - kw + pad_left]
  //               = a sweep of d_dst with the kernel flipped (tap 8 - t) and offset pad - 2.
  const Sweep s{.in_c = g.out_c, .in_h = g.out_h, .in_w = g.out_w,
                .out_c = g.in_c, .out_h = g.in_h, .out_w = g.in_w,
                .off_h = g.pad_top - 2, .off_w = g.pad_left - 2,
                .weight_stride_o = 9, .weight_stride_i = g.in_c * 9, .flip = true,
                .weights = weights, .bias = nullptr, .accumulate = accumulate_d_src,
                .in_sample_stride = g.dst_stride(), .out_sample_stride = g.src_stride()};
  run_sweep(pool, s, batch, d_dst, d_src);
}

}  // namespace footprint
