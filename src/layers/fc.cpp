// fc OUT [bias=true]: fully connected over the flattened sample, one GEMM for the whole batch.
// weight [OUT, C*H*W].
#include "footprint/error.hpp"
#include "kernels/gemm/gemm.hpp"
#include "core/thread_pool.hpp"
#include "layers/attr_reader.hpp"
#include "layers/layer.hpp"

namespace footprint {
namespace {

class FullyConnected final : public Layer {
 public:
  explicit FullyConnected(const LayerSpec& spec) {
    AttrReader r(spec);
    out_ = r.arg_int("output size", 1);
    bias_ = r.get_bool("bias", true);
    r.finish();
  }
  std::string_view op() const override { return "fc"; }
  SpatialWindow window() const override { return {.local = false}; }
  Shape infer_shape(std::span<const Shape> in) const override {
    if (static_cast<double>(in[0].n_elems()) * static_cast<double>(out_) > 0x1p40) {
      throw ShapeError(std::to_string(in[0].n_elems()) + " inputs x " + std::to_string(out_) +
                       " outputs is more than 2^40 weights");
    }
    return {out_, 1, 1};
  }

  std::vector<ParamSpec> params(std::span<const Shape> in) const override {
    const int64_t fan_in = in[0].n_elems();
    std::vector<ParamSpec> specs = {{.name = "weight", .n_elems = out_ * fan_in, .fan_in = fan_in}};
    if (bias_) specs.push_back({.name = "bias", .n_elems = out_, .fan_in = fan_in});
    return specs;
  }

  LayerNeeds describe(const PlanContext& ctx) const override {
    return {.saves_input = true, .forward_flops = 2 * ctx.batch * out_ * ctx.in[0].n_elems()};
  }

  void forward(const StepArgs& a) const override {
    const int64_t in = a.in_shape[0].n_elems();
    // [N, out] = [N, in] x [out, in]^T
    gemm_blas(*a.pool, {.trans_b = true, .m = a.batch, .n = out_, .k = in, .lda = in, .ldb = in,
                        .ldc = out_}, 1.0f, a.src[0], a.params[0], 0.0f, a.dst);
    if (bias_) {
      for (int64_t n = 0; n < a.batch; ++n)
        for (int64_t o = 0; o < out_; ++o) a.dst[n * out_ + o] += a.params[1][o];
    }
  }

  void backward(const StepArgs& a) const override {
    const int64_t in = a.in_shape[0].n_elems();
    if (a.d_params[0]) {  // [out, in] = [N, out]^T x [N, in]
      gemm_blas(*a.pool, {.trans_a = true, .m = out_, .n = in, .k = a.batch, .lda = out_,
                          .ldb = in, .ldc = in}, 1.0f, a.d_dst, a.src[0], 0.0f, a.d_params[0]);
    }
    if (bias_ && a.d_params[1]) {
      for (int64_t o = 0; o < out_; ++o) {
        float sum = 0.0f;
        for (int64_t n = 0; n < a.batch; ++n) sum += a.d_dst[n * out_ + o];
        a.d_params[1][o] = sum;
      }
    }
    if (a.d_src[0]) {  // [N, in] (+)= [N, out] x [out, in]
      gemm_blas(*a.pool, {.m = a.batch, .n = in, .k = out_, .lda = out_, .ldb = in, .ldc = in},
                1.0f, a.d_dst, a.params[0], a.d_src_accumulate[0] ? 1.0f : 0.0f, a.d_src[0]);
    }
  }

 private:
  int64_t out_ = 1;
  bool bias_ = true;
};

}  // namespace

std::unique_ptr<Layer> make_FullyConnected(const LayerSpec& spec) {
  return std::make_unique<FullyConnected>(spec);
}

}  // namespace footprint
