// tanh: derivative 1 - y^2 from the output y.
#include <cmath>

#include "layers/activation.hpp"

namespace footprint {
namespace {
struct TanhFn {
  float apply(float x) const { return std::tanh(x); }
  float derivative(float y) const { return 1.0f - y * y; }
};
}  // namespace

std::unique_ptr<Layer> make_Tanh(const LayerSpec& spec) {
  AttrReader r(spec);
  r.no_arg();
  r.finish();
  return std::make_unique<Activation<TanhFn>>("tanh", TanhFn{});
}

}  // namespace footprint
