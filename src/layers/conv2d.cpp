// conv OUT k=K [stride=1] [pad=0] [dilation=1] [groups=1] [bias=true]: 2-D convolution by GEMM
// over im2col tiles (src/kernels/conv/conv_gemm.cpp), whose rows the planner picks, or for 3x3
// stride-1 layers with few channels by direct loops that need no workspace (conv_direct.cpp).
// Per-axis overrides (kh kw stride_h stride_w dilation_h dilation_w pad_top pad_left pad_bottom
// pad_right) take what ONNX models use: rectangular kernels and asymmetric (SAME) padding.
#include "core/thread_pool.hpp"
#include "footprint/error.hpp"
#include "kernels/conv/conv_depthwise.hpp"
#include "kernels/conv/conv_direct.hpp"
#include "kernels/conv/conv_winograd.hpp"
#include "kernels/conv/conv_gemm.hpp"
#include "layers/attr_reader.hpp"
#include "layers/conv_tile.hpp"
#include "layers/layer.hpp"

namespace footprint {
namespace {

// The plan's per-layer algorithm number: one bit per pass that runs the direct 3x3 loops, and
// one for depthwise layers, which run every pass by conv_depthwise.cpp's loops.
constexpr int kDepthwise = 8;
constexpr int kWinogradForward = 16;  // the forward pass by Winograd F(4x4, 3x3)
constexpr int kWinogradData = 32;     // the data gradient by Winograd

// Where Winograd pays (winograd_pays below).
constexpr int64_t kWinogradMinTiles = 64;
constexpr int64_t kWinogradFullVectorTiles = 8;  // a row of tiles fills the transforms' vectors
int encode(const ConvPaths& p) {
  return (p.forward ? 1 : 0) | (p.weight_grad ? 2 : 0) | (p.data_grad ? 4 : 0);
}
ConvPaths decode(int algorithm) {
  return {.forward = (algorithm & 1) != 0, .weight_grad = (algorithm & 2) != 0,
          .data_grad = (algorithm & 4) != 0};
}

class Conv2d final : public Layer {
 public:
  explicit Conv2d(const LayerSpec& spec) {
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
    const int dilation = r.get_int("dilation", 1, 1, "dilation must be at least 1");
    dilation_h_ = r.get_int("dilation_h", dilation, 1, "dilation must be at least 1");
    dilation_w_ = r.get_int("dilation_w", dilation, 1, "dilation must be at least 1");
    groups_ = r.get_int("groups", 1, 1, "groups must be at least 1");
    bias_ = r.get_bool("bias", true);
    r.finish();
    if (out_c_ % groups_ != 0) {
      r.fail("groups", "output channels " + std::to_string(out_c_) + " are not divisible by it");
    }
  }

  std::string_view op() const override { return "conv"; }
  SpatialWindow window() const override {
    return {.h = {.kernel = kernel_h_, .stride = stride_h_, .pad_before = pad_top_,
                  .dilation = dilation_h_},
            .w = {.kernel = kernel_w_, .stride = stride_w_, .pad_before = pad_left_,
                  .dilation = dilation_w_}};
  }

  ConvGeometry geometry(const Shape& in) const {
    ConvGeometry g;
    g.in_c = in.c, g.in_h = in.h, g.in_w = in.w;
    g.out_c = out_c_;
    g.kernel_h = kernel_h_, g.kernel_w = kernel_w_;
    g.stride_h = stride_h_, g.stride_w = stride_w_;
    g.pad_top = pad_top_, g.pad_left = pad_left_;
    g.dilation_h = dilation_h_, g.dilation_w = dilation_w_;
    g.groups = groups_;
    g.out_h = conv_out_size(in.h, kernel_h_, stride_h_, pad_top_, pad_bottom_, dilation_h_);
    g.out_w = conv_out_size(in.w, kernel_w_, stride_w_, pad_left_, pad_right_, dilation_w_);
    return g;
  }

  Shape infer_shape(std::span<const Shape> in) const override {
    if (in[0].c % groups_ != 0) {
      throw ShapeError("input has " + std::to_string(in[0].c) +
                       " channels, not divisible by groups=" + std::to_string(groups_));
    }
    // In doubles: a fuzzed kernel size must not overflow the sizes planned from it.
    const double weights = static_cast<double>(in[0].c / groups_) * kernel_h_ * kernel_w_ * out_c_;
    if (weights > 0x1p40 || static_cast<double>(kernel_h_) * dilation_h_ > 0x1p30 ||
        static_cast<double>(kernel_w_) * dilation_w_ > 0x1p30) {
      throw ShapeError("a " + std::to_string(kernel_h_) + "x" + std::to_string(kernel_w_) +
                       " kernel over " + std::to_string(in[0].c) + " channels is too large");
    }
    ConvGeometry g = geometry(in[0]);
    if (g.out_h <= 0 || g.out_w <= 0) {
      // Per-axis figures only when they differ, so the common message stays short.
      const bool square_dilation = dilation_h_ == dilation_w_;
      const bool same_pads = pad_top_ == pad_left_ && pad_top_ == pad_bottom_ && pad_top_ == pad_right_;
      throw ShapeError(
          "a " + std::to_string(kernel_h_) + "x" + std::to_string(kernel_w_) + " kernel (dilation " +
          (square_dilation ? std::to_string(dilation_h_)
                           : std::to_string(dilation_h_) + "x" + std::to_string(dilation_w_)) +
          ", pad " +
          (same_pads ? std::to_string(pad_top_)
                     : std::to_string(pad_top_) + "," + std::to_string(pad_left_) + "," +
                           std::to_string(pad_bottom_) + "," + std::to_string(pad_right_) +
                           " (top, left, bottom, right)") +
          ") does not fit the input " + in[0].str());
    }
    return {out_c_, g.out_h, g.out_w};
  }

  std::vector<ParamSpec> params(std::span<const Shape> in) const override {
    const int64_t fan_in = in[0].c / groups_ * kernel_h_ * kernel_w_;
    std::vector<ParamSpec> specs = {{.name = "weight", .n_elems = out_c_ * fan_in, .fan_in = fan_in}};
    if (bias_) specs.push_back({.name = "bias", .n_elems = out_c_, .fan_in = fan_in});
    return specs;
  }

  LayerNeeds describe(const PlanContext& ctx) const override {
    const ConvGeometry g = geometry(ctx.in[0]);
    ConvPaths direct = ctx.direct_conv ? choose_conv_paths(g) : ConvPaths{};
    const bool train = ctx.mode == Mode::train;
    LayerNeeds needs{.strided_src = true, .strided_dst = true};  // the kernels take sample strides
    needs.saves_input = ctx.param_grads;  // only d_weights reads the input
    needs.forward_flops = 2 * ctx.batch * ctx.out.n_elems() * g.col_rows();
    if (ctx.direct_conv && conv_depthwise_applies(g)) {
      needs.algorithm = kDepthwise;  // direct loops per channel: no workspace at all
      needs.path = "depthwise";
      return needs;
    }
    // Winograd, where it pays, takes the forward pass and the data gradient from both other
    // paths (the weight gradient stays with the direct loops or the GEMM), within the bytes
    // the layer's GEMM tile would take: it costs no memory. A layer whose every pass runs the
    // direct loops, with no workspace at all, keeps them.
    const bool gemm_without_winograd = !direct.forward ||
                                       (train && ctx.param_grads && !direct.weight_grad) ||
                                       (train && ctx.input_grads && !direct.data_grad);
    const int64_t gemm_bytes = conv_gemm_workspace_floats(g, conv_tile_rows(g, ctx.conv_tile_bytes)) *
                               static_cast<int64_t>(sizeof(float));
    const WinogradBlocking blocking =
        ctx.winograd_conv && gemm_without_winograd && winograd_pays(g, ctx.batch)
            ? conv_winograd_blocking(g, ctx.batch, ctx.threads, gemm_bytes)
            : WinogradBlocking{};
    const bool winograd = blocking.group > 0;
    const bool winograd_data = winograd && train && ctx.input_grads;
    if (winograd) direct.forward = false;
    if (winograd_data) direct.data_grad = false;
    needs.algorithm = encode(direct) | (winograd ? kWinogradForward : 0) |
                      (winograd_data ? kWinogradData : 0);  // the runtime follows the plan
    const bool gemm_needed = (!direct.forward && !winograd) ||
                             (train && ctx.param_grads && !direct.weight_grad) ||
                             (train && ctx.input_grads && !direct.data_grad && !winograd_data);
    int64_t workspace = 0;
    if (gemm_needed) {
      needs.tile = conv_tile_rows(g, ctx.conv_tile_bytes);
      workspace = gemm_bytes;
    }
    if (winograd) {
      workspace = std::max(workspace, conv_winograd_workspace_floats(g, blocking, ctx.threads) *
                                          static_cast<int64_t>(sizeof(float)));
    }
    needs.workspace_bytes = workspace;
    needs.path = path_name(direct, winograd, winograd_data, train, ctx);
    return needs;
  }

  // LayerNeeds::path: one name, or the forward pass's and the weight gradient's where they
  // differ (the data gradient runs the forward pass's path whenever it can).
  static std::string path_name(const ConvPaths& direct, bool winograd, bool winograd_data,
                               bool train, const PlanContext& ctx) {
    const char* forward = winograd ? "winograd" : direct.forward ? "direct" : "gemm";
    if (!train || !ctx.param_grads) return forward;
    const char* weights = direct.weight_grad ? "direct" : "gemm";
    const char* data = winograd_data ? "winograd" : direct.data_grad ? "direct" : "gemm";
    std::string name = forward;
    if (ctx.input_grads && std::string(data) != forward) name += std::string("+") + data;
    if (std::string(weights) != forward) name += std::string("+") + weights;
    return name;
  }

  // Where Winograd F(4x4, 3x3) is the fastest path, as bench/winograd.sh measured it
  // (docs/design.md, "Convolution paths"). Per tile, its products grow with in_c * out_c and its
  // transforms with in_c + out_c, and the transforms run eight tiles of a row at once, so rows
  // of fewer tiles take their slower one-by-one loop: it pays when in_c * out_c / (in_c + out_c)
  // is at least 16 (24 -> 48 channels), or 32 (64 -> 64) over images narrower than 32 columns.
  // Each call transforms all the filters, which pays only over kWinogradMinTiles tiles or more.
  static bool winograd_pays(const ConvGeometry& g, int64_t batch) {
    const int64_t tiles_w = (g.out_w + 3) / 4;
    const int64_t tiles = batch * ((g.out_h + 3) / 4) * tiles_w;
    const int64_t needed = tiles_w >= kWinogradFullVectorTiles ? 16 : 32;
    return conv_winograd_applies(g) && g.in_c * g.out_c >= needed * (g.in_c + g.out_c) &&
           tiles >= kWinogradMinTiles;
  }

  // Winograd's blocking: the one describe() chose, which is the first of its search that the
  // step's workspace holds.
  static WinogradBlocking winograd_blocking(const ConvGeometry& g, const StepArgs& a) {
    return conv_winograd_blocking(g, a.batch, a.pool->size(),
                                  static_cast<int64_t>(a.workspace.size()));
  }

  // The geometry of one step, with the sample strides of its tensors.
  ConvGeometry step_geometry(const StepArgs& a) const {
    ConvGeometry g = geometry(a.in_shape[0]);
    g.src_sample_stride = a.src_stride[0];
    g.dst_sample_stride = a.dst_stride;
    return g;
  }

  // An epilogue (StepArgs::epilogue) goes over each piece of output as the depthwise and GEMM
  // paths write it, and over the finished planes after Winograd and the direct loops.
  void forward(const StepArgs& a) const override {
    const ConvGeometry g = step_geometry(a);
    const float* bias = bias_ ? a.params[1] : nullptr;
    if (a.algorithm == kDepthwise) {
      conv_forward_depthwise(*a.pool, g, a.batch, a.src[0], a.params[0], bias, a.dst, a.epilogue);
      return;
    }
    if (a.algorithm & kWinogradForward) {
      conv_forward_winograd(*a.pool, g, a.batch, a.src[0], a.params[0], bias, a.dst,
                            reinterpret_cast<float*>(a.workspace.data()), winograd_blocking(g, a));
      apply_epilogue_to_planes(a, g);
      return;
    }
    if (decode(a.algorithm).forward) {
      conv_forward_direct(*a.pool, g, a.batch, a.src[0], a.params[0], bias, a.dst);
      apply_epilogue_to_planes(a, g);
      return;
    }
    conv_forward_gemm(*a.pool, g, a.batch, a.src[0], a.params[0], bias, a.dst,
                      reinterpret_cast<float*>(a.workspace.data()), a.tile,
                      /*accumulate_dst=*/false, a.epilogue);
  }

  static void apply_epilogue_to_planes(const StepArgs& a, const ConvGeometry& g) {
    if (!a.epilogue) return;
    const int64_t plane = g.out_h * g.out_w;
    a.pool->parallel_for(a.batch * g.out_c, [&](int64_t begin, int64_t end, int) {
      for (int64_t p = begin; p < end; ++p) {
        const int64_t n = p / g.out_c, c = p % g.out_c;
        a.epilogue->apply(c, a.dst + n * a.dst_stride + c * plane, plane);
      }
    }, std::max<int64_t>(1, 16384 / std::max<int64_t>(1, plane)));
  }

  void backward(const StepArgs& a) const override {
    const ConvGeometry g = step_geometry(a);
    const ConvPaths direct = decode(a.algorithm);
    float* d_weights = a.d_params[0];
    float* d_bias = bias_ ? a.d_params[1] : nullptr;
    float* d_src = a.d_src[0];
    if (a.algorithm == kDepthwise) {
      conv_backward_depthwise(*a.pool, g, a.batch, a.src[0], a.params[0], a.d_dst, d_src,
                              a.d_src_accumulate[0], d_weights, d_bias);
      return;
    }
    if ((a.algorithm & kWinogradData) && d_src) {
      conv_data_grad_winograd(*a.pool, g, a.batch, a.params[0], a.d_dst, d_src,
                              a.d_src_accumulate[0], reinterpret_cast<float*>(a.workspace.data()),
                              winograd_blocking(g, a));
      d_src = nullptr;  // done; the GEMM below does the weight and bias gradients
    }
    // Each output goes to the path chosen for it; the bias gradient goes with the first call.
    float* direct_d_weights = direct.weight_grad ? d_weights : nullptr;
    float* direct_d_src = direct.data_grad ? d_src : nullptr;
    if (direct_d_weights || direct_d_src) {
      conv_backward_direct(*a.pool, g, a.batch, a.src[0], a.params[0], a.d_dst, direct_d_src,
                           a.d_src_accumulate[0], direct_d_weights, d_bias);
      d_bias = nullptr;
    }
    float* gemm_d_weights = direct.weight_grad ? nullptr : d_weights;
    float* gemm_d_src = direct.data_grad ? nullptr : d_src;
    if (gemm_d_weights || gemm_d_src || d_bias) {
      conv_backward_gemm(*a.pool, g, a.batch, a.src[0], a.params[0], a.d_dst, gemm_d_src,
                         a.d_src_accumulate[0], gemm_d_weights, d_bias,
                         reinterpret_cast<float*>(a.workspace.data()), a.tile);
    }
  }

 private:
  int64_t out_c_ = 1;
  int kernel_h_ = 1, kernel_w_ = 1, stride_h_ = 1, stride_w_ = 1, dilation_h_ = 1, dilation_w_ = 1;
  int pad_top_ = 0, pad_left_ = 0, pad_bottom_ = 0, pad_right_ = 0;
  int groups_ = 1;
  bool bias_ = true;
};

}  // namespace

std::unique_ptr<Layer> make_Conv2d(const LayerSpec& spec) { return std::make_unique<Conv2d>(spec); }

}  // namespace footprint
