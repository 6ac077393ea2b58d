// The sizes of one 2-D convolution (or pooling window), spelled out once for every kernel.
#pragma once

#include <cstdint>

namespace footprint {

struct ConvGeometry {
  int64_t in_c = 1, in_h = 1, in_w = 1;     // per group for conv kernels: see group_in_c()
  int64_t out_c = 1, out_h = 1, out_w = 1;
  int64_t kernel_h = 1, kernel_w = 1;
  int64_t stride_h = 1, stride_w = 1;
  int64_t pad_top = 0, pad_left = 0;         // bottom/right padding is implied by out_h, out_w
  int64_t dilation_h = 1, dilation_w = 1;
  int64_t groups = 1;
  // Floats from one sample to the next in src and dst (and in their gradients); 0: the
  // sample's own size. More when the tensor is a channel range of a larger one, as when a
  // producer writes straight into its slice of a concatenation.
  int64_t src_sample_stride = 0, dst_sample_stride = 0;

  [[nodiscard]] int64_t src_stride() const {
    return src_sample_stride ? src_sample_stride : in_c * in_h * in_w;
  }
  [[nodiscard]] int64_t dst_stride() const {
    return dst_sample_stride ? dst_sample_stride : out_c * out_h * out_w;
  }
  [[nodiscard]] int64_t group_in_c() const { return in_c / groups; }
  [[nodiscard]] int64_t group_out_c() const { return out_c / groups; }
  // Rows of the column matrix for one group: [group_in_c * kernel_h * kernel_w].
  [[nodiscard]] int64_t col_rows() const { return group_in_c() * kernel_h * kernel_w; }
  [[nodiscard]] bool is_pointwise() const {
    return kernel_h == 1 && kernel_w == 1 && stride_h == 1 && stride_w == 1 && pad_top == 0 &&
           pad_left == 0 && out_h == in_h && out_w == in_w;
  }
};

// Output size along one axis, or <= 0 when the window does not fit.
inline int64_t conv_out_size(int64_t in, int64_t kernel, int64_t stride, int64_t pad_before,
                             int64_t pad_after, int64_t dilation) {
  int64_t span = dilation * (kernel - 1) + 1;
  int64_t padded = in + pad_before + pad_after;
  if (padded < span) return 0;
  return (padded - span) / stride + 1;
}

}  // namespace footprint
