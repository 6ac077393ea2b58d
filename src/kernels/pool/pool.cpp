#include "kernels/pool/pool.hpp"

#include <algorithm>
#include <cstring>
#include <limits>

#include "core/thread_pool.hpp"

namespace footprint {
namespace {

// The window of output (oh, ow) clipped to the image: rows [h0, h1), columns [w0, w1).
struct Window {
  int64_t h0, h1, w0, w1;
};
inline Window window(const ConvGeometry& g, int64_t oh, int64_t ow) {
  int64_t h0 = oh * g.stride_h - g.pad_top, w0 = ow * g.stride_w - g.pad_left;
  return {std::max<int64_t>(h0, 0), std::min(h0 + g.kernel_h, g.in_h), std::max<int64_t>(w0, 0),
          std::min(w0 + g.kernel_w, g.in_w)};
}

// Taps that average pooling divides by for output (oh, ow).
inline float avg_taps(const ConvGeometry& g, const AvgPoolDivisor& d, const Window& win, int64_t oh,
                      int64_t ow) {
  if (!d.count_include_pad) return static_cast<float>((win.h1 - win.h0) * (win.w1 - win.w0));
  const int64_t h0 = oh * g.stride_h - g.pad_top, w0 = ow * g.stride_w - g.pad_left;
  const int64_t h1 = std::min(h0 + g.kernel_h, g.in_h + d.pad_bottom);
  const int64_t w1 = std::min(w0 + g.kernel_w, g.in_w + d.pad_right);
  return static_cast<float>((h1 - h0) * (w1 - w0));
}

}  // namespace

void maxpool_forward(ThreadPool& pool, const ConvGeometry& g, int64_t planes, const float* src,
                     float* dst, uint8_t* argmax) {
  if (pool_2x2_applies(g)) return maxpool_2x2_forward(pool, g, planes, src, dst, argmax);
  const int64_t in_plane = g.in_h * g.in_w, out_plane = g.out_h * g.out_w;
  pool.parallel_for(planes, [&](int64_t begin, int64_t end, int) {
    for (int64_t p = begin; p < end; ++p) {
      const float* in = src + p * in_plane;
      for (int64_t oh = 0; oh < g.out_h; ++oh) {
        for (int64_t ow = 0; ow < g.out_w; ++ow) {
          Window win = window(g, oh, ow);
          float best = -std::numeric_limits<float>::infinity();
          int64_t best_h = win.h0, best_w = win.w0;
          for (int64_t ih = win.h0; ih < win.h1; ++ih)
            for (int64_t iw = win.w0; iw < win.w1; ++iw)
              if (in[ih * g.in_w + iw] > best) best = in[ih * g.in_w + iw], best_h = ih, best_w = iw;
          const int64_t o = p * out_plane + oh * g.out_w + ow;
          dst[o] = best;
          const int64_t tap_h = best_h - (oh * g.stride_h - g.pad_top);
          const int64_t tap_w = best_w - (ow * g.stride_w - g.pad_left);
          if (argmax) argmax[o] = static_cast<uint8_t>(tap_h * g.kernel_w + tap_w);
        }
      }
    }
  });
}

void maxpool_backward(ThreadPool& pool, const ConvGeometry& g, int64_t planes,
                      const uint8_t* argmax, const float* d_dst, float* d_src, bool accumulate) {
  if (pool_2x2_applies(g)) {
    return maxpool_2x2_backward(pool, g, planes, argmax, d_dst, d_src, accumulate);
  }
  const int64_t in_plane = g.in_h * g.in_w, out_plane = g.out_h * g.out_w;
  pool.parallel_for(planes, [&](int64_t begin, int64_t end, int) {
    for (int64_t p = begin; p < end; ++p) {
      float* d_in = d_src + p * in_plane;
      if (!accumulate) std::memset(d_in, 0, sizeof(float) * in_plane);
      for (int64_t oh = 0; oh < g.out_h; ++oh) {
        for (int64_t ow = 0; ow < g.out_w; ++ow) {
          const int64_t o = p * out_plane + oh * g.out_w + ow;
          const int64_t tap = argmax[o];
          const int64_t ih = oh * g.stride_h - g.pad_top + tap / g.kernel_w;
          const int64_t iw = ow * g.stride_w - g.pad_left + tap % g.kernel_w;
          d_in[ih * g.in_w + iw] += d_dst[o];
        }
      }
    }
  });
}

void avgpool_forward(ThreadPool& pool, const ConvGeometry& g, int64_t planes, const float* src,
                     float* dst, const AvgPoolDivisor& divisor) {
  // Every window is whole, so the divisor is 4 whatever count_include_pad says.
  if (pool_2x2_applies(g)) return avgpool_2x2_forward(pool, g, planes, src, dst);
  const int64_t in_plane = g.in_h * g.in_w, out_plane = g.out_h * g.out_w;
  pool.parallel_for(planes, [&](int64_t begin, int64_t end, int) {
    for (int64_t p = begin; p < end; ++p) {
      const float* in = src + p * in_plane;
      for (int64_t oh = 0; oh < g.out_h; ++oh) {
        for (int64_t ow = 0; ow < g.out_w; ++ow) {
          Window win = window(g, oh, ow);
          float sum = 0.0f;
          for (int64_t ih = win.h0; ih < win.h1; ++ih)
            for (int64_t iw = win.w0; iw < win.w1; ++iw) sum += in[ih * g.in_w + iw];
          const float taps = avg_taps(g, divisor, win, oh, ow);
          dst[p * out_plane + oh * g.out_w + ow] = sum / taps;
        }
      }
    }
  });
}

void avgpool_backward(ThreadPool& pool, const ConvGeometry& g, int64_t planes, const float* d_dst,
                      float* d_src, bool accumulate, const AvgPoolDivisor& divisor) {
  if (pool_2x2_applies(g)) return avgpool_2x2_backward(pool, g, planes, d_dst, d_src, accumulate);
  const int64_t in_plane = g.in_h * g.in_w, out_plane = g.out_h * g.out_w;
  pool.parallel_for(planes, [&](int64_t begin, int64_t end, int) {
    for (int64_t p = begin; p < end; ++p) {
      float* d_in = d_src + p * in_plane;
      if (!accumulate) std::memset(d_in, 0, sizeof(float) * in_plane);
      for (int64_t oh = 0; oh < g.out_h; ++oh) {
        for (int64_t ow = 0; ow < g.out_w; ++ow) {
          Window win = window(g, oh, ow);
          const float taps = avg_taps(g, divisor, win, oh, ow);
          const float share = d_dst[p * out_plane + oh * g.out_w + ow] / taps;
          for (int64_t ih = win.h0; ih < win.h1; ++ih)
            for (int64_t iw = win.w0; iw < win.w1; ++iw) d_in[ih * g.in_w + iw] += share;
        }
      }
    }
  });
}

}  // namespace footprint
