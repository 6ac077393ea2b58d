#include "kernels/conv/im2col.hpp"

#include <algorithm>
#include <cstring>

#include "core/thread_pool.hpp"

namespace footprint {
namespace {
// Below this many column values a copy is not split over threads (waking one costs more).
constexpr int64_t kMinFloatsPerThread = 16384;

// Column rows [r_begin, r_end) of im2col_rows.
void im2col_rows_range(const ConvGeometry& g, const float* src, int64_t out_row_begin,
                       int64_t out_row_end, float* col, int64_t r_begin, int64_t r_end) {
  const int64_t rows = out_row_end - out_row_begin;
  const int64_t col_w = rows * g.out_w;
  const int64_t kernel_area = g.kernel_h * g.kernel_w;
  for (int64_t r = r_begin; r < r_end; ++r) {
    const int64_t c = r / kernel_area;
    const int64_t kh = (r % kernel_area) / g.kernel_w;
    const int64_t kw = r % g.kernel_w;
    const float* plane = src + c * g.in_h * g.in_w;
    float* out = col + r * col_w;
    for (int64_t oh = out_row_begin; oh < out_row_end; ++oh) {
      const int64_t ih = oh * g.stride_h - g.pad_top + kh * g.dilation_h;
      float* out_row = out + (oh - out_row_begin) * g.out_w;
      if (ih < 0 || ih >= g.in_h) {
        std::memset(out_row, 0, sizeof(float) * g.out_w);
        continue;
      }
      const float* in_row = plane + ih * g.in_w;
      const int64_t iw0 = kw * g.dilation_w - g.pad_left;
      if (g.stride_w == 1) {
        // A contiguous run: zeros left and right of the part that lies inside the image.
        const int64_t lo = std::clamp<int64_t>(-iw0, 0, g.out_w);
        const int64_t hi = std::clamp<int64_t>(g.in_w - iw0, lo, g.out_w);
        std::fill(out_row, out_row + lo, 0.0f);
        if (hi > lo) std::memcpy(out_row + lo, in_row + iw0 + lo, sizeof(float) * (hi - lo));
        std::fill(out_row + hi, out_row + g.out_w, 0.0f);
      } else {
        for (int64_t ow = 0; ow < g.out_w; ++ow) {
          const int64_t iw = iw0 + ow * g.stride_w;
          out_row[ow] = (iw >= 0 && iw < g.in_w) ? in_row[iw] : 0.0f;
        }
      }
    }
  }
}

// Channels [c_begin, c_end) of col2im_rows_add.
void col2im_rows_add_range(const ConvGeometry& g, const float* col, int64_t out_row_begin,
                           int64_t out_row_end, float* d_src, int64_t c_begin, int64_t c_end) {
  const int64_t rows = out_row_end - out_row_begin;
  const int64_t col_w = rows * g.out_w;
  const int64_t kernel_area = g.kernel_h * g.kernel_w;
  for (int64_t c = c_begin; c < c_end; ++c) {
    float* plane = d_src + c * g.in_h * g.in_w;
    for (int64_t k = 0; k < kernel_area; ++k) {
      const int64_t kh = k / g.kernel_w;
      const int64_t kw = k % g.kernel_w;
      const float* in = col + (c * kernel_area + k) * col_w;
      for (int64_t oh = out_row_begin; oh < out_row_end; ++oh) {
        const int64_t ih = oh * g.stride_h - g.pad_top + kh * g.dilation_h;
        if (ih < 0 || ih >= g.in_h) continue;
        const float* in_row = in + (oh - out_row_begin) * g.out_w;
        float* d_row = plane + ih * g.in_w;
        const int64_t iw0 = kw * g.dilation_w - g.pad_left;
        if (g.stride_w == 1) {
          // The columns that land inside the image form one contiguous run.
          const int64_t lo = std::clamp<int64_t>(-iw0, 0, g.out_w);
          const int64_t hi = std::clamp<int64_t>(g.in_w - iw0, lo, g.out_w);
          float* d = d_row + iw0;
          for (int64_t ow = lo; ow < hi; ++ow) d[ow] += in_row[ow];
          continue;
        }
        for (int64_t ow = 0; ow < g.out_w; ++ow) {
          const int64_t iw = iw0 + ow * g.stride_w;
          if (iw >= 0 && iw < g.in_w) d_row[iw] += in_row[ow];
        }
      }
    }
  }
}

}  // namespace

void im2col_rows(ThreadPool& pool, const ConvGeometry& g, const float* src, int64_t out_row_begin,
                 int64_t out_row_end, float* col) {
  const int64_t col_w = (out_row_end - out_row_begin) * g.out_w;
  pool.parallel_for(g.col_rows(), [&](int64_t begin, int64_t end, int) {
    im2col_rows_range(g, src, out_row_begin, out_row_end, col, begin, end);
  }, /*min_grain=*/std::max<int64_t>(1, kMinFloatsPerThread / col_w));
}

void im2col_rows_serial(const ConvGeometry& g, const float* src, int64_t out_row_begin,
                        int64_t out_row_end, float* col) {
  im2col_rows_range(g, src, out_row_begin, out_row_end, col, 0, g.col_rows());
}

void col2im_rows_add(ThreadPool& pool, const ConvGeometry& g, const float* col,
                     int64_t out_row_begin, int64_t out_row_end, float* d_src) {
  const int64_t col_w = (out_row_end - out_row_begin) * g.out_w;
  const int64_t kernel_area = g.kernel_h * g.kernel_w;
  pool.parallel_for(g.group_in_c(), [&](int64_t begin, int64_t end, int) {
    col2im_rows_add_range(g, col, out_row_begin, out_row_end, d_src, begin, end);
  }, /*min_grain=*/std::max<int64_t>(1, kMinFloatsPerThread / (kernel_area * col_w)));
}

void col2im_rows_add_serial(const ConvGeometry& g, const float* col, int64_t out_row_begin,
                            int64_t out_row_end, float* d_src) {
  col2im_rows_add_range(g, col, out_row_begin, out_row_end, d_src, 0, g.group_in_c());
}

}  // namespace footprint
