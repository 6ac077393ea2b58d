#include "kernels/conv/conv_ref.hpp"

#include <cstddef>
#include <vector>

namespace footprint {
namespace {

// Calls visit(n, oc, oh, ow, ic, kh, kw, src_index) for every tap that reads inside the image.
template <typename Visit>
void for_each_tap(const ConvGeometry& g, int64_t batch, Visit&& visit) {
  const int64_t gic = g.group_in_c(), goc = g.group_out_c();
  for (int64_t n = 0; n < batch; ++n)
    for (int64_t oc = 0; oc < g.out_c; ++oc)
      for (int64_t oh = 0; oh < g.out_h; ++oh)
        for (int64_t ow = 0; ow < g.out_w; ++ow)
          for (int64_t icg = 0; icg < gic; ++icg)
            for (int64_t kh = 0; kh < g.kernel_h; ++kh)
              for (int64_t kw = 0; kw < g.kernel_w; ++kw) {
                int64_t ih = oh * g.stride_h - g.pad_top + kh * g.dilation_h;
                int64_t iw = ow * g.stride_w - g.pad_left + kw * g.dilation_w;
                if (ih < 0 || ih >= g.in_h || iw < 0 || iw >= g.in_w) continue;
                int64_t ic = (oc / goc) * gic + icg;
                int64_t src_index = ((n * g.in_c + ic) * g.in_h + ih) * g.in_w + iw;
                int64_t w_index = ((oc * gic + icg) * g.kernel_h + kh) * g.kernel_w + kw;
                int64_t dst_index = ((n * g.out_c + oc) * g.out_h + oh) * g.out_w + ow;
                visit(src_index, w_index, dst_index, oc);
              }
}

}  // namespace

void conv_forward_ref(const ConvGeometry& g, int64_t batch, const float* src, const float* weights,
                      const float* bias, float* dst) {
  const int64_t out_elems = batch * g.out_c * g.out_h * g.out_w;
  std::vector<double> sum(out_elems, 0.0);
  for_each_tap(g, batch, [&](int64_t s, int64_t w, int64_t d, int64_t) {
    sum[d] += static_cast<double>(src[s]) * weights[w];
  });
  const int64_t plane = g.out_h * g.out_w;
  for (int64_t i = 0; i < out_elems; ++i) {
    double b = bias ? bias[(i / plane) % g.out_c] : 0.0;
    dst[i] = static_cast<float>(sum[i] + b);
  }
}

void conv_backward_ref(const ConvGeometry& g, int64_t batch, const float* src,
                       const float* weights, const float* d_dst, float* d_src, float* d_weights,
                       float* d_bias) {
  std::vector<double> ds(batch * g.in_c * g.in_h * g.in_w, 0.0);
  std::vector<double> dw(g.out_c * g.group_in_c() * g.kernel_h * g.kernel_w, 0.0);
  for_each_tap(g, batch, [&](int64_t s, int64_t w, int64_t d, int64_t) {
    ds[s] += static_cast<double>(d_dst[d]) * weights[w];
    dw[w] += static_cast<double>(d_dst[d]) * src[s];
  });
  if (d_src) for (size_t i = 0; i < ds.size(); ++i) d_src[i] = static_cast<float>(ds[i]);
  if (d_weights) for (size_t i = 0; i < dw.size(); ++i) d_weights[i] = static_cast<float>(dw[i]);
  if (d_bias) {
    const int64_t plane = g.out_h * g.out_w;
    for (int64_t oc = 0; oc < g.out_c; ++oc) {
      double sum = 0.0;
      for (int64_t n = 0; n < batch; ++n)
        for (int64_t i = 0; i < plane; ++i) sum += d_dst[(n * g.out_c + oc) * plane + i];
      d_bias[oc] = static_cast<float>(sum);
    }
  }
}

}  // namespace footprint
