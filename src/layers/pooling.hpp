// Window options shared by maxpool and avgpool: k=K [stride=K] [pad=0], plus the per-axis and
// per-side forms ONNX models need (kh kw stride_h stride_w pad_top pad_left pad_bottom pad_right)
// and ceil=true (output size rounded up, as ONNX ceil_mode and PyTorch ceil_mode).
#pragma once

#include "footprint/net.hpp"
#include "kernels/conv/conv_geometry.hpp"

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

}  // namespace footprint
