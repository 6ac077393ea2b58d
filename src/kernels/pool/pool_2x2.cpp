// The 2x2, stride-2, unpadded pooling that most nets use, as straight loops over row pairs that
// the compiler vectorises. Sums in the reference's order (pool.cpp), so results are identical to
// it; pool.cpp calls these when pool_2x2_applies and keeps the general loops for everything else.
#include <algorithm>
#include <cstring>
#include <limits>

#include "core/thread_pool.hpp"
#include "kernels/pool/pool.hpp"

namespace footprint {

bool pool_2x2_applies(const ConvGeometry& g) {
  return g.kernel_h == 2 && g.kernel_w == 2 && g.stride_h == 2 && g.stride_w == 2 &&
         g.pad_top == 0 && g.pad_left == 0 && g.out_h * 2 <= g.in_h && g.out_w * 2 <= g.in_w;
}

namespace {
// Planes per thread below which one thread does them all: about 16K input values.
int64_t plane_grain(const ConvGeometry& g) {
  return std::max<int64_t>(1, 16384 / std::max<int64_t>(1, g.in_h * g.in_w));
}
}  // namespace

void avgpool_2x2_forward(ThreadPool& pool, const ConvGeometry& g, int64_t planes, const float* src,
                         float* dst) {
  const int64_t in_w = g.in_w, out_w = g.out_w, out_h = g.out_h;
  pool.parallel_for(planes, [&](int64_t begin, int64_t end, int) {
    for (int64_t p = begin; p < end; ++p) {
      for (int64_t oh = 0; oh < out_h; ++oh) {
        const float* top = src + p * g.in_h * in_w + 2 * oh * in_w;
        const float* bottom = top + in_w;
        float* out = dst + (p * out_h + oh) * out_w;
        for (int64_t ow = 0; ow < out_w; ++ow) {
          out[ow] = (((top[2 * ow] + top[2 * ow + 1]) + bottom[2 * ow]) + bottom[2 * ow + 1]) / 4.0f;
        }
      }
    }
  }, plane_grain(g));
}

void avgpool_2x2_backward(ThreadPool& pool, const ConvGeometry& g, int64_t planes,
                          const float* d_dst, float* d_src, bool accumulate) {
  const int64_t in_w = g.in_w, in_h = g.in_h, out_w = g.out_w, out_h = g.out_h;
  pool.parallel_for(planes, [&](int64_t begin, int64_t end, int) {
    for (int64_t p = begin; p < end; ++p) {
      float* d_in = d_src + p * in_h * in_w;
      for (int64_t oh = 0; oh < out_h; ++oh) {
        const float* d_out = d_dst + (p * out_h + oh) * out_w;
        float* top = d_in + 2 * oh * in_w;
        float* bottom = top + in_w;
        if (accumulate) {
          for (int64_t ow = 0; ow < out_w; ++ow) {
            const float share = d_out[ow] / 4.0f;
            top[2 * ow] += share, top[2 * ow + 1] += share;
            bottom[2 * ow] += share, bottom[2 * ow + 1] += share;
          }
        } else {
          for (int64_t ow = 0; ow < out_w; ++ow) {
            const float share = d_out[ow] / 4.0f;
            top[2 * ow] = share, top[2 * ow + 1] = share;
            bottom[2 * ow] = share, bottom[2 * ow + 1] = share;
          }
          // An odd width leaves a last column no window covers: its gradient is 0.
          for (int64_t iw = 2 * out_w; iw < in_w; ++iw) top[iw] = bottom[iw] = 0.0f;
        }
      }
      if (!accumulate && 2 * out_h < in_h) {  // rows no window covers
        std::memset(d_in + 2 * out_h * in_w, 0, sizeof(float) * (in_h - 2 * out_h) * in_w);
      }
    }
  }, plane_grain(g));
}

// The reference's rule: taps in row-major order, a later tap wins only when strictly greater,
// so ties go to the first and a window of NaNs keeps -inf and tap 0.
void maxpool_2x2_forward(ThreadPool& pool, const ConvGeometry& g, int64_t planes,
                         const float* src, float* dst, uint8_t* argmax) {
  const int64_t in_w = g.in_w, out_w = g.out_w, out_h = g.out_h;
  pool.parallel_for(planes, [&](int64_t begin, int64_t end, int) {
    for (int64_t p = begin; p < end; ++p) {
      for (int64_t oh = 0; oh < out_h; ++oh) {
        const float* top = src + p * g.in_h * in_w + 2 * oh * in_w;
        const float* bottom = top + in_w;
        const int64_t o = (p * out_h + oh) * out_w;
        for (int64_t ow = 0; ow < out_w; ++ow) {
          const float taps[4] = {top[2 * ow], top[2 * ow + 1], bottom[2 * ow], bottom[2 * ow + 1]};
          float best = -std::numeric_limits<float>::infinity();
          int tap = 0;
          for (int t = 0; t < 4; ++t) {
            const bool better = taps[t] > best;
            best = better ? taps[t] : best;
            tap = better ? t : tap;
          }
          dst[o + ow] = best;
          if (argmax) argmax[o + ow] = static_cast<uint8_t>(tap);
        }
      }
    }
  }, plane_grain(g));
}

void maxpool_2x2_backward(ThreadPool& pool, const ConvGeometry& g, int64_t planes,
                          const uint8_t* argmax, const float* d_dst, float* d_src,
                          bool accumulate) {
  const int64_t in_w = g.in_w, in_h = g.in_h, out_w = g.out_w, out_h = g.out_h;
  pool.parallel_for(planes, [&](int64_t begin, int64_t end, int) {
    for (int64_t p = begin; p < end; ++p) {
      float* d_in = d_src + p * in_h * in_w;
      for (int64_t oh = 0; oh < out_h; ++oh) {
        const int64_t o = (p * out_h + oh) * out_w;
        float* rows[2] = {d_in + 2 * oh * in_w, d_in + (2 * oh + 1) * in_w};
        for (int64_t ow = 0; ow < out_w; ++ow) {
          const float d = d_dst[o + ow];
          const int tap = argmax[o + ow];
          for (int t = 0; t < 4; ++t) {
            float& x = rows[t / 2][2 * ow + t % 2];
            const float share = t == tap ? d : 0.0f;
            x = accumulate ? x + share : share;
          }
        }
        if (!accumulate) {
          for (int64_t iw = 2 * out_w; iw < in_w; ++iw) rows[0][iw] = rows[1][iw] = 0.0f;
        }
      }
      if (!accumulate && 2 * out_h < in_h) {
        std::memset(d_in + 2 * out_h * in_w, 0, sizeof(float) * (in_h - 2 * out_h) * in_w);
      }
    }
  }, plane_grain(g));
}

}  // namespace footprint
