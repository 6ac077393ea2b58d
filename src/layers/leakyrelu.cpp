// leakyrelu [slope=0.01]: x for x > 0, slope * x otherwise. With slope >= 0 the output has the
// sign of the input, so backward reads the output and the layer runs in place.
#include "layers/activation.hpp"

namespace footprint {
namespace {
struct LeakyReluFn {
  float slope;
  float apply(float x) const { return x > 0.0f ? x : slope * x; }
  float derivative(float y) const { return y > 0.0f ? 1.0f : slope; }
};
}  // namespace

std::unique_ptr<Layer> make_LeakyRelu(const LayerSpec& spec) {
  AttrReader r(spec);
  r.no_arg();
  float slope = r.get_float("slope", 0.01f);
  r.finish();
  if (slope < 0.0f) r.fail("slope", "slope must be at least 0");
  return std::make_unique<Activation<LeakyReluFn>>("leakyrelu", LeakyReluFn{slope});
}

}  // namespace footprint
