// batchnorm [eps=1e-5] [momentum=0.1]: per-channel normalisation over N, H, W. Training uses the
// batch statistics and updates the running ones (unbiased variance, as PyTorch); eval uses the
// running ones. Saves its input and, compactly, each channel's mean and 1/std. In data-parallel
// training with synchronised batch norm (PlanOptions::sync_batch_norm) the statistics, and the
// sums backward needs, are those of the global batch: each rank's sums added over the ranks
// (StepArgs::rank_sums) between the step's parallel loops.
#include <cmath>

#include "core/thread_pool.hpp"
#include "kernels/eltwise/activation_fast.hpp"
#include "kernels/eltwise/sum_lanes.hpp"
#include "layers/attr_reader.hpp"
#include "layers/layer.hpp"

namespace footprint {
namespace {

class BatchNorm final : public Layer {
 public:
  explicit BatchNorm(const LayerSpec& spec) {
    AttrReader r(spec);
    r.no_arg();
    eps_ = r.get_float("eps", 1e-5f);
    momentum_ = r.get_float("momentum", 0.1f);
    r.finish();
    if (eps_ <= 0.0f) r.fail("eps", "eps must be greater than 0");
    if (momentum_ < 0.0f || momentum_ > 1.0f) r.fail("momentum", "momentum must be in [0, 1]");
  }
  std::string_view op() const override { return "batchnorm"; }
  float inference_inv_std(float running_var) const { return 1.0f / std::sqrt(running_var + eps_); }
  SpatialWindow window() const override { return {.local = false}; }
  Shape infer_shape(std::span<const Shape> in) const override { return in[0]; }

  std::vector<ParamSpec> params(std::span<const Shape> in) const override {
    const int64_t c = in[0].c;
    return {{.name = "weight", .n_elems = c, .init = ParamInit::ones},
            {.name = "bias", .n_elems = c, .init = ParamInit::zeros},
            {.name = "running_mean", .n_elems = c, .trainable = false, .init = ParamInit::zeros},
            {.name = "running_var", .n_elems = c, .trainable = false, .init = ParamInit::ones}};
  }

  LayerNeeds describe(const PlanContext& ctx) const override {
    // y = x * scale + shift, value by value, after the statistics are taken: src may be dst.
    // (Training keeps the input for backward, so only inference runs in place.)
    LayerNeeds needs{.may_run_in_place = true, .strided_src = true, .strided_dst = true};
    if (ctx.mode == Mode::train) {
      needs.saves_input = true;
      needs.saved.push_back({.name = "batch_stats",
                             .size_bytes = 2 * ctx.in[0].c * static_cast<int64_t>(sizeof(float))});
      // Per channel two sums, and the samples' count.
      if (ctx.sync_batch_norm) needs.rank_sum_doubles = 2 * ctx.in[0].c + 1;
    }
    return needs;
  }

  // The same arithmetic as forward's inference branch.
  bool channel_affine(const float* const* params, int64_t c, float& scale,
                      float& shift) const override {
    const float inv_std = inference_inv_std(params[3][c]);
    scale = params[0][c] * inv_std;
    shift = params[1][c] - params[2][c] * scale;
    return true;
  }

  // saved[0]: [mean[C], inv_std[C]] of the last training forward.
  void forward(const StepArgs& a) const override {
    if (a.training && a.rank_sums) return forward_synchronised(a);
    const int64_t channels = a.in_shape[0].c, plane = a.in_shape[0].h * a.in_shape[0].w;
    const float *gamma = a.params[0], *beta = a.params[1];
    float *running_mean = a.params[2], *running_var = a.params[3];
    float* stats = a.training ? reinterpret_cast<float*>(a.saved[0]) : nullptr;
    const int64_t count = a.batch * plane;
    a.pool->parallel_for(channels, [&](int64_t begin, int64_t end, int) {
      for (int64_t c = begin; c < end; ++c) {
        float mean, inv_std;
        if (a.training) {
          // Float sums per plane (vectorised), added across planes in double.
          double sum = 0.0, sum_sq = 0.0;
          for (int64_t n = 0; n < a.batch; ++n) {
            const float* x = a.src[0] + n * a.src_stride[0] + c * plane;
            sum += sum_lanes(plane, [&](int64_t i) { return x[i]; });
          }
          const double m = sum / static_cast<double>(count);
          const float m_f = static_cast<float>(m);
          for (int64_t n = 0; n < a.batch; ++n) {
            const float* x = a.src[0] + n * a.src_stride[0] + c * plane;
            sum_sq += sum_lanes(plane, [&](int64_t i) { return (x[i] - m_f) * (x[i] - m_f); });
          }
          const double var = sum_sq / static_cast<double>(count);
          mean = static_cast<float>(m);
          inv_std = static_cast<float>(1.0 / std::sqrt(var + eps_));
          stats[c] = mean;
          stats[channels + c] = inv_std;
          // A recompute sees the same batch again: the running statistics took it once.
          if (!a.recompute) {
            const double unbiased = count > 1 ? sum_sq / static_cast<double>(count - 1) : var;
            running_mean[c] = (1.0f - momentum_) * running_mean[c] + momentum_ * mean;
            running_var[c] =
                (1.0f - momentum_) * running_var[c] + momentum_ * static_cast<float>(unbiased);
          }
        } else {
          mean = running_mean[c];
          inv_std = inference_inv_std(running_var[c]);
        }
        const float scale = gamma[c] * inv_std, shift = beta[c] - mean * scale;
        for (int64_t n = 0; n < a.batch; ++n) {
          const float* x = a.src[0] + n * a.src_stride[0] + c * plane;
          float* y = a.dst + n * a.dst_stride + c * plane;
          scale_shift_fast(x, y, plane, scale, shift);
        }
      }
    });
  }

  void backward(const StepArgs& a) const override {
    if (a.rank_sums) return backward_synchronised(a);
    const int64_t channels = a.in_shape[0].c, plane = a.in_shape[0].h * a.in_shape[0].w;
    const float* gamma = a.params[0];
    const float* stats = reinterpret_cast<const float*>(a.saved[0]);
    const double count = static_cast<double>(a.batch * plane);
    a.pool->parallel_for(channels, [&](int64_t begin, int64_t end, int) {
      for (int64_t c = begin; c < end; ++c) {
        const float mean = stats[c], inv_std = stats[channels + c];
        double sum_dy = 0.0, sum_dy_xhat = 0.0;
        for (int64_t n = 0; n < a.batch; ++n) {
          const float* x = a.src[0] + n * a.src_stride[0] + c * plane;
          const float* dy = a.d_dst + n * a.dst_stride + c * plane;
          sum_dy += sum_lanes(plane, [&](int64_t i) { return dy[i]; });
          sum_dy_xhat += sum_lanes(plane, [&](int64_t i) { return dy[i] * (x[i] - mean); });
        }
        sum_dy_xhat *= inv_std;
        if (a.d_params[0]) a.d_params[0][c] = static_cast<float>(sum_dy_xhat);
        if (a.d_params[1]) a.d_params[1][c] = static_cast<float>(sum_dy);
        if (!a.d_src[0]) continue;
        input_gradient(a, c, gamma[c] * inv_std, mean, inv_std, static_cast<float>(sum_dy / count),
                       static_cast<float>(sum_dy_xhat / count));
      }
    });
  }

 private:
  // Channel c's input gradient for every sample, dx = k (dy - mean(dy) - x_hat mean(dy x_hat)),
  // written, or added when another reader of the input wrote its gradient first.
  static void input_gradient(const StepArgs& a, int64_t c, float k, float mean, float inv_std,
                             float mean_dy, float mean_dy_xhat) {
    const int64_t plane = a.in_shape[0].h * a.in_shape[0].w;
    for (int64_t n = 0; n < a.batch; ++n) {
      const float* x = a.src[0] + n * a.src_stride[0] + c * plane;
      const float* dy = a.d_dst + n * a.dst_stride + c * plane;
      float* dx = a.d_src[0] + n * a.src_stride[0] + c * plane;
      if (a.d_src_accumulate[0]) {  // two loops, so each vectorises
        for (int64_t i = 0; i < plane; ++i)
          dx[i] += k * (dy[i] - mean_dy - (x[i] - mean) * inv_std * mean_dy_xhat);
      } else {
        for (int64_t i = 0; i < plane; ++i)
          dx[i] = k * (dy[i] - mean_dy - (x[i] - mean) * inv_std * mean_dy_xhat);
      }
    }
  }

  // The statistics of the global batch: this rank's per-channel sums (and its count) added over
  // the ranks, then the squared deviations from the global mean likewise; the same arithmetic
  // as one process's, summed in another order.
  void forward_synchronised(const StepArgs& a) const {
    const int64_t channels = a.in_shape[0].c, plane = a.in_shape[0].h * a.in_shape[0].w;
    const float *gamma = a.params[0], *beta = a.params[1];
    float *running_mean = a.params[2], *running_var = a.params[3];
    float* stats = reinterpret_cast<float*>(a.saved[0]);
    const std::span<double> v = a.rank_sums->values();
    auto plane_of = [&](int64_t n, int64_t c) { return a.src[0] + n * a.src_stride[0] + c * plane; };
    a.pool->parallel_for(channels, [&](int64_t begin, int64_t end, int) {
      for (int64_t c = begin; c < end; ++c) {
        double sum = 0.0;
        for (int64_t n = 0; n < a.batch; ++n) {
          const float* x = plane_of(n, c);
          sum += sum_lanes(plane, [&](int64_t i) { return x[i]; });
        }
        v[static_cast<size_t>(c)] = sum;
      }
    });
    v[static_cast<size_t>(channels)] = static_cast<double>(a.batch * plane);
    a.rank_sums->sum(channels + 1);
    const double count = v[static_cast<size_t>(channels)];
    for (int64_t c = 0; c < channels; ++c) stats[c] = static_cast<float>(v[static_cast<size_t>(c)] / count);
    a.pool->parallel_for(channels, [&](int64_t begin, int64_t end, int) {
      for (int64_t c = begin; c < end; ++c) {
        const float m = stats[c];
        double sum_sq = 0.0;
        for (int64_t n = 0; n < a.batch; ++n) {
          const float* x = plane_of(n, c);
          sum_sq += sum_lanes(plane, [&](int64_t i) { return (x[i] - m) * (x[i] - m); });
        }
        v[static_cast<size_t>(c)] = sum_sq;
      }
    });
    a.rank_sums->sum(channels);
    a.pool->parallel_for(channels, [&](int64_t begin, int64_t end, int) {
      for (int64_t c = begin; c < end; ++c) {
        const double sum_sq = v[static_cast<size_t>(c)];
        const float mean = stats[c];
        const float inv_std = static_cast<float>(1.0 / std::sqrt(sum_sq / count + eps_));
        stats[channels + c] = inv_std;
        if (!a.recompute) {
          const double unbiased = count > 1 ? sum_sq / (count - 1) : sum_sq / count;
          running_mean[c] = (1.0f - momentum_) * running_mean[c] + momentum_ * mean;
          running_var[c] =
              (1.0f - momentum_) * running_var[c] + momentum_ * static_cast<float>(unbiased);
        }
        const float scale = gamma[c] * inv_std, shift = beta[c] - mean * scale;
        for (int64_t n = 0; n < a.batch; ++n) {
          const float* x = plane_of(n, c);
          float* y = a.dst + n * a.dst_stride + c * plane;
          scale_shift_fast(x, y, plane, scale, shift);
        }
      }
    });
  }

  // The parameter gradients are this rank's share (the gradient buckets add the ranks'); the
  // input gradient needs the global batch's sums of dy and dy * x_hat.
  void backward_synchronised(const StepArgs& a) const {
    const int64_t channels = a.in_shape[0].c, plane = a.in_shape[0].h * a.in_shape[0].w;
    const float* gamma = a.params[0];
    const float* stats = reinterpret_cast<const float*>(a.saved[0]);
    const std::span<double> v = a.rank_sums->values();
    a.pool->parallel_for(channels, [&](int64_t begin, int64_t end, int) {
      for (int64_t c = begin; c < end; ++c) {
        const float mean = stats[c], inv_std = stats[channels + c];
        double sum_dy = 0.0, sum_dy_xhat = 0.0;
        for (int64_t n = 0; n < a.batch; ++n) {
          const float* x = a.src[0] + n * a.src_stride[0] + c * plane;
          const float* dy = a.d_dst + n * a.dst_stride + c * plane;
          sum_dy += sum_lanes(plane, [&](int64_t i) { return dy[i]; });
          sum_dy_xhat += sum_lanes(plane, [&](int64_t i) { return dy[i] * (x[i] - mean); });
        }
        sum_dy_xhat *= inv_std;
        if (a.d_params[0]) a.d_params[0][c] = static_cast<float>(sum_dy_xhat);
        if (a.d_params[1]) a.d_params[1][c] = static_cast<float>(sum_dy);
        v[static_cast<size_t>(c)] = sum_dy;
        v[static_cast<size_t>(channels + c)] = sum_dy_xhat;
      }
    });
    v[static_cast<size_t>(2 * channels)] = static_cast<double>(a.batch * plane);
    // Every rank sums, whether or not it needs the input gradient: the calls must match.
    a.rank_sums->sum(2 * channels + 1);
    if (!a.d_src[0]) return;
    const double count = v[static_cast<size_t>(2 * channels)];
    a.pool->parallel_for(channels, [&](int64_t begin, int64_t end, int) {
      for (int64_t c = begin; c < end; ++c) {
        const float mean = stats[c], inv_std = stats[channels + c];
        input_gradient(a, c, gamma[c] * inv_std, mean, inv_std,
                       static_cast<float>(v[static_cast<size_t>(c)] / count),
                       static_cast<float>(v[static_cast<size_t>(channels + c)] / count));
      }
    });
  }

  float eps_ = 1e-5f;
  float momentum_ = 0.1f;
};

}  // namespace

std::unique_ptr<Layer> make_BatchNorm(const LayerSpec& spec) {
  return std::make_unique<BatchNorm>(spec);
}

}  // namespace footprint
