// convtranspose OUT k=K [stride=1] [pad=0] [output_pad=0] [dilation=1] [groups=1] [bias=true]:
// PyTorch's ConvTranspose2d and ONNX ConvTranspose, with conv's per-axis overrides (kh kw
// stride_h stride_w pad_top pad_left pad_bottom pad_right dilation_h dilation_w) and
// output_pad_h output_pad_w. Weights [C_in, OUT / groups, kH, kW] as both store them. Output size
// (in - 1) * stride - pad_before - pad_after + dilation * (k - 1) + output_pad + 1. Runs on the
// convolution kernels (src/kernels/conv/conv_transpose_gemm.hpp) with conv's column tiles.
// Keeps its input for the weight gradient.
#include <algorithm>

#include "footprint/error.hpp"
#include "kernels/conv/conv_transpose_gemm.hpp"
#include "layers/attr_reader.hpp"
#include "layers/conv_tile.hpp"
#include "layers/layer.hpp"

namespace footprint {
namespace {

class ConvTranspose final : public Layer {
 public:
  explicit ConvTranspose(const LayerSpec& spec) {
    AttrReader r(spec);
    out_c_ = r.arg_int("output channels", 1);
    const int kernel = r.get_int("k", 1, 1, "kernel size must be at least 1");
    kernel_h_ = r.get_int("kh", kernel, 1, "kernel height must be at least 1");
    kernel_w_ = r.get_int("kw", kernel, 1, "kernel width must be at least 1");
    const int stride = r.get_int("stride", 1, 1, "stride must be at least 1");
    stride_h_ = r.get_int("stride_h", stride, 1, "stride must be at least 1");
    stride_w_ = r.get_int("stride_w", stride, 1, "stride must be at least 1");
    const int pad = r.get_int("pad", 0, 0, "padding must be at least 0");
    pad_top_ = r.get_int("pad_top", pad, 0, "padding must be at least 0");
    pad_left_ = r.get_int("pad_left", pad, 0, "padding must be at least 0");
    pad_bottom_ = r.get_int("pad_bottom", pad, 0, "padding must be at least 0");
    pad_right_ = r.get_int("pad_right", pad, 0, "padding must be at least 0");
    const int output_pad = r.get_int("output_pad", 0, 0, "output padding must be at least 0");
    output_pad_h_ = r.get_int("output_pad_h", output_pad, 0, "output padding must be at least 0");
    output_pad_w_ = r.get_int("output_pad_w", output_pad, 0, "output padding must be at least 0");
    const int dilation = r.get_int("dilation", 1, 1, "dilation must be at least 1");
    dilation_h_ = r.get_int("dilation_h", dilation, 1, "dilation must be at least 1");
    dilation_w_ = r.get_int("dilation_w", dilation, 1, "dilation must be at least 1");
    groups_ = r.get_int("groups", 1, 1, "groups must be at least 1");
    bias_ = r.get_bool("bias", true);
    r.finish();
    if (out_c_ % groups_ != 0) {
      r.fail("groups", "output channels " + std::to_string(out_c_) + " are not divisible by it");
    }
    // As PyTorch: extra rows beyond what the last input row reaches stay below one stride (or
    // one dilation step), else they would be rows no input could ever reach.
    if (output_pad_h_ >= std::max(stride_h_, dilation_h_)) {
      r.fail(r.has("output_pad_h") ? "output_pad_h" : "output_pad",
             "output padding must be less than the stride or the dilation");
    }
    if (output_pad_w_ >= std::max(stride_w_, dilation_w_)) {
      r.fail(r.has("output_pad_w") ? "output_pad_w" : "output_pad",
             "output padding must be less than the stride or the dilation");
    }
  }

  std::string_view op() const override { return "convtranspose"; }
  // Each output position reads inputs at a fractional stride, which AxisWindow cannot say.
  SpatialWindow window() const override { return {.local = false}; }

  ConvGeometry geometry(const Shape& in) const {
    return conv_transpose_geometry(
        {.in_c = in.c, .in_h = in.h, .in_w = in.w, .out_c = out_c_, .kernel_h = kernel_h_,
         .kernel_w = kernel_w_, .stride_h = stride_h_, .stride_w = stride_w_,
         .pad_top = pad_top_, .pad_left = pad_left_, .pad_bottom = pad_bottom_,
         .pad_right = pad_right_, .output_pad_h = output_pad_h_, .output_pad_w = output_pad_w_,
         .dilation_h = dilation_h_, .dilation_w = dilation_w_, .groups = groups_});
  }

  Shape infer_shape(std::span<const Shape> in) const override {
    if (in[0].c % groups_ != 0) {
      throw ShapeError("input has " + std::to_string(in[0].c) +
                       " channels, not divisible by groups=" + std::to_string(groups_));
    }
    // In doubles: a fuzzed kernel size must not overflow the sizes planned from it.
    const double weights = static_cast<double>(in[0].c) * (out_c_ / groups_) * kernel_h_ * kernel_w_;
    const double reach_h = static_cast<double>(in[0].h) * stride_h_ + static_cast<double>(kernel_h_) * dilation_h_;
    const double reach_w = static_cast<double>(in[0].w) * stride_w_ + static_cast<double>(kernel_w_) * dilation_w_;
    if (weights > 0x1p40 || reach_h > 0x1p30 || reach_w > 0x1p30) {
      throw ShapeError("a " + std::to_string(kernel_h_) + "x" + std::to_string(kernel_w_) +
                       " transposed kernel over " + in[0].str() + " is too large");
    }
    const ConvGeometry g = geometry(in[0]);
    if (g.in_h <= 0 || g.in_w <= 0) {
      throw ShapeError("padding " + std::to_string(pad_top_) + "," + std::to_string(pad_left_) +
                       "," + std::to_string(pad_bottom_) + "," + std::to_string(pad_right_) +
                       " (top, left, bottom, right) removes the whole output of a " +
                       std::to_string(kernel_h_) + "x" + std::to_string(kernel_w_) +
                       " transposed kernel over the input " + in[0].str());
    }
    return {out_c_, g.in_h, g.in_w};
  }

  // PyTorch's init bound 1/sqrt(fan_in) takes fan_in from the weight's second axis:
  // OUT / groups * kH * kW.
  std::vector<ParamSpec> params(std::span<const Shape> in) const override {
    const int64_t fan_in = out_c_ / groups_ * kernel_h_ * kernel_w_;
    std::vector<ParamSpec> specs = {{.name = "weight", .n_elems = in[0].c * fan_in, .fan_in = fan_in}};
    if (bias_) specs.push_back({.name = "bias", .n_elems = out_c_, .fan_in = fan_in});
    return specs;
  }

  LayerNeeds describe(const PlanContext& ctx) const override {
    const ConvGeometry g = geometry(ctx.in[0]);
    LayerNeeds needs;
    needs.saves_input = ctx.param_grads;  // only d_weights reads the input
    needs.tile = conv_tile_rows(g, ctx.conv_tile_bytes);
    needs.workspace_bytes =
        conv_transpose_workspace_floats(g, needs.tile) * static_cast<int64_t>(sizeof(float));
    return needs;
  }

  void forward(const StepArgs& a) const override {
    conv_transpose_forward_gemm(*a.pool, geometry(a.in_shape[0]), a.batch, a.src[0], a.params[0],
                                bias_ ? a.params[1] : nullptr, a.dst,
                                reinterpret_cast<float*>(a.workspace.data()), a.tile);
  }

  void backward(const StepArgs& a) const override {
    conv_transpose_backward_gemm(*a.pool, geometry(a.in_shape[0]), a.batch, a.src[0], a.params[0],
                                 a.d_dst, a.d_src[0], a.d_src_accumulate[0], a.d_params[0],
                                 bias_ ? a.d_params[1] : nullptr,
                                 reinterpret_cast<float*>(a.workspace.data()), a.tile);
  }

 private:
  int64_t out_c_ = 1;
  int kernel_h_ = 1, kernel_w_ = 1, stride_h_ = 1, stride_w_ = 1, dilation_h_ = 1, dilation_w_ = 1;
  int pad_top_ = 0, pad_left_ = 0, pad_bottom_ = 0, pad_right_ = 0;
  int output_pad_h_ = 0, output_pad_w_ = 0;
  int groups_ = 1;
  bool bias_ = true;
};

}  // namespace

std::unique_ptr<Layer> make_ConvTranspose(const LayerSpec& spec) {
  return std::make_unique<ConvTranspose>(spec);
}

}  // namespace footprint
