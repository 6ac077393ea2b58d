// sub in=a,b: a - b, broadcasting per sample axis (broadcast_binary.hpp). Backward reads only the
// output gradient, so nothing is kept, and the output may overwrite a when a has its shape.
#include "layers/broadcast_binary.hpp"

namespace footprint {
namespace {
struct SubOp {
  static constexpr bool kReadsInputs = false;
  static constexpr bool kInPlace = true;
  float apply(float a, float b) const { return a - b; }
  float grad_a(float g, float, float) const { return g; }
  float grad_b(float g, float, float) const { return -g; }
};
}  // namespace

std::unique_ptr<Layer> make_Sub(const LayerSpec& spec) {
  return std::make_unique<BroadcastBinary<SubOp>>(spec, "sub");
}

}  // namespace footprint
