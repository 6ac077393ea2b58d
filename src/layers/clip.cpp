// clip [min=0] [max=6]: x limited to [min, max] (ReLU6 by default; ONNX Clip, PyTorch hardtanh).
// The slope is 1 where the output lies strictly inside (min, max) and 0 on the bounds, so backward
// reads the output and the layer runs in place.
#include "kernels/eltwise/activation_fast.hpp"
#include "layers/activation.hpp"

namespace footprint {
namespace {
struct ClipFn {
  float lo, hi;
  float apply(float x) const { return x < lo ? lo : (x > hi ? hi : x); }  // the reference
  void apply_n(const float* src, float* dst, int64_t n) const { clip_fast(src, dst, n, lo, hi); }
  float derivative(float y) const { return y > lo && y < hi ? 1.0f : 0.0f; }
};
}  // namespace

std::unique_ptr<Layer> make_Clip(const LayerSpec& spec) {
  AttrReader r(spec);
  r.no_arg();
  const float lo = r.get_float("min", 0.0f);
  const float hi = r.get_float("max", 6.0f);
  r.finish();
  if (!(lo < hi)) r.fail(r.has("max") ? "max" : "min", "min must be less than max");
  return std::make_unique<Activation<ClipFn>>("clip", ClipFn{lo, hi});
}

}  // namespace footprint
