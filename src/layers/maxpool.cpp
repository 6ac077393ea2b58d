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
    LayerNeeds needs;
    if (ctx.mode == Mode::train) {
      needs.saved.push_back({.name = "argmax", .size_bytes = ctx.batch * ctx.out.n_elems()});
    }
    return needs;
  }

  void forward(const StepArgs& a) const override {
    maxpool_forward(*a.pool, window_.geometry(a.in_shape[0]), a.batch * a.in_shape[0].c,
                    a.src[0], a.dst, a.training ? reinterpret_cast<uint8_t*>(a.saved[0]) : nullptr);
  }

  void backward(const StepArgs& a) const override {
    if (!a.d_src[0]) return;
    maxpool_backward(*a.pool, window_.geometry(a.in_shape[0]), a.batch * a.in_shape[0].c,
                     reinterpret_cast<const uint8_t*>(a.saved[0]), a.d_dst, a.d_src[0],
                     a.d_src_accumulate[0]);
  }

 private:
  PoolWindow window_;
};

}  // namespace

std::unique_ptr<Layer> make_MaxPool(const LayerSpec& spec) { return std::make_unique<MaxPool>(spec); }

}  // namespace footprint
