// maxpool k=K [stride=K] [pad=0]: saves for backward one byte per output (the winning tap),
// not its input.
#include "kernels/pool/pool.hpp"
#include "layers/attr_reader.hpp"
#include "layers/layer.hpp"
#include "layers/pooling.hpp"

namespace footprint {
namespace {

class MaxPool final : public Layer {
 public:
  explicit MaxPool(const LayerSpec& spec) {
    AttrReader r(spec);
    window_ = PoolWindow::parse(spec, r);
    r.finish();
  }
  std::string_view op() const override { return "maxpool"; }
  SpatialWindow window() const override {
    return {.h = {.kernel = window_.kernel_h, .stride = window_.stride_h, .pad_before = window_.pad_top},
            .w = {.kernel = window_.kernel_w, .stride = window_.stride_w, .pad_before = window_.pad_left}};
  }

  Shape infer_shape(std::span<const Shape> in) const override {
    ConvGeometry g = window_.geometry(in[0]);
    return {in[0].c, g.out_h, g.out_w};
  }

  LayerNeeds describe(const PlanContext& ctx) const override {
    LayerNeeds needs{.strided_src = true, .strided_dst = true, .plane_wise = true};
    if (ctx.mode == Mode::train) {
      needs.saved.push_back({.name = "argmax", .size_bytes = ctx.batch * ctx.out.n_elems()});
    }
    return needs;
  }

  // argmax: one byte per output value, [N * C, out_h, out_w].
  void forward(const StepArgs& a) const override {
    const ConvGeometry g = window_.geometry(a.in_shape[0]);
    uint8_t* argmax = a.training ? reinterpret_cast<uint8_t*>(a.saved[0]) : nullptr;
    for_each_plane_run(a, false, [&](int64_t planes, const float* src, float* dst, float*,
                                     const float*, int64_t first_plane) {
      maxpool_forward(*a.pool, g, planes, src, dst,
                      argmax ? argmax + first_plane * g.out_h * g.out_w : nullptr);
    });
  }

  void backward(const StepArgs& a) const override {
    if (!a.d_src[0]) return;
    const ConvGeometry g = window_.geometry(a.in_shape[0]);
    const auto* argmax = reinterpret_cast<const uint8_t*>(a.saved[0]);
    for_each_plane_run(a, true, [&](int64_t planes, const float*, float*, float* d_src,
                                    const float* d_dst, int64_t first_plane) {
      maxpool_backward(*a.pool, g, planes, argmax + first_plane * g.out_h * g.out_w, d_dst, d_src,
                       a.d_src_accumulate[0]);
    });
  }

 private:
  PoolWindow window_;
};

}  // namespace

std::unique_ptr<Layer> make_MaxPool(const LayerSpec& spec) { return std::make_unique<MaxPool>(spec); }

}  // namespace footprint
