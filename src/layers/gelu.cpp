// gelu [approximate=none|tanh]: x * Phi(x) with Phi the standard normal CDF (erf form, the
// default), or PyTorch's approximate='tanh' form 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
// Backward keeps the input: the output does not determine the slope.
#include <cmath>

#include "layers/activation.hpp"

namespace footprint {
namespace {

constexpr float kSqrtHalf = 0.70710678118654752f;     // 1 / sqrt(2)
constexpr float kInvSqrt2Pi = 0.39894228040143268f;   // 1 / sqrt(2 pi)
constexpr float kSqrt2OverPi = 0.79788456080286536f;  // sqrt(2 / pi)
constexpr float kCubic = 0.044715f;

struct GeluErfFn {
  static constexpr bool kDerivativeFromInput = true;
  float apply(float x) const { return 0.5f * x * (1.0f + std::erf(x * kSqrtHalf)); }
  // Phi(x) + x phi(x).
  float derivative(float x) const {
    return 0.5f * (1.0f + std::erf(x * kSqrtHalf)) + x * kInvSqrt2Pi * std::exp(-0.5f * x * x);
  }
};

struct GeluTanhFn {
  static constexpr bool kDerivativeFromInput = true;
  float apply(float x) const {
    return 0.5f * x * (1.0f + std::tanh(kSqrt2OverPi * (x + kCubic * x * x * x)));
  }
  // 0.5 (1 + t) + 0.5 x (1 - t^2) u' with t = tanh(u), u = sqrt(2/pi) (x + 0.044715 x^3).
  float derivative(float x) const {
    const float t = std::tanh(kSqrt2OverPi * (x + kCubic * x * x * x));
    const float du = kSqrt2OverPi * (1.0f + 3.0f * kCubic * x * x);
    return 0.5f * (1.0f + t) + 0.5f * x * (1.0f - t * t) * du;
  }
};

}  // namespace

std::unique_ptr<Layer> make_Gelu(const LayerSpec& spec) {
  AttrReader r(spec);
  r.no_arg();
  const std::string approximate = r.get_choice("approximate", "none", {"none", "tanh"});
  r.finish();
  if (approximate == "tanh") return std::make_unique<Activation<GeluTanhFn>>("gelu", GeluTanhFn{});
  return std::make_unique<Activation<GeluErfFn>>("gelu", GeluErfFn{});
}

}  // namespace footprint
