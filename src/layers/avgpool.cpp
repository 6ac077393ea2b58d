// avgpool k=K [stride=K] [pad=0] [count_include_pad=false] (and the window options in
// pooling.hpp): backward needs only the shapes, so nothing is saved.
#include "kernels/pool/pool.hpp"
#include "layers/attr_reader.hpp"
#include "layers/layer.hpp"
#include "layers/pooling.hpp"

namespace footprint {
namespace {

class AvgPool final : public Layer {
 public:
  explicit AvgPool(const LayerSpec& spec) {
    AttrReader r(spec);
    window_ = PoolWindow::parse(spec, r);
    divisor_ = {.count_include_pad = r.get_bool("count_include_pad", false),
                .pad_bottom = window_.pad_bottom,
                .pad_right = window_.pad_right};
    r.finish();
  }
  std::string_view op() const override { return "avgpool"; }
  SpatialWindow window() const override {
    return {.h = {.kernel = window_.kernel_h, .stride = window_.stride_h, .pad_before = window_.pad_top},
            .w = {.kernel = window_.kernel_w, .stride = window_.stride_w, .pad_before = window_.pad_left}};
  }

  Shape infer_shape(std::span<const Shape> in) const override {
    ConvGeometry g = window_.geometry(in[0]);
    return {in[0].c, g.out_h, g.out_w};
  }

  LayerNeeds describe(const PlanContext&) const override {
    return {.strided_src = true, .strided_dst = true, .plane_wise = true};
  }

  void forward(const StepArgs& a) const override {
    const ConvGeometry g = window_.geometry(a.in_shape[0]);
    for_each_plane_run(a, false, [&](int64_t planes, const float* src, float* dst, float*,
                                     const float*, int64_t) {
      avgpool_forward(*a.pool, g, planes, src, dst, divisor_);
    });
  }

  void backward(const StepArgs& a) const override {
    if (!a.d_src[0]) return;
    const ConvGeometry g = window_.geometry(a.in_shape[0]);
    for_each_plane_run(a, true, [&](int64_t planes, const float*, float*, float* d_src,
                                    const float* d_dst, int64_t) {
      avgpool_backward(*a.pool, g, planes, d_dst, d_src, a.d_src_accumulate[0], divisor_);
    });
  }

 private:
  PoolWindow window_;
  AvgPoolDivisor divisor_;
};

}  // namespace

std::unique_ptr<Layer> make_AvgPool(const LayerSpec& spec) { return std::make_unique<AvgPool>(spec); }

}  // namespace footprint
