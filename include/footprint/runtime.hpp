// Runs a Plan: allocates the arena and the persistent block once, binds every buffer, and runs
// forward, loss, backward and optimizer steps without allocating again.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "footprint/net.hpp"
#include "footprint/plan.hpp"

namespace footprint {

class ChannelEpilogue;

struct OptimizerParams {
  float lr = 0.01f;
  float momentum = 0.9f;       // momentum optimizer (and sgd when set with OptimizerKind::momentum)
  bool nesterov = false;
  float weight_decay = 0.0f;   // L2 added to the gradient (sgd, momentum, adam); decoupled for adamw
  float beta1 = 0.9f;
  float beta2 = 0.999f;
  float eps = 1e-8f;
};

// Bytes the runtime holds through its counting allocator (the arena and the persistent block).
struct TrackedMemory {
  int64_t current_bytes = 0;
  int64_t peak_bytes = 0;
};
[[nodiscard]] TrackedMemory tracked_memory();
void reset_tracked_peak();

// A named parameter tensor owned by the runtime's persistent block.
struct ParamView {
  std::string name;     // "conv1.weight"
  float* data = nullptr;
  // nullptr when not trainable or in inference. In a plan that updates in backward, valid only
  // from the layer's backward step to its update step (the bytes are the arena's).
  float* grad = nullptr;
  std::vector<float*> optimizer_state;  // 0, 1 or 2 tensors of the same size
  int64_t n_elems = 0;
  bool trainable = true;
};

class ThreadPool;
struct StepArgs;
class RankStepSums;

class Runtime {
 public:
  // The net and the plan must outlive the runtime. Parameters are initialised from seed
  // (uniform +-1/sqrt(fan_in), as PyTorch does; batchnorm scale 1, shift 0). Throws PlanError
  // when the plan was made for another net.
  Runtime(const Net& net, const Plan& plan, uint64_t seed = 1);
  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  // [batch, C, H, W] floats, to be filled before forward. Training keeps input and target for
  // the whole step; inference reuses the input's bytes once read, so fill it before each forward.
  [[nodiscard]] float* input();
  // Loss targets: float [batch, outputs] for mse, int32 class labels [batch] for softmax_xent.
  [[nodiscard]] void* target();
  // Slot k of the data ring (PlanOptions::prefetch_batches): a batch's input, target and
  // labels, laid out as input(), target() and [batch] int32 labels. All null without a ring.
  struct DataSlot {
    float* input = nullptr;
    void* target = nullptr;
    int32_t* labels = nullptr;
  };
  [[nodiscard]] DataSlot data_slot(int k);
  // The first output (the one the loss reads), or output k of Net::outputs(); each valid after
  // forward until the next step that reuses its bytes (training: the loss step).
  [[nodiscard]] const float* output() const;
  [[nodiscard]] const float* output(int k) const;
  // Gradient of the loss with respect to the input (plan option input_grad), else nullptr.
  // Valid until the next forward, which may reuse its bytes.
  [[nodiscard]] const float* input_grad() const;

  // Feature taps (PlanOptions::taps), after forward(batch, true): fill(t, value, grad) is called
  // for each tap t in order with that value's floats and its gradient buffer (same size), which
  // it must overwrite with d(objective)/d(value); then every backward step runs, down to the
  // input gradient. grad is nullptr when no gradient flows through that value.
  using TapGradientFn = std::function<void(int tap, const float* value, float* grad)>;
  void backward_from_taps(int batch, const TapGradientFn& fill);
  // A tapped value's floats, readable from its forward step until backward_from_taps.
  [[nodiscard]] const float* tap_value(int tap) const;

  // The steps run on the first `batch` samples (batch <= the planned batch), so a last, short
  // batch of an epoch runs on the same plan.
  void forward(int batch, bool training);
  // Loss of the current output against the target (mean over the batch); in train mode also
  // runs every backward step. Returns the loss. `gradient_scale` multiplies the gradient the
  // backward pass starts from (not the loss returned): data-parallel training weights each
  // rank's mean by its share of the global batch this way, at no extra pass over the weights.
  double loss_and_backward(int batch, float gradient_scale = 1.0f);
  // Runs the plan's backward phase (after the output gradient has been written).
  void run_backward(int batch);
  [[nodiscard]] double loss(int batch) const;
  // One step of the plan's optimizer (PlanOptions::optimizer) on every trainable parameter.
  // Not for plans that update in backward (PlanOptions::update_in_backward).
  void update(const OptimizerParams& params);
  // Plans that update in backward: the optimizer's parameters for the next backward pass,
  // which then updates each layer right after its backward step (and counts one optimizer
  // step). Given before every backward pass; before a layer's update its gradients are
  // checked, and from the first layer with a non-finite gradient on no layer is updated
  // (gradients_finite() then says false).
  void prepare_update(const OptimizerParams& params);
  [[nodiscard]] bool updates_in_backward() const { return plan_.options.update_in_backward; }
  // forward + loss_and_backward + update (either kind of plan).
  double train_step(int batch, const OptimizerParams& params);

  // Called after every step of the backward phase with the step's index (Plan::steps), on the
  // thread running it: data-parallel training starts each gradient bucket's sum there as soon as
  // the bucket is complete. It must not allocate (steps allocate nothing). Empty: none.
  using StepHook = std::function<void(int step)>;
  void set_after_backward_step(StepHook hook) { after_backward_step_ = std::move(hook); }
  // Bucket k of a data-parallel plan's weight gradients (Plan::gradient_buckets), and its
  // non-trained state averaged over the ranks (Plan::synced_state_bytes; empty without), as
  // floats of the persistent block.
  [[nodiscard]] std::span<float> gradient_bucket(int k) const;
  [[nodiscard]] std::span<float> synced_state() const;
  // Their scratch buffers (category allreduce), where the other ranks' parts arrive.
  [[nodiscard]] std::span<float> gradient_bucket_scratch(int k) const;
  [[nodiscard]] std::span<float> synced_state_scratch() const;
  // The plan's buffers for sums within steps (Plan::rank_sums_buffer, e.g. synchronised batch
  // norm; empty without) and their scratch, and who sums them: layers that declared
  // LayerNeeds::rank_sum_doubles get `sums` in StepArgs::rank_sums. nullptr: none.
  [[nodiscard]] std::span<double> rank_sums() const;
  [[nodiscard]] std::span<double> rank_sums_scratch() const;
  void set_rank_step_sums(RankStepSums* sums) { rank_step_sums_ = sums; }

  // Every parameter tensor in layer order (weights, then non-trained state such as running stats).
  [[nodiscard]] const std::vector<ParamView>& parameters() const { return params_; }
  [[nodiscard]] int64_t optimizer_steps() const { return optimizer_steps_; }
  void set_optimizer_steps(int64_t steps) { optimizer_steps_ = steps; }
  // Where non-finite values first appear: runs forward again one layer at a time (on the
  // current input) and checks each output, then checks each layer's weight gradients from the
  // last backward, last layer first. Returns e.g. "the output of 'conv3' (layer 3)", or "".
  [[nodiscard]] std::string find_first_nonfinite(int batch);
  // True when every trainable parameter's gradient from the last backward is finite. (In a plan
  // that updates in backward the gradients are gone by then: checked before each update.)
  [[nodiscard]] bool gradients_finite() const;

  // Where the next batches' first sample stands in a data-parallel step's global batch
  // (StepArgs::first_sample); 0 in one process.
  void set_first_sample(int64_t first_sample) { first_sample_ = first_sample; }
  [[nodiscard]] int64_t forward_calls() const { return forward_calls_; }
  void set_forward_calls(int64_t calls) { forward_calls_ = calls; }
  [[nodiscard]] const Plan& plan() const { return plan_; }
  [[nodiscard]] const Net& net() const { return net_; }

  // Per-layer wall time, off by default (two clock reads per step when on): where a step's time
  // goes, for `footprint train --profile` and for tuning kernels.
  struct LayerTime {
    double forward_seconds = 0.0, backward_seconds = 0.0;
    int64_t forward_calls = 0, backward_calls = 0;
  };
  void set_layer_timing(bool on);

  // A test mode: every arena buffer is filled with NaN right after its planned last step (the
  // caller's input, target and outputs excepted). A lifetime planned too short then turns
  // results into NaN instead of passing unnoticed while the bytes happen to survive.
  void set_poison_after_last_use(bool on);
  [[nodiscard]] const std::vector<LayerTime>& layer_times() const { return layer_times_; }

  // Inference plans: a convolution followed by a batch norm and an activation, each the sole
  // reader of the one before and running in place on its output, runs as one step: the
  // convolution applies the other two to each piece of its output as it writes it, while it is
  // in cache (StepArgs::epilogue), instead of two more passes over the whole tensor. The same
  // arithmetic, so the same bits; on by default, off for comparisons. The plan is unchanged.
  void set_epilogue_fusion(bool on) { fuse_epilogues_ = on; }
  // Layers that run inside the step of the convolution before them (while fusion is on).
  [[nodiscard]] int fused_layers() const;

 private:
  // The thread pool, for library code that works on the runtime's buffers between steps (style
  // transfer's Gram matrices): declared in src/runtime/runtime_internal.hpp. A layer gets it as
  // StepArgs::pool.
  friend ThreadPool& runtime_pool(Runtime& runtime);

  // A layer's pointers, bound once from the plan (spans of StepArgs point here).
  struct Binding {
    int layer = 0;
    std::vector<Shape> in_shape;
    std::vector<float*> src, d_src, params, d_params;
    std::vector<int64_t> src_stride;
    std::vector<uint8_t> d_src_accumulate;
    std::vector<std::byte*> saved;
    float* dst = nullptr;
    float* d_dst = nullptr;
    std::vector<std::pair<std::byte*, size_t>> zero_before_backward;
  };
  void bind_layers();
  [[nodiscard]] const LayerBuffers& buffers_of(int binding) const;
  [[nodiscard]] int binding_of(const Step& step) const;
  void poison_ended(size_t step);
  [[nodiscard]] StepArgs step_args(int binding, int batch, bool training, bool backward) const;
  void run_forward_step(int binding, int batch, bool training, bool recompute);
  void find_epilogues();
  void run_backward_step(int binding, int batch);
  void run_fused_pool_backward(int binding, int batch);
  void run_compact_step(const Step& step, int batch);  // compress or expand (bf16 saved values)
  void update_params(size_t first, size_t end);  // params_[first, end)
  void run_update_step(int layer);               // update in backward: one layer's parameters
  [[nodiscard]] std::byte* ptr(int buffer) const;
  [[nodiscard]] float* at(int buffer, int64_t offset_bytes) const;

  const Net& net_;
  const Plan& plan_;
  std::byte* arena_ = nullptr;
  std::byte* persistent_ = nullptr;
  std::unique_ptr<ThreadPool> pool_;
  uint64_t seed_;
  int64_t forward_calls_ = 0;  // feeds the dropout masks: a fresh mask every training forward
  int64_t optimizer_steps_ = 0;
  int64_t first_sample_ = 0;
  std::vector<ParamView> params_;
  std::vector<std::pair<size_t, size_t>> layer_params_;  // per layer: its range of params_
  // Update in backward: the parameters prepare_update gave (pending until the next backward),
  // and the first layer whose gradients were not finite in the last backward (-1: none).
  OptimizerParams optimizer_params_{};
  bool update_pending_ = false;
  int nonfinite_grad_layer_ = -1;
  std::vector<Binding> bindings_;  // per layer
  std::vector<std::vector<std::pair<std::byte*, size_t>>> poison_after_step_;  // per step
  // Per layer, in inference plans: what a convolution's step also applies to its output (nullptr
  // for none), and 1 for the layers that step runs.
  std::vector<std::unique_ptr<const ChannelEpilogue>> epilogue_work_;
  std::vector<uint8_t> runs_in_epilogue_;
  bool fuse_epilogues_ = true;
  bool time_layers_ = false;
  std::vector<LayerTime> layer_times_;  // one per layer while timing is on
  StepHook after_backward_step_;
  RankStepSums* rank_step_sums_ = nullptr;
};

}  // namespace footprint
