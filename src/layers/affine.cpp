// affine [bias=true]: y = weight[c] * x + bias[c] with trained per-channel weight (ones) and bias
// (zeros): what an ONNX Mul or Add by a per-channel constant becomes when no conv can absorb it.
// Keeps its input for the weight gradient (weight may be 0, so y does not give x back).
#include <algorithm>

#include "core/thread_pool.hpp"
#include "kernels/eltwise/sum_lanes.hpp"
#include "layers/attr_reader.hpp"
#include "layers/layer.hpp"

namespace footprint {
namespace {

class Affine final : public Layer {
 public:
  explicit Affine(const LayerSpec& spec) {
    AttrReader r(spec);
    r.no_arg();
    bias_ = r.get_bool("bias", true);
    r.finish();
  }
  std::string_view op() const override { return "affine"; }
  Shape infer_shape(std::span<const Shape> in) const override { return in[0]; }

  std::vector<ParamSpec> params(std::span<const Shape> in) const override {
    std::vector<ParamSpec> specs = {{.name = "weight", .n_elems = in[0].c, .init = ParamInit::ones}};
    if (bias_) specs.push_back({.name = "bias", .n_elems = in[0].c, .init = ParamInit::zeros});
    return specs;
  }

  // Only the weight gradient reads x. In place is safe: the planner never lets the output
  // overwrite an input that a backward step keeps, and backward computes the parameter sums
  // from d_dst before it overwrites d_dst with d_src.
  LayerNeeds describe(const PlanContext& ctx) const override {
    return {.saves_input = ctx.param_grads, .may_run_in_place = true};
  }

  // Threads take planes (n, c); src may equal dst.
  void forward(const StepArgs& a) const override {
    const int64_t channels = a.out_shape.c, plane = a.out_shape.h * a.out_shape.w;
    const float* weight = a.params[0];
    const float* bias = bias_ ? a.params[1] : nullptr;
    a.pool->parallel_for(a.batch * channels, [&](int64_t begin, int64_t end, int) {
      for (int64_t p = begin; p < end; ++p) {
        const int64_t c = p % channels;
        const float w = weight[c], b = bias ? bias[c] : 0.0f;
        const float* x = a.src[0] + p * plane;
        float* y = a.dst + p * plane;
        for (int64_t i = 0; i < plane; ++i) y[i] = w * x[i] + b;
      }
    }, /*min_grain=*/std::max<int64_t>(1, 16384 / plane));
  }

  void backward(const StepArgs& a) const override {
    const int64_t channels = a.out_shape.c, plane = a.out_shape.h * a.out_shape.w;
    float* d_weight = a.d_params[0];
    float* d_bias = bias_ ? a.d_params[1] : nullptr;
    const float* g = a.d_dst;
    if (d_weight || d_bias) {
      a.pool->parallel_for(channels, [&](int64_t begin, int64_t end, int) {
        for (int64_t c = begin; c < end; ++c) {
          double sum_g = 0.0, sum_g_x = 0.0;
          for (int64_t n = 0; n < a.batch; ++n) {
            const float* gc = g + (n * channels + c) * plane;
            const float* xc = a.src[0] + (n * channels + c) * plane;
            if (d_bias) sum_g += sum_lanes(plane, [&](int64_t i) { return gc[i]; });
            if (d_weight) sum_g_x += sum_lanes(plane, [&](int64_t i) { return gc[i] * xc[i]; });
          }
          if (d_weight) d_weight[c] = static_cast<float>(sum_g_x);
          if (d_bias) d_bias[c] = static_cast<float>(sum_g);
        }
      }, /*min_grain=*/std::max<int64_t>(1, 16384 / std::max<int64_t>(1, a.batch * plane)));
    }
    float* d_src = a.d_src[0];
    if (!d_src) return;
    const bool accumulate = a.d_src_accumulate[0];
    const float* weight = a.params[0];
    a.pool->parallel_for(a.batch * channels, [&](int64_t begin, int64_t end, int) {
      for (int64_t p = begin; p < end; ++p) {
        const float w = weight[p % channels];
        const float* gp = g + p * plane;
        float* d = d_src + p * plane;
        if (accumulate) {
          for (int64_t i = 0; i < plane; ++i) d[i] += w * gp[i];
        } else {
          for (int64_t i = 0; i < plane; ++i) d[i] = w * gp[i];
        }
      }
    }, /*min_grain=*/std::max<int64_t>(1, 16384 / plane));
  }

 private:
  bool bias_ = true;
};

}  // namespace

std::unique_ptr<Layer> make_Affine(const LayerSpec& spec) { return std::make_unique<Affine>(spec); }

}  // namespace footprint
