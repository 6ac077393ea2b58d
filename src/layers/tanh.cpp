// tanh: derivative 1 - y^2 from the output y.
#include <cmath>

#include "kernels/eltwise/activation_fast.hpp"
#include "layers/activation.hpp"

namespace footprint {
namespace {
struct TanhFn {
  float apply(float x) const { return std::tanh(x); }  // the reference
  void apply_n(const float* src, float* dst, int64_t n) const { tanh_fast(src, dst, n); }
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
