// The runtime: two allocations (arena and persistent block) made once, through the counting
// allocator; every step's pointers bound from the plan's offsets. Nothing is allocated by
// forward, backward or update.
#include "footprint/runtime.hpp"
#include "runtime/runtime_internal.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstring>

#include "core/check.hpp"
#include "footprint/error.hpp"
#include "core/rng.hpp"
#include "core/thread_pool.hpp"
#include "core/tracked_alloc.hpp"
#include "kernels/eltwise/bf16_convert.hpp"
#include "kernels/gemm/gemm.hpp"
#include "kernels/loss/loss.hpp"
#include "kernels/optim/optimizer_update.hpp"
#include "layers/layer.hpp"

namespace footprint {

ThreadPool& runtime_pool(Runtime& runtime) { return *runtime.pool_; }

Runtime::Runtime(const Net& net, const Plan& plan, uint64_t seed)
    : net_(net), plan_(plan), seed_(seed) {
  if (plan.net_fingerprint != net.fingerprint() ||
      static_cast<int>(plan.layers.size()) != net.n_layers()) {
    throw PlanError("the plan was made for another net (" + std::to_string(plan.layers.size()) +
                    " layers, fingerprint " + std::to_string(plan.net_fingerprint) +
                    "); this net has " + std::to_string(net.n_layers()) +
                    " layers, fingerprint " + std::to_string(net.fingerprint()) +
                    ": plan this net and run it with that plan");
  }
  gemm_blas_init();
  arena_ = tracked_alloc(plan.arena_bytes);
  persistent_ = tracked_alloc(plan.persistent_bytes);
  // All ones bits are a NaN in float32: a buffer read before it is written (invariant 2 broken)
  // turns results into NaN instead of silently reading whatever was there.
  if (arena_) std::memset(arena_, 0xff, static_cast<size_t>(plan.arena_bytes));
  // Zeros in the alignment gaps between gradients: a data-parallel plan sums them with the
  // gradients around them (whole buckets), and zeros stay zeros.
  if (persistent_) std::memset(persistent_, 0, static_cast<size_t>(plan.persistent_bytes));
  pool_ = std::make_unique<ThreadPool>(plan.options.threads);
  gemm_blas_warm_up(*pool_);
  // Parameters: drawn in layer order from one stream, so the same seed gives the same net.
  Rng rng(seed);
  for (int i = 0; i < net.n_layers(); ++i) {
    const std::vector<ParamSpec> specs = net.node(i).layer->params(net.input_shapes(i));
    const LayerBuffers& lb = plan.layers[i];
    layer_params_.push_back({params_.size(), params_.size() + specs.size()});
    for (size_t p = 0; p < specs.size(); ++p) {
      float* data = reinterpret_cast<float*>(ptr(lb.params[p]));
      const float bound = 1.0f / std::sqrt(static_cast<float>(specs[p].fan_in));
      for (int64_t e = 0; e < specs[p].n_elems; ++e) {
        switch (specs[p].init) {
          case ParamInit::fan_in_uniform: data[e] = rng.uniform(-bound, bound); break;
          case ParamInit::ones: data[e] = 1.0f; break;
          case ParamInit::zeros: data[e] = 0.0f; break;
        }
      }
      float* grad = p < lb.param_grads.size() ? reinterpret_cast<float*>(ptr(lb.param_grads[p]))
                                              : nullptr;
      ParamView view{.name = plan.buffers[lb.params[p]].name, .data = data, .grad = grad,
                     .n_elems = specs[p].n_elems,
                     .trainable = specs[p].trainable && grad != nullptr};
      if (p < lb.optimizer_state.size()) {
        for (int s : lb.optimizer_state[p]) {
          view.optimizer_state.push_back(reinterpret_cast<float*>(ptr(s)));
          std::fill_n(view.optimizer_state.back(), specs[p].n_elems, 0.0f);
        }
      }
      params_.push_back(std::move(view));
    }
  }
  bind_layers();
  find_epilogues();
}

namespace {

float* as_floats(std::byte* p) { return reinterpret_cast<float*>(p); }

// A persistent buffer of the plan as the values it was asked for (empty for kNoBuffer).
template <typename T>
std::span<T> persistent_span(const Plan& plan, std::byte* persistent, int buffer) {
  if (buffer == kNoBuffer) return {};
  const Buffer& b = plan.buffers.at(static_cast<size_t>(buffer));
  return {reinterpret_cast<T*>(persistent + b.offset_bytes),
          static_cast<size_t>(b.data_bytes) / sizeof(T)};
}

}  // namespace

// Every pointer a step passes to its layer, resolved once: steps then build their StepArgs from
// spans over this storage and allocate nothing.
// Bindings: one per layer (index = layer), then one per recomputed layer (index = layers + k).
void Runtime::bind_layers() {
  const size_t n_layers = static_cast<size_t>(net_.n_layers());
  bindings_.resize(n_layers + plan_.recompute_bindings.size());
  for (size_t index = 0; index < bindings_.size(); ++index) {
    const LayerBuffers& lb = buffers_of(static_cast<int>(index));
    Binding& b = bindings_[index];
    const int i = index < n_layers ? static_cast<int>(index) : plan_.steps[static_cast<size_t>(lb.forward_step)].layer;
    b.layer = i;
    b.in_shape = net_.input_shapes(i);
    const size_t n_inputs = b.in_shape.size();
    b.src_stride = lb.src_stride;
    for (size_t s = 0; s < n_inputs; ++s) b.src.push_back(at(lb.src[s], lb.src_offset_bytes[s]));
    b.d_src.assign(n_inputs, nullptr);
    b.d_src_accumulate.assign(n_inputs, 0);
    for (size_t s = 0; s < n_inputs && s < lb.d_src.size(); ++s) {
      b.d_src[s] = at(lb.d_src[s], lb.src_offset_bytes[s]);  // a gradient sits as its value does
      b.d_src_accumulate[s] = lb.d_src_accumulate[s] ? 1 : 0;
    }
    b.dst = at(lb.dst, lb.dst_offset_bytes);
    b.d_dst = at(lb.d_dst, lb.dst_offset_bytes);
    for (int buffer : lb.zero_before_backward) {
      b.zero_before_backward.push_back(
          {ptr(buffer), static_cast<size_t>(plan_.buffers[buffer].size_bytes)});
    }
    for (size_t p = 0; p < lb.params.size(); ++p) {
      b.params.push_back(as_floats(ptr(lb.params[p])));
      b.d_params.push_back(p < lb.param_grads.size() ? as_floats(ptr(lb.param_grads[p])) : nullptr);
    }
    for (int saved : lb.saved) b.saved.push_back(ptr(saved));
  }
}

Runtime::~Runtime() {
  pool_.reset();
  tracked_free(arena_, plan_.arena_bytes);
  tracked_free(persistent_, plan_.persistent_bytes);
}

float* Runtime::at(int buffer, int64_t offset_bytes) const {
  return buffer == kNoBuffer ? nullptr : reinterpret_cast<float*>(ptr(buffer) + offset_bytes);
}

std::byte* Runtime::ptr(int buffer) const {
  if (buffer == kNoBuffer) return nullptr;
  const Buffer& b = plan_.buffers[buffer];
  return (b.persistent ? persistent_ : arena_) + b.offset_bytes;
}

float* Runtime::input() { return reinterpret_cast<float*>(ptr(plan_.input_buffer)); }
void* Runtime::target() { return ptr(plan_.target_buffer); }

Runtime::DataSlot Runtime::data_slot(int k) {
  if (plan_.data_ring_buffer == kNoBuffer) return {};
  FP_CHECK(k >= 0 && k < plan_.options.prefetch_batches, "data slot %d of %d", k,
           plan_.options.prefetch_batches);
  std::byte* slot = ptr(plan_.data_ring_buffer) + static_cast<int64_t>(k) * plan_.data_slot_bytes;
  const int64_t input_bytes = (int64_t{plan_.options.batch} * net_.input_shape().n_elems() * 4 +
                               kAlignBytes - 1) / kAlignBytes * kAlignBytes;
  const int64_t target_bytes =
      plan_.target_buffer == kNoBuffer ? 0 : plan_.buffers[plan_.target_buffer].size_bytes;
  return {.input = reinterpret_cast<float*>(slot),
          .target = target_bytes > 0 ? slot + input_bytes : nullptr,
          .labels = reinterpret_cast<int32_t*>(slot + input_bytes + target_bytes)};
}
const float* Runtime::output() const { return reinterpret_cast<float*>(ptr(plan_.output_buffer)); }
const float* Runtime::output(int k) const {
  return reinterpret_cast<float*>(ptr(plan_.output_buffers.at(static_cast<size_t>(k))));
}
const float* Runtime::input_grad() const {
  return reinterpret_cast<float*>(ptr(plan_.input_grad_buffer));
}

const LayerBuffers& Runtime::buffers_of(int binding) const {
  const int n_layers = net_.n_layers();
  return binding < n_layers ? plan_.layers[binding]
                            : plan_.recompute_bindings[static_cast<size_t>(binding - n_layers)];
}

int Runtime::binding_of(const Step& step) const {
  return step.binding < 0 ? step.layer : net_.n_layers() + step.binding;
}

StepArgs Runtime::step_args(int binding, int batch, bool training, bool backward) const {
  const LayerBuffers& lb = buffers_of(binding);
  const Binding& b = bindings_[static_cast<size_t>(binding)];
  const Net::Node& node = net_.node(b.layer);
  StepArgs a;
  a.batch = batch;
  a.training = training;
  a.in_shape = b.in_shape;
  a.out_shape = node.out_shape;
  a.src = b.src;
  a.src_stride = b.src_stride;
  a.dst = b.dst;
  a.dst_stride = lb.dst_stride;
  a.params = b.params;
  a.saved = b.saved;
  const int workspace = backward ? lb.backward_workspace : lb.workspace;
  if (workspace != kNoBuffer) {
    a.workspace = {ptr(workspace), static_cast<size_t>(plan_.buffers[workspace].size_bytes)};
  }
  if (backward) {
    a.d_params = b.d_params;
    a.d_src = b.d_src;
    a.d_src_accumulate = b.d_src_accumulate;
    a.d_dst = b.d_dst;
  }
  a.tile = lb.tile;
  a.algorithm = lb.algorithm;
  a.pool = pool_.get();
  a.rank_sums = rank_step_sums_;
  return a;
}

void Runtime::run_forward_step(int binding, int batch, bool training, bool recompute) {
  const int layer = bindings_[static_cast<size_t>(binding)].layer;
  if (plan_.layers[layer].joined_in_place) return;  // its inputs wrote its output
  const bool fused = fuse_epilogues_ && !runs_in_epilogue_.empty();
  if (fused && runs_in_epilogue_[static_cast<size_t>(layer)]) return;  // the conv's step ran it
  StepArgs a = step_args(binding, batch, training, /*backward=*/false);
  // The same seed when recomputed within the step: dropout draws the same mask again.
  a.seed = mix64(seed_ ^ mix64(static_cast<uint64_t>(layer) * 1000003u +
                               static_cast<uint64_t>(forward_calls_)));
  a.recompute = recompute;
  a.first_sample = first_sample_;
  if (fused) a.epilogue = epilogue_work_[static_cast<size_t>(layer)].get();
  const Layer& l = *net_.node(layer).layer;
  if (!time_layers_) {
    l.forward(a);
    return;
  }
  const auto start = std::chrono::steady_clock::now();
  l.forward(a);
  layer_times_[layer].forward_seconds +=
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ++layer_times_[layer].forward_calls;
}

void Runtime::run_backward_step(int binding, int batch) {
  const int layer = bindings_[static_cast<size_t>(binding)].layer;
  // The first backward step that adds into a joined concat's gradient finds it cleared.
  for (const auto& [bytes, size] : bindings_[static_cast<size_t>(binding)].zero_before_backward)
    std::memset(bytes, 0, size);
  if (plan_.layers[layer].joined_in_place) return;  // its readers wrote its inputs' gradients
  if (plan_.layers[layer].backward_fused) return;   // the pool after it did this work
  if (buffers_of(binding).fused_activation >= 0) {
    run_fused_pool_backward(binding, batch);
    return;
  }
  const StepArgs a = step_args(binding, batch, /*training=*/true, /*backward=*/true);
  const Layer& l = *net_.node(layer).layer;
  if (!time_layers_) {
    l.backward(a);
    return;
  }
  const auto start = std::chrono::steady_clock::now();
  l.backward(a);
  layer_times_[layer].backward_seconds +=
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ++layer_times_[layer].backward_calls;
}

// A pool's backward with its activation's (PlanOptions::fuse_pool_backward), a few planes at a
// time: the pool writes that run of d(y) into the workspace, and the activation turns it into
// d(x) = d(y) * f'(y) over y's own bytes. Both layers run on the run of planes as a batch of one
// whose channels are those planes, which plane-wise and element-wise layers allow.
void Runtime::run_fused_pool_backward(int binding, int batch) {
  const Binding& b = bindings_[static_cast<size_t>(binding)];
  const LayerBuffers& lb = buffers_of(binding);
  const Layer& pool = *net_.node(b.layer).layer;
  const Layer& activation = *net_.node(lb.fused_activation).layer;
  const Shape& in = b.in_shape[0];
  const Shape& out = net_.node(b.layer).out_shape;
  const int64_t in_plane = in.h * in.w, out_plane = out.h * out.w;
  const int64_t planes = int64_t{batch} * in.c;
  const Buffer& workspace = plan_.buffers[static_cast<size_t>(lb.backward_workspace)];
  const int64_t run = workspace.size_bytes / (in_plane * 4);
  float* scratch = as_floats(ptr(lb.backward_workspace));
  float* y = b.src[0];  // the activation's output; its input's gradient goes over it
  std::array<int64_t, 4> saved_per_plane{};
  for (size_t s = 0; s < lb.saved.size() && s < saved_per_plane.size(); ++s) {
    saved_per_plane[s] = plan_.buffers[static_cast<size_t>(lb.saved[s])].data_bytes /
                         (int64_t{plan_.options.batch} * in.c);
  }
  const auto start = std::chrono::steady_clock::now();
  for (int64_t first = 0; first < planes; first += run) {
    const int64_t k = std::min(run, planes - first);
    const Shape in_run[1] = {{k, in.h, in.w}};
    float* const y_run[1] = {y + first * in_plane};
    float* const d_y_run[1] = {scratch};
    const int64_t in_stride[1] = {k * in_plane};
    const uint8_t overwrite[1] = {0};
    std::array<std::byte*, 4> saved{};
    for (size_t s = 0; s < lb.saved.size() && s < saved.size(); ++s)
      saved[s] = b.saved[s] + first * saved_per_plane[s];
    StepArgs p;
    p.batch = 1;
    p.training = true;
    p.in_shape = in_run;
    p.out_shape = {k, out.h, out.w};
    p.src = y_run;
    p.src_stride = in_stride;
    p.dst_stride = k * out_plane;
    p.params = b.params;
    p.saved = std::span<std::byte* const>(saved.data(), lb.saved.size());
    p.d_src = d_y_run;
    p.d_src_accumulate = overwrite;
    p.d_dst = b.d_dst + first * out_plane;
    p.tile = lb.tile;
    p.algorithm = lb.algorithm;
    p.pool = pool_.get();
    pool.backward(p);
    StepArgs a;
    a.batch = 1;
    a.training = true;
    a.in_shape = in_run;
    a.out_shape = in_run[0];
    a.src = y_run;
    a.src_stride = in_stride;
    a.dst = y_run[0];
    a.dst_stride = k * in_plane;
    a.d_src = y_run;  // d(x) over y, element by element
    a.d_src_accumulate = overwrite;
    a.d_dst = scratch;
    a.pool = pool_.get();
    activation.backward(a);
  }
  if (time_layers_) {
    layer_times_[b.layer].backward_seconds +=
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    ++layer_times_[b.layer].backward_calls;
  }
}

// A value kept in bfloat16 (PlanOptions::saved_dtype): written to it after its forward step,
// back to float32 in its expanded buffer before its first backward reader. Split over the
// threads in runs of 16384 values.
void Runtime::run_compact_step(const Step& step, int batch) {
  const CompactValue& c = plan_.compact_values.at(static_cast<size_t>(step.compact));
  const int64_t n = int64_t{batch} * c.sample_values;
  const bool compress = step.kind == StepKind::compress;
  const float* value = as_floats(ptr(c.float_buffer));
  auto* half = reinterpret_cast<uint16_t*>(ptr(c.bf16_buffer));
  float* expanded = as_floats(ptr(c.expanded_buffer));
  constexpr int64_t kGrain = 1 << 14;
  pool_->parallel_for((n + kGrain - 1) / kGrain, [&](int64_t begin, int64_t end, int) {
    const int64_t first = begin * kGrain, count = std::min(end * kGrain, n) - first;
    if (compress) {
      floats_to_bf16(value + first, half + first, count);
    } else {
      bf16_to_floats(half + first, expanded + first, count);
    }
  });
}

void Runtime::set_layer_timing(bool on) {
  time_layers_ = on;
  // Sized once here, not while stepping: the runtime allocates nothing per step.
  if (on) layer_times_.assign(static_cast<size_t>(net_.n_layers()), LayerTime{});
}

void Runtime::forward(int batch, bool training) {
  FP_CHECK(batch >= 1 && batch <= plan_.options.batch, "batch %d of planned %d", batch,
           plan_.options.batch);
  FP_CHECK(!training || plan_.options.mode == Mode::train, "training forward on an inference plan");
  if (training) ++forward_calls_;
  // The plan's forward phase, in its order: every step before the loss (inference: every step).
  const size_t end = plan_.loss_step >= 0 ? static_cast<size_t>(plan_.loss_step) : plan_.steps.size();
  for (size_t s = 0; s < end; ++s) {
    const Step& step = plan_.steps[s];
    if (step.kind == StepKind::compress) {
      if (training) run_compact_step(step, batch);  // inference keeps nothing for backward
    } else {
      FP_CHECK(step.kind == StepKind::forward, "step %zu before the loss is not a forward step", s);
      run_forward_step(binding_of(step), batch, training, /*recompute=*/false);
    }
    poison_ended(s);
  }
}

void Runtime::set_poison_after_last_use(bool on) {
  poison_after_step_.clear();
  if (!on) return;
  // Not the caller's buffers: the input and target, the outputs (read after the steps), and
  // anything alive to the last step.
  std::vector<bool> callers(plan_.buffers.size(), false);
  for (int b : plan_.output_buffers) callers[static_cast<size_t>(b)] = true;
  poison_after_step_.resize(plan_.steps.size());
  for (size_t b = 0; b < plan_.buffers.size(); ++b) {
    const Buffer& buffer = plan_.buffers[b];
    if (buffer.persistent || buffer.category == Category::io || callers[b]) continue;
    if (buffer.last_step + 1 >= static_cast<int>(plan_.steps.size())) continue;
    poison_after_step_[static_cast<size_t>(buffer.last_step)].push_back(
        {ptr(static_cast<int>(b)), static_cast<size_t>(buffer.size_bytes)});
  }
}

// All ones bits are a NaN: a buffer read after its planned last step turns results into NaN.
void Runtime::poison_ended(size_t step) {
  if (step >= poison_after_step_.size()) return;
  for (const auto& [bytes, size] : poison_after_step_[step]) std::memset(bytes, 0xff, size);
}

double Runtime::loss(int batch) const {
  return loss_forward_backward(net_.loss_kind(), batch, net_.output_shape().n_elems(), output(),
                               ptr(plan_.target_buffer), nullptr);
}

double Runtime::loss_and_backward(int batch, float gradient_scale) {
  FP_CHECK(plan_.options.mode == Mode::train, "backward on an inference plan");
  FP_CHECK(plan_.options.taps.empty(), "a plan with feature taps runs backward_from_taps");
  float* output_grad = as_floats(ptr(plan_.output_grad_buffer));
  const int64_t outputs = net_.output_shape().n_elems();
  const double value = loss_forward_backward(net_.loss_kind(), batch, outputs, output(),
                                             ptr(plan_.target_buffer), output_grad);
  if (gradient_scale != 1.0f)
    for (int64_t i = 0; i < int64_t{batch} * outputs; ++i) output_grad[i] *= gradient_scale;
  run_backward(batch);
  return value;
}

// The plan's backward phase, in its order: every step after the loss up to the update, forward
// steps included (a plan that recomputes a value runs its forward step again here).
void Runtime::run_backward(int batch) {
  FP_CHECK(plan_.loss_step >= 0, "backward on an inference plan");
  poison_ended(static_cast<size_t>(plan_.loss_step));  // what only the loss (or taps) read
  if (updates_in_backward()) {
    if (!update_pending_ && plan_.options.train_params) {
      throw Error("a plan that updates in backward needs prepare_update before each backward "
                  "pass (it takes the optimizer's parameters)");
    }
    update_pending_ = false;
    nonfinite_grad_layer_ = -1;
    ++optimizer_steps_;
  }
  for (size_t s = static_cast<size_t>(plan_.loss_step) + 1; s < plan_.steps.size(); ++s) {
    const Step& step = plan_.steps[s];
    if (step.kind == StepKind::backward) run_backward_step(binding_of(step), batch);
    if (step.kind == StepKind::update && step.layer >= 0) run_update_step(step.layer);
    if (step.kind == StepKind::forward) {
      run_forward_step(binding_of(step), batch, /*training=*/true, step.recompute);
    }
    if (step.kind == StepKind::expand) run_compact_step(step, batch);
    poison_ended(s);
    if (after_backward_step_) after_backward_step_(static_cast<int>(s));
  }
}

std::span<float> Runtime::gradient_bucket(int k) const {
  const GradientBucket& bucket = plan_.gradient_buckets.at(static_cast<size_t>(k));
  return {as_floats(persistent_ + bucket.offset_bytes), static_cast<size_t>(bucket.size_bytes / 4)};
}

std::span<float> Runtime::synced_state() const {
  if (plan_.synced_state_bytes == 0) return {};
  return {as_floats(persistent_ + plan_.synced_state_offset_bytes),
          static_cast<size_t>(plan_.synced_state_bytes / 4)};
}

std::span<float> Runtime::gradient_bucket_scratch(int k) const {
  return persistent_span<float>(
      plan_, persistent_, plan_.gradient_buckets.at(static_cast<size_t>(k)).scratch_buffer);
}

std::span<float> Runtime::synced_state_scratch() const {
  return persistent_span<float>(plan_, persistent_, plan_.synced_state_scratch_buffer);
}

std::span<double> Runtime::rank_sums() const {
  return persistent_span<double>(plan_, persistent_, plan_.rank_sums_buffer);
}

std::span<double> Runtime::rank_sums_scratch() const {
  return persistent_span<double>(plan_, persistent_, plan_.rank_sums_scratch_buffer);
}

const float* Runtime::tap_value(int tap) const {
  return as_floats(ptr(plan_.tap_value_buffers.at(static_cast<size_t>(tap))));
}

void Runtime::backward_from_taps(int batch, const TapGradientFn& fill) {
  FP_CHECK(plan_.options.mode == Mode::train && !plan_.options.taps.empty(),
           "backward_from_taps needs a train plan with feature taps");
  const std::vector<int>& taps = plan_.options.taps;
  for (size_t t = 0; t < taps.size(); ++t)
    fill(static_cast<int>(t), tap_value(static_cast<int>(t)),
         as_floats(ptr(plan_.tap_grad_buffers[t])));
  run_backward(batch);
}

namespace {

// x * 0 is NaN exactly when x is NaN or infinite, and the sum stays NaN: one branch-free pass.
bool all_finite(const float* x, int64_t n) {
  float acc = 0.0f;
  for (int64_t i = 0; i < n; ++i) acc += x[i] * 0.0f;
  return acc == 0.0f;
}

}  // namespace

void Runtime::update_params(size_t first, size_t end) {
  for (size_t k = first; k < end; ++k) {
    const ParamView& p = params_[k];
    if (!p.trainable) continue;
    optimizer_update(*pool_, plan_.options.optimizer, optimizer_params_, optimizer_steps_, p.n_elems,
                     p.data, p.grad, p.optimizer_state.size() > 0 ? p.optimizer_state[0] : nullptr,
                     p.optimizer_state.size() > 1 ? p.optimizer_state[1] : nullptr);
  }
}

void Runtime::update(const OptimizerParams& params) {
  FP_CHECK(plan_.options.mode == Mode::train, "update on an inference plan");
  if (updates_in_backward()) {
    throw Error("this plan updates each layer in backward: give prepare_update before the "
                "backward pass instead of update after it");
  }
  ++optimizer_steps_;
  optimizer_params_ = params;
  update_params(0, params_.size());
}

void Runtime::prepare_update(const OptimizerParams& params) {
  if (!updates_in_backward()) {
    throw Error("prepare_update is for plans that update in backward; this one updates after "
                "the backward pass (update)");
  }
  optimizer_params_ = params;
  update_pending_ = true;
}

// A layer's update in backward, once its gradients are known finite: a layer with a non-finite
// gradient, and every layer after it in the backward pass, keeps its parameters.
void Runtime::run_update_step(int layer) {
  const auto [first, end] = layer_params_[static_cast<size_t>(layer)];
  if (nonfinite_grad_layer_ >= 0) return;
  for (size_t k = first; k < end; ++k) {
    const ParamView& p = params_[k];
    if (p.trainable && !all_finite(p.grad, p.n_elems)) {
      nonfinite_grad_layer_ = layer;
      return;
    }
  }
  update_params(first, end);
}

double Runtime::train_step(int batch, const OptimizerParams& params) {
  forward(batch, /*training=*/true);
  if (updates_in_backward()) prepare_update(params);
  const double value = loss_and_backward(batch);
  if (!updates_in_backward()) update(params);
  return value;
}

bool Runtime::gradients_finite() const {
  if (updates_in_backward()) return nonfinite_grad_layer_ < 0;
  for (const ParamView& p : params_)
    if (p.grad && !all_finite(p.grad, p.n_elems)) return false;
  return true;
}

std::string Runtime::find_first_nonfinite(int batch) {
  auto describe = [&](int layer) {
    return "'" + net_.node(layer).spec.name + "' (layer " + std::to_string(layer) + ")";
  };
  if (!all_finite(input(), batch * net_.input_shape().n_elems())) return "the input batch";
  for (int i = 0; i < net_.n_layers(); ++i) {
    run_forward_step(i, batch, plan_.options.mode == Mode::train, /*recompute=*/false);
    const int64_t size = net_.node(i).out_shape.n_elems();
    for (int n = 0; n < batch; ++n) {
      const float* out = bindings_[static_cast<size_t>(i)].dst + n * plan_.layers[i].dst_stride;
      if (!all_finite(out, size)) return "the output of " + describe(i);
    }
  }
  // Updated in backward, the gradients are gone: the first layer found with a non-finite one.
  if (updates_in_backward()) {
    return nonfinite_grad_layer_ < 0 ? "" : "the weight gradients of " + describe(nonfinite_grad_layer_);
  }
  for (int i = net_.n_layers() - 1; i >= 0; --i) {
    for (int g : plan_.layers[i].param_grads) {
      if (g == kNoBuffer) continue;
      if (!all_finite(reinterpret_cast<const float*>(ptr(g)), plan_.buffers[g].data_bytes / 4)) {
        return "the weight gradients of " + describe(i);
      }
    }
  }
  return "";
}

}  // namespace footprint
