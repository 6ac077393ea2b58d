// layernorm [eps=1e-5] [affine=true]: normalises over the channels at each position (n, h, w),
// as ConvNeXt's LayerNorm2d and a channels-last LayerNormalization do, with the biased variance
// (as PyTorch); then weight[c] * x + bias[c] when affine. Each position stands alone, so the
// layer tiles like a 1x1 conv. Saves its input and, compactly, each position's mean and 1/std.
#include <algorithm>
#include <cmath>

#include "core/thread_pool.hpp"
#include "kernels/eltwise/sum_lanes.hpp"
#include "layers/attr_reader.hpp"
#include "layers/layer.hpp"

namespace footprint {
namespace {

// Positions handled together: their per-position sums sit in arrays on the stack, so the loop
// over a channel's plane runs along contiguous memory.
constexpr int64_t kBlock = 64;

class LayerNorm final : public Layer {
 public:
  explicit LayerNorm(const LayerSpec& spec) {
    AttrReader r(spec);
    r.no_arg();
    eps_ = r.get_float("eps", 1e-5f);
    affine_ = r.get_bool("affine", true);
    r.finish();
    if (eps_ <= 0.0f) r.fail("eps", "eps must be greater than 0");
  }
  std::string_view op() const override { return "layernorm"; }
  Shape infer_shape(std::span<const Shape> in) const override { return in[0]; }

  std::vector<ParamSpec> params(std::span<const Shape> in) const override {
    if (!affine_) return {};
    const int64_t c = in[0].c;
    return {{.name = "weight", .n_elems = c, .init = ParamInit::ones},
            {.name = "bias", .n_elems = c, .init = ParamInit::zeros}};
  }

  LayerNeeds describe(const PlanContext& ctx) const override {
    LayerNeeds needs;
    if (ctx.mode == Mode::train) {
      needs.saves_input = true;
      const int64_t positions = ctx.batch * ctx.in[0].h * ctx.in[0].w;
      needs.saved.push_back({.name = "position_stats",
                             .size_bytes = 2 * positions * static_cast<int64_t>(sizeof(float))});
    }
    return needs;
  }

  // saved[0]: [mean[N * H * W], inv_std[N * H * W]] of the last training forward.
  void forward(const StepArgs& a) const override {
    const int64_t channels = a.in_shape[0].c, plane = a.in_shape[0].h * a.in_shape[0].w;
    const int64_t blocks_per_sample = (plane + kBlock - 1) / kBlock;
    const int64_t positions = a.batch * plane;
    float* stats = a.training ? reinterpret_cast<float*>(a.saved[0]) : nullptr;
    const float* weight = affine_ ? a.params[0] : nullptr;
    const float* bias = affine_ ? a.params[1] : nullptr;
    const float inv_c = 1.0f / static_cast<float>(channels);
    a.pool->parallel_for(a.batch * blocks_per_sample, [&](int64_t begin, int64_t end, int) {
      for (int64_t blk = begin; blk < end; ++blk) {
        const int64_t n = blk / blocks_per_sample, p0 = blk % blocks_per_sample * kBlock;
        const int64_t len = std::min(kBlock, plane - p0);
        const float* x = a.src[0] + n * channels * plane + p0;
        float* y = a.dst + n * channels * plane + p0;
        float mean[kBlock] = {}, var[kBlock] = {};
        for (int64_t c = 0; c < channels; ++c)
          for (int64_t i = 0; i < len; ++i) mean[i] += x[c * plane + i];
        for (int64_t i = 0; i < len; ++i) mean[i] *= inv_c;
        for (int64_t c = 0; c < channels; ++c)
          for (int64_t i = 0; i < len; ++i) {
            const float centred = x[c * plane + i] - mean[i];
            var[i] += centred * centred;
          }
        float* inv_std = var;  // var is not needed once inv_std is known
        for (int64_t i = 0; i < len; ++i) inv_std[i] = 1.0f / std::sqrt(var[i] * inv_c + eps_);
        if (stats) {
          for (int64_t i = 0; i < len; ++i) {
            stats[n * plane + p0 + i] = mean[i];
            stats[positions + n * plane + p0 + i] = inv_std[i];
          }
        }
        for (int64_t c = 0; c < channels; ++c) {
          const float scale = weight ? weight[c] : 1.0f, shift = bias ? bias[c] : 0.0f;
          for (int64_t i = 0; i < len; ++i)
            y[c * plane + i] = (x[c * plane + i] - mean[i]) * inv_std[i] * scale + shift;
        }
      }
    }, /*min_grain=*/std::max<int64_t>(1, 16384 / (kBlock * channels)));
  }

  // With xhat = (x - mean) * inv_std and dxhat = g * weight[c]:
  //   d weight[c] = sum over positions of g xhat, d bias[c] = sum of g;
  //   dx = inv_std * (dxhat - mean_c(dxhat) - xhat * mean_c(dxhat * xhat)).
  // The parameter sums run per channel and the input gradient per block of positions, so every
  // thread owns what it writes.
  void backward(const StepArgs& a) const override {
    const int64_t channels = a.in_shape[0].c, plane = a.in_shape[0].h * a.in_shape[0].w;
    const int64_t positions = a.batch * plane;
    const float* stats = reinterpret_cast<const float*>(a.saved[0]);
    const float *mean = stats, *inv_std = stats + positions;
    const float* x = a.src[0];
    const float* g = a.d_dst;
    float* d_weight = affine_ ? a.d_params[0] : nullptr;
    float* d_bias = affine_ ? a.d_params[1] : nullptr;
    if (d_weight || d_bias) {
      a.pool->parallel_for(channels, [&](int64_t begin, int64_t end, int) {
        for (int64_t c = begin; c < end; ++c) {
          double sum_g = 0.0, sum_g_xhat = 0.0;
          for (int64_t n = 0; n < a.batch; ++n) {
            const float* xc = x + (n * channels + c) * plane;
            const float* gc = g + (n * channels + c) * plane;
            const float *m = mean + n * plane, *s = inv_std + n * plane;
            sum_g += sum_lanes(plane, [&](int64_t i) { return gc[i]; });
            sum_g_xhat += sum_lanes(plane, [&](int64_t i) { return gc[i] * (xc[i] - m[i]) * s[i]; });
          }
          if (d_weight) d_weight[c] = static_cast<float>(sum_g_xhat);
          if (d_bias) d_bias[c] = static_cast<float>(sum_g);
        }
      }, /*min_grain=*/std::max<int64_t>(1, 16384 / std::max<int64_t>(1, positions)));
    }
    float* d_src = a.d_src[0];
    if (!d_src) return;
    const bool accumulate = a.d_src_accumulate[0];
    const float* weight = affine_ ? a.params[0] : nullptr;
    const float inv_c = 1.0f / static_cast<float>(channels);
    const int64_t blocks_per_sample = (plane + kBlock - 1) / kBlock;
    a.pool->parallel_for(a.batch * blocks_per_sample, [&](int64_t begin, int64_t end, int) {
      for (int64_t blk = begin; blk < end; ++blk) {
        const int64_t n = blk / blocks_per_sample, p0 = blk % blocks_per_sample * kBlock;
        const int64_t len = std::min(kBlock, plane - p0);
        const int64_t base = n * channels * plane + p0;
        const float *m = mean + n * plane + p0, *s = inv_std + n * plane + p0;
        float mean_dxhat[kBlock] = {}, mean_dxhat_xhat[kBlock] = {};
        for (int64_t c = 0; c < channels; ++c) {
          const float w = weight ? weight[c] : 1.0f;
          const float *xc = x + base + c * plane, *gc = g + base + c * plane;
          for (int64_t i = 0; i < len; ++i) {
            const float dxhat = gc[i] * w;
            mean_dxhat[i] += dxhat;
            mean_dxhat_xhat[i] += dxhat * (xc[i] - m[i]) * s[i];
          }
        }
        for (int64_t i = 0; i < len; ++i) {
          mean_dxhat[i] *= inv_c;
          mean_dxhat_xhat[i] *= inv_c;
        }
        for (int64_t c = 0; c < channels; ++c) {
          const float w = weight ? weight[c] : 1.0f;
          const float *xc = x + base + c * plane, *gc = g + base + c * plane;
          float* dc = d_src + base + c * plane;
          for (int64_t i = 0; i < len; ++i) {
            const float xhat = (xc[i] - m[i]) * s[i];
            const float dx = s[i] * (gc[i] * w - mean_dxhat[i] - xhat * mean_dxhat_xhat[i]);
            dc[i] = accumulate ? dc[i] + dx : dx;
          }
        }
      }
    }, /*min_grain=*/std::max<int64_t>(1, 16384 / (kBlock * channels)));
  }

 private:
  float eps_ = 1e-5f;
  bool affine_ = true;
};

}  // namespace

std::unique_ptr<Layer> make_LayerNorm(const LayerSpec& spec) {
  return std::make_unique<LayerNorm>(spec);
}

}  // namespace footprint
