// Window options shared by maxpool and avgpool: k=K [stride=K] [pad=0], plus the per-axis and
// per-side forms ONNX models need (kh kw stride_h stride_w pad_top pad_left pad_bottom pad_right)
// and ceil=true (output size rounded up, as ONNX ceil_mode and PyTorch ceil_mode).
#pragma once

#include "footprint/net.hpp"
#include "kernels/conv/conv_geometry.hpp"
#include "layers/layer.hpp"

namespace footprint {

class AttrReader;

struct PoolWindow {
  int kernel_h = 2, kernel_w = 2, stride_h = 2, stride_w = 2;
  int pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;
  bool ceil_mode = false;

  // Reads the window options from r (the caller reads its own options, then calls r.finish()).
  static PoolWindow parse(const LayerSpec& spec, AttrReader& r);
  // Throws ShapeError when the window does not fit the input.
  [[nodiscard]] ConvGeometry geometry(const Shape& in) const;
};

// The pool kernels work on planes (N * C of them) lying back to back. Calls
// visit(planes, src, dst, d_src, d_dst, first_plane) once for the whole batch when the samples
// are back to back, else once per sample (its input or output is a channel range of a larger
// tensor: LayerNeeds::strided_src / strided_dst). Gradient pointers are null in forward.
template <typename Visit>
void for_each_plane_run(const StepArgs& a, bool backward, Visit&& visit) {
  const int64_t in_size = a.in_shape[0].n_elems(), out_size = a.out_shape.n_elems();
  const int64_t channels = a.in_shape[0].c;
  const bool contiguous = a.src_stride[0] == in_size && a.dst_stride == out_size;
  for (int64_t n = 0; n < (contiguous ? 1 : a.batch); ++n) {
    const int64_t src_at = n * a.src_stride[0], dst_at = n * a.dst_stride;
    visit(contiguous ? a.batch * channels : channels, a.src[0] + src_at, a.dst + dst_at,
          backward && a.d_src[0] ? a.d_src[0] + src_at : nullptr,
          backward ? a.d_dst + dst_at : nullptr, n * channels);
  }
}

}  // namespace footprint
