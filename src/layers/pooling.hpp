// Window options shared by maxpool and avgpool: k=K [stride=K] [pad=0].
#pragma once

#include "footprint/net.hpp"
#include "kernels/conv/conv_geometry.hpp"

namespace footprint {

struct PoolWindow {
  int kernel = 2, stride = 2, pad = 0;

  static PoolWindow parse(const LayerSpec& spec);
  // Throws ShapeError when the window does not fit the input.
  [[nodiscard]] ConvGeometry geometry(const Shape& in) const;
};

}  // namespace footprint
