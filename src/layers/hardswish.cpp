// hardswish: x * relu6(x + 3) / 6 (PyTorch Hardswish, ONNX HardSwish). The output does not give
// back the slope (it is not invertible below 0), so backward keeps the input.
#include "layers/activation.hpp"

namespace footprint {
namespace {
struct HardSwishFn {
  static constexpr bool kDerivativeFromInput = true;
  float apply(float x) const {
    const float r = x + 3.0f;
    return x * (r < 0.0f ? 0.0f : (r > 6.0f ? 6.0f : r)) / 6.0f;
  }
  // As PyTorch's hardswish_backward: 0 below -3, 1 above 3, (2x + 3) / 6 between.
  float derivative(float x) const {
    return x < -3.0f ? 0.0f : (x <= 3.0f ? x / 3.0f + 0.5f : 1.0f);
  }
};
}  // namespace

std::unique_ptr<Layer> make_HardSwish(const LayerSpec& spec) {
  AttrReader r(spec);
  r.no_arg();
  r.finish();
  return std::make_unique<Activation<HardSwishFn>>("hardswish", HardSwishFn{});
}

}  // namespace footprint
