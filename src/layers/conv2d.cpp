// conv OUT k=K [stride=1] [pad=0] [dilation=1] [groups=1] [bias=true]: 2-D convolution by GEMM
// over im2col tiles (src/kernels/conv/conv_gemm.cpp); the planner picks the tile rows.
#include <algorithm>

#include "footprint/error.hpp"
#include "kernels/conv/conv_gemm.hpp"
#include "layers/attr_reader.hpp"
#include "layers/layer.hpp"

namespace footprint {
namespace {

class Conv2d final : public Layer {
 public:
  explicit Conv2d(const LayerSpec& spec) {
    AttrReader r(spec);
    out_c_ = r.arg_int("output channels", 1);
    kernel_ = r.get_int("k", 1, 1, "kernel size must be at least 1");
    stride_ = r.get_int("stride", 1, 1, "stride must be at least 1");
    pad_ = r.get_int("pad", 0, 0, "padding must be at least 0");
    dilation_ = r.get_int("dilation", 1, 1, "dilation must be at least 1");
    groups_ = r.get_int("groups", 1, 1, "groups must be at least 1");
    bias_ = r.get_bool("bias", true);
    r.finish();
    if (out_c_ % groups_ != 0) {
      r.fail("groups", "output channels " + std::to_string(out_c_) + " are not divisible by it");
    }
  }

  std::string_view op() const override { return "conv"; }

  ConvGeometry geometry(const Shape& in) const {
    ConvGeometry g;
    g.in_c = in.c, g.in_h = in.h, g.in_w = in.w;
    g.out_c = out_c_;
    g.kernel_h = g.kernel_w = kernel_;
    g.stride_h = g.stride_w = stride_;
    g.pad_top = g.pad_left = pad_;
    g.dilation_h = g.dilation_w = dilation_;
    g.groups = groups_;
    g.out_h = conv_out_size(in.h, kernel_, stride_, pad_, pad_, dilation_);
    g.out_w = conv_out_size(in.w, kernel_, stride_, pad_, pad_, dilation_);
    return g;
  }

  Shape infer_shape(std::span<const Shape> in) const override {
    if (in[0].c % groups_ != 0) {
      throw ShapeError("input has " + std::to_string(in[0].c) +
                       " channels, not divisible by groups=" + std::to_string(groups_));
    }
    ConvGeometry g = geometry(in[0]);
    if (g.out_h <= 0 || g.out_w <= 0) {
      throw ShapeError("a " + std::to_string(kernel_) + "x" + std::to_string(kernel_) +
                       " kernel (dilation " + std::to_string(dilation_) + ", pad " +
                       std::to_string(pad_) + ") does not fit the input " + in[0].str());
    }
    return {out_c_, g.out_h, g.out_w};
  }

  std::vector<ParamSpec> params(std::span<const Shape> in) const override {
    const int64_t fan_in = in[0].c / groups_ * kernel_ * kernel_;
    std::vector<ParamSpec> specs = {{.name = "weight", .n_elems = out_c_ * fan_in, .fan_in = fan_in}};
    if (bias_) specs.push_back({.name = "bias", .n_elems = out_c_, .fan_in = fan_in});
    return specs;
  }

  LayerNeeds describe(const PlanContext& ctx) const override {
    ConvGeometry g = geometry(ctx.in[0]);
    int64_t tile_rows = g.out_h;
    if (ctx.conv_tile_bytes > 0) {
      const int64_t row_bytes = g.col_rows() * g.out_w * static_cast<int64_t>(sizeof(float));
      tile_rows = std::clamp<int64_t>(ctx.conv_tile_bytes / row_bytes, 1, g.out_h);
    }
    LayerNeeds needs;
    needs.saves_input = true;  // d_weights needs the input
    needs.tile = tile_rows;
    needs.workspace_bytes =
        conv_gemm_workspace_floats(g, tile_rows) * static_cast<int64_t>(sizeof(float));
    return needs;
  }

  void forward(const StepArgs& a) const override {
    conv_forward_gemm(*a.pool, geometry(a.in_shape[0]), a.batch, a.src[0], a.params[0],
                      bias_ ? a.params[1] : nullptr, a.dst,
                      reinterpret_cast<float*>(a.workspace.data()), a.tile);
  }

  void backward(const StepArgs& a) const override {
    conv_backward_gemm(*a.pool, geometry(a.in_shape[0]), a.batch, a.src[0], a.params[0], a.d_dst,
                       a.d_src[0], a.d_src_accumulate[0], a.d_params[0],
                       bias_ ? a.d_params[1] : nullptr,
                       reinterpret_cast<float*>(a.workspace.data()), a.tile);
  }

 private:
  int64_t out_c_ = 1;
  int kernel_ = 1, stride_ = 1, pad_ = 0, dilation_ = 1, groups_ = 1;
  bool bias_ = true;
};

}  // namespace

std::unique_ptr<Layer> make_Conv2d(const LayerSpec& spec) { return std::make_unique<Conv2d>(spec); }

}  // namespace footprint
