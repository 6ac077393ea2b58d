// mul in=a,b: the element-wise product, broadcasting per sample axis (broadcast_binary.hpp), e.g.
// squeeze-excitation's N x C x 1 x 1 scale times N x C x H x W. Backward keeps both inputs.
#include "layers/broadcast_binary.hpp"

namespace footprint {
namespace {
struct MulOp {
  static constexpr bool kReadsInputs = true;
  static constexpr bool kInPlace = false;
  float apply(float a, float b) const { return a * b; }
  float grad_a(float g, float, float b) const { return g * b; }
  float grad_b(float g, float a, float) const { return g * a; }
};
}  // namespace

std::unique_ptr<Layer> make_Mul(const LayerSpec& spec) {
  return std::make_unique<BroadcastBinary<MulOp>>(spec, "mul");
}

}  // namespace footprint
