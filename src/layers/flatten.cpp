// flatten: C x H x W -> (C*H*W) x 1 x 1, the same floats in the same order (ONNX Flatten with
// axis=1, Reshape to [N, -1]). fc flattens by itself; this is for softmax, add or concat after a
// flatten. Runs in place, so it usually costs no bytes and no copy.
#include <cstring>

#include "layers/attr_reader.hpp"
#include "layers/layer.hpp"

namespace footprint {
namespace {

class Flatten final : public Layer {
 public:
  explicit Flatten(const LayerSpec& spec) {
    AttrReader r(spec);
    r.no_arg();
    r.finish();
  }
  std::string_view op() const override { return "flatten"; }
  SpatialWindow window() const override { return {.local = false}; }
  Shape infer_shape(std::span<const Shape> in) const override { return {in[0].n_elems(), 1, 1}; }
  LayerNeeds describe(const PlanContext&) const override { return {.may_run_in_place = true}; }

  void forward(const StepArgs& a) const override {
    if (a.dst != a.src[0]) {
      std::memcpy(a.dst, a.src[0], sizeof(float) * a.batch * a.out_shape.n_elems());
    }
  }

  void backward(const StepArgs& a) const override {
    if (!a.d_src[0] || a.d_src[0] == a.d_dst) return;  // in place: the gradient is already there
    const int64_t n = a.batch * a.out_shape.n_elems();
    if (a.d_src_accumulate[0]) {
      for (int64_t i = 0; i < n; ++i) a.d_src[0][i] += a.d_dst[i];
    } else {
      std::memcpy(a.d_src[0], a.d_dst, sizeof(float) * n);
    }
  }
};

}  // namespace

std::unique_ptr<Layer> make_Flatten(const LayerSpec& spec) { return std::make_unique<Flatten>(spec); }

}  // namespace footprint
