// hardsigmoid [alpha=0.2] [beta=0.5]: max(0, min(1, alpha x + beta)), ONNX's defaults (PyTorch's
// Hardsigmoid is alpha=1/6). The slope is alpha where the output lies strictly inside (0, 1), so
// backward reads the output and the layer runs in place.
#include "layers/activation.hpp"

namespace footprint {
namespace {
struct HardSigmoidFn {
  float alpha, beta;
  float apply(float x) const {
    const float v = alpha * x + beta;
    return v < 0.0f ? 0.0f : (v > 1.0f ? 1.0f : v);
  }
  float derivative(float y) const { return y > 0.0f && y < 1.0f ? alpha : 0.0f; }
};
}  // namespace

std::unique_ptr<Layer> make_HardSigmoid(const LayerSpec& spec) {
  AttrReader r(spec);
  r.no_arg();
  const float alpha = r.get_float("alpha", 0.2f);
  const float beta = r.get_float("beta", 0.5f);
  r.finish();
  return std::make_unique<Activation<HardSigmoidFn>>("hardsigmoid", HardSigmoidFn{alpha, beta});
}

}  // namespace footprint
