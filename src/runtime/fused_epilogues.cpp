// Convolution + batch norm + activation as one inference step (Runtime::set_epilogue_fusion):
// found once when the runtime is built, from the plan's buffers; the convolution applies the
// other two to its output as it writes it (StepArgs::epilogue).
#include <algorithm>
#include <memory>

#include "core/thread_pool.hpp"
#include "footprint/layer.hpp"
#include "kernels/eltwise/activation_fast.hpp"
#include "footprint/runtime.hpp"

namespace footprint {
namespace {

// The batch norm's scale and shift for the channel, then the activation, if any: the arithmetic
// of their own forward steps, lent by the layers, so the bits are the same.
class NormThenActivation final : public ChannelEpilogue {
 public:
  NormThenActivation(const Layer& norm, const float* const* norm_params, const Layer* act)
      : norm_(norm), norm_params_(norm_params), act_(act) {}
  void apply(int64_t channel, float* x, int64_t n) const override {
    float scale = 0.0f, shift = 0.0f;
    (void)norm_.channel_affine(norm_params_, channel, scale, shift);
    scale_shift_fast(x, x, n, scale, shift);
    if (act_) (void)act_->apply_in_place(x, n);
  }

 private:
  const Layer& norm_;
  const float* const* norm_params_;
  const Layer* act_;
};

}  // namespace

void Runtime::find_epilogues() {
  if (plan_.options.mode != Mode::infer) return;
  const int n_layers = net_.n_layers();
  // Readers of each value (0: the net input, i + 1: layer i's output); a net output counts as one.
  std::vector<int> readers(static_cast<size_t>(n_layers) + 1, 0);
  for (const Net::Node& node : net_.nodes())
    for (int v : node.inputs) ++readers[static_cast<size_t>(v)];
  for (int v : net_.outputs()) ++readers[static_cast<size_t>(v)];
  // Layer `next` reads layer `prev`'s output alone, in place, with both as contiguous samples.
  auto in_place_after = [&](int prev, int next) {
    if (next >= n_layers || readers[static_cast<size_t>(prev) + 1] != 1) return false;
    const Net::Node& node = net_.node(next);
    const Binding& a = bindings_[static_cast<size_t>(prev)];
    const Binding& b = bindings_[static_cast<size_t>(next)];
    const int64_t sample = net_.node(prev).out_shape.n_elems();
    return node.inputs.size() == 1 && node.inputs[0] == prev + 1 &&
           node.out_shape == net_.node(prev).out_shape && b.src[0] == a.dst && b.dst == a.dst &&
           plan_.layers[prev].dst_stride == sample && b.src_stride[0] == sample &&
           plan_.layers[next].dst_stride == sample && !plan_.layers[next].joined_in_place;
  };
  runs_in_epilogue_.assign(static_cast<size_t>(n_layers), 0);
  epilogue_work_.resize(static_cast<size_t>(n_layers));
  for (int conv = 0; conv + 1 < n_layers; ++conv) {
    if (net_.node(conv).layer->op() != "conv" || plan_.layers[conv].joined_in_place) continue;
    // Only the layer right after is tried: where a conv's batch norm sits in imported nets.
    const int norm = conv + 1;
    float scale = 0.0f, shift = 0.0f;
    if (!in_place_after(conv, norm) ||
        !net_.node(norm).layer->channel_affine(bindings_[static_cast<size_t>(norm)].params.data(),
                                               0, scale, shift)) {
      continue;
    }
    runs_in_epilogue_[static_cast<size_t>(norm)] = 1;
    const int act = norm + 1;
    const Layer* activation = nullptr;
    if (in_place_after(norm, act) && net_.node(act).layer->apply_in_place(nullptr, 0)) {
      activation = net_.node(act).layer.get();
      runs_in_epilogue_[static_cast<size_t>(act)] = 1;
    }
    epilogue_work_[static_cast<size_t>(conv)] = std::make_unique<NormThenActivation>(
        *net_.node(norm).layer, bindings_[static_cast<size_t>(norm)].params.data(), activation);
  }
}

int Runtime::fused_layers() const {
  if (!fuse_epilogues_) return 0;
  return static_cast<int>(std::count(runs_in_epilogue_.begin(), runs_in_epilogue_.end(), 1));
}

}  // namespace footprint
