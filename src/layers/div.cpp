// div in=a,b: a / b, broadcasting per sample axis (broadcast_binary.hpp). Backward keeps both
// inputs: d a = g / b, d b = -a / b^2 * g.
#include "layers/broadcast_binary.hpp"

namespace footprint {
namespace {
struct DivOp {
  static constexpr bool kReadsInputs = true;
  static constexpr bool kInPlace = false;
  float apply(float a, float b) const { return a / b; }
  float grad_a(float g, float, float b) const { return g / b; }
  float grad_b(float g, float a, float b) const { return -g * a / (b * b); }
};
}  // namespace

std::unique_ptr<Layer> make_Div(const LayerSpec& spec) {
  return std::make_unique<BroadcastBinary<DivOp>>(spec, "div");
}

}  // namespace footprint
