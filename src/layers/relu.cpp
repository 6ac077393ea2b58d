// relu: max(x, 0); the derivative is read from the sign of the output.
#include "kernels/eltwise/activation_fast.hpp"
#include "layers/activation.hpp"

namespace footprint {
namespace {
struct ReluFn {
  float apply(float x) const { return x > 0.0f ? x : 0.0f; }  // the reference
  void apply_n(const float* src, float* dst, int64_t n) const { relu_fast(src, dst, n); }
  float derivative(float y) const { return y > 0.0f ? 1.0f : 0.0f; }
};
}  // namespace

std::unique_ptr<Layer> make_Relu(const LayerSpec& spec) {
  AttrReader r(spec);
  r.no_arg();
  r.finish();
  return std::make_unique<Activation<ReluFn>>("relu", ReluFn{});
}

}  // namespace footprint
