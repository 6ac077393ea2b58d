// sigmoid: 1 / (1 + e^-x); derivative y (1 - y) from the output y.
#include <cmath>

#include "kernels/eltwise/activation_fast.hpp"
#include "layers/activation.hpp"

namespace footprint {
namespace {
struct SigmoidFn {
  float apply(float x) const { return 1.0f / (1.0f + std::exp(-x)); }  // the reference
  void apply_n(const float* src, float* dst, int64_t n) const { sigmoid_fast(src, dst, n); }
  float derivative(float y) const { return y * (1.0f - y); }
};
}  // namespace

std::unique_ptr<Layer> make_Sigmoid(const LayerSpec& spec) {
  AttrReader r(spec);
  r.no_arg();
  r.finish();
  return std::make_unique<Activation<SigmoidFn>>("sigmoid", SigmoidFn{});
}

}  // namespace footprint
