// silu: x * sigmoid(x) (swish). Backward keeps the input: the output does not determine the slope.
#include <cmath>

#include "kernels/eltwise/activation_fast.hpp"
#include "layers/activation.hpp"

namespace footprint {
namespace {
struct SiluFn {
  static constexpr bool kDerivativeFromInput = true;
  float apply(float x) const { return x / (1.0f + std::exp(-x)); }  // the reference
  void apply_n(const float* src, float* dst, int64_t n) const { silu_fast(src, dst, n); }
  // s + x s (1 - s) with s = sigmoid(x).
  float derivative(float x) const {
    const float s = 1.0f / (1.0f + std::exp(-x));
    return s * (1.0f + x * (1.0f - s));
  }
};
}  // namespace

std::unique_ptr<Layer> make_Silu(const LayerSpec& spec) {
  AttrReader r(spec);
  r.no_arg();
  r.finish();
  return std::make_unique<Activation<SiluFn>>("silu", SiluFn{});
}

}  // namespace footprint
