#include "kernels/conv/conv_transpose_ref.hpp"

#include <cstddef>
#include <vector>

namespace footprint {
namespace {

// Calls visit(src_index, w_index, dst_index) for every (input position, tap) whose output lands
// inside the transposed convolution's output: input (ih, iw) through tap (kh, kw) reaches output
// (ih * stride - pad + kh * dilation, ...).
template <typename Visit>
void for_each_tap(const ConvGeometry& g, int64_t batch, Visit&& visit) {
  const int64_t in_c = g.out_c, in_h = g.out_h, in_w = g.out_w;     // the transposed conv's input
  const int64_t out_c = g.in_c, out_h = g.in_h, out_w = g.in_w;     // and its output
  const int64_t group_in = in_c / g.groups, group_out = out_c / g.groups;
  for (int64_t n = 0; n < batch; ++n)
    for (int64_t ic = 0; ic < in_c; ++ic)
      for (int64_t ih = 0; ih < in_h; ++ih)
        for (int64_t iw = 0; iw < in_w; ++iw)
          for (int64_t ocg = 0; ocg < group_out; ++ocg)
            for (int64_t kh = 0; kh < g.kernel_h; ++kh)
              for (int64_t kw = 0; kw < g.kernel_w; ++kw) {
                const int64_t oh = ih * g.stride_h - g.pad_top + kh * g.dilation_h;
                const int64_t ow = iw * g.stride_w - g.pad_left + kw * g.dilation_w;
                if (oh < 0 || oh >= out_h || ow < 0 || ow >= out_w) continue;
                const int64_t oc = ic / group_in * group_out + ocg;
                const int64_t src_index = ((n * in_c + ic) * in_h + ih) * in_w + iw;
                const int64_t w_index = ((ic * group_out + ocg) * g.kernel_h + kh) * g.kernel_w + kw;
                const int64_t dst_index = ((n * out_c + oc) * out_h + oh) * out_w + ow;
                visit(src_index, w_index, dst_index);
              }
}

}  // namespace

void conv_transpose_forward_ref(const ConvGeometry& g, int64_t batch, const float* src,
                                const float* weights, const float* bias, float* dst) {
  const int64_t plane = g.in_h * g.in_w;
  std::vector<double> sum(batch * g.in_c * plane, 0.0);
  for_each_tap(g, batch, [&](int64_t s, int64_t w, int64_t d) {
    sum[d] += static_cast<double>(src[s]) * weights[w];
  });
  for (size_t i = 0; i < sum.size(); ++i) {
    const double b = bias ? bias[static_cast<int64_t>(i) / plane % g.in_c] : 0.0;
    dst[i] = static_cast<float>(sum[i] + b);
  }
}

void conv_transpose_backward_ref(const ConvGeometry& g, int64_t batch, const float* src,
                                 const float* weights, const float* d_dst, float* d_src,
                                 float* d_weights, float* d_bias) {
  std::vector<double> ds(batch * g.out_c * g.out_h * g.out_w, 0.0);
  std::vector<double> dw(g.out_c * (g.in_c / g.groups) * g.kernel_h * g.kernel_w, 0.0);
  for_each_tap(g, batch, [&](int64_t s, int64_t w, int64_t d) {
    ds[s] += static_cast<double>(d_dst[d]) * weights[w];
    dw[w] += static_cast<double>(d_dst[d]) * src[s];
  });
  if (d_src) for (size_t i = 0; i < ds.size(); ++i) d_src[i] = static_cast<float>(ds[i]);
  if (d_weights) for (size_t i = 0; i < dw.size(); ++i) d_weights[i] = static_cast<float>(dw[i]);
  if (d_bias) {
    const int64_t plane = g.in_h * g.in_w;
    for (int64_t oc = 0; oc < g.in_c; ++oc) {
      double sum = 0.0;
      for (int64_t n = 0; n < batch; ++n)
        for (int64_t i = 0; i < plane; ++i) sum += d_dst[(n * g.in_c + oc) * plane + i];
      d_bias[oc] = static_cast<float>(sum);
    }
  }
}

}  // namespace footprint
