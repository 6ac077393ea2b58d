// The runtime: two allocations (arena and persistent block) made once, through the counting
// allocator; every step's pointers bound from the plan's offsets. Nothing is allocated by
// forward, backward or update.
#include "footprint/runtime.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>

#include "core/check.hpp"
#include "core/rng.hpp"
#include "core/thread_pool.hpp"
#include "core/tracked_alloc.hpp"
#include "kernels/gemm/gemm.hpp"
#include "kernels/loss/loss.hpp"
#include "kernels/optim/optimizer_update.hpp"
#include "layers/layer.hpp"

namespace footprint {

Runtime::Runtime(const Net& net, const Plan& plan, uint64_t seed)
    : net_(net), plan_(plan), seed_(seed) {
  FP_CHECK(static_cast<int>(plan.layers.size()) == net.n_layers(), "plan of another net");
  gemm_blas_init();
  arena_ = tracked_alloc(plan.arena_bytes);
  persistent_ = tracked_alloc(plan.persistent_bytes);
  // All ones bits are a NaN in float32: a buffer read before it is written (invariant 3 broken)
  // turns results into NaN instead of silently reading whatever was there.
  if (arena_) std::memset(arena_, 0xff, static_cast<size_t>(plan.arena_bytes));
  pool_ = std::make_unique<ThreadPool>(plan.options.threads);
  // Parameters: drawn in layer order from one stream, so the same seed gives the same net.
  Rng rng(seed);
  for (int i = 0; i < net.n_layers(); ++i) {
    std::vector<Shape> in;
    for (int v : net.node(i).inputs) in.push_back(net.value_shape(v));
    const std::vector<ParamSpec> specs = net.node(i).layer->params(in);
    const LayerBuffers& lb = plan.layers[i];
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
      ParamView view{.name = plan.buffers[lb.params[p]].name, .data = data,
                     .n_elems = specs[p].n_elems,
                     .trainable = specs[p].trainable && plan.options.train_params};
      if (p < lb.param_grads.size()) view.grad = reinterpret_cast<float*>(ptr(lb.param_grads[p]));
      if (p < lb.optimizer_state.size()) {
        for (int s : lb.optimizer_state[p]) {
          view.optimizer_state.push_back(reinterpret_cast<float*>(ptr(s)));
          std::fill_n(view.optimizer_state.back(), specs[p].n_elems, 0.0f);
        }
      }
      params_.push_back(std::move(view));
    }
  }
}

Runtime::~Runtime() {
  pool_.reset();
  tracked_free(arena_, plan_.arena_bytes);
  tracked_free(persistent_, plan_.persistent_bytes);
}

std::byte* Runtime::ptr(int buffer) const {
  if (buffer == kNoBuffer) return nullptr;
  const Buffer& b = plan_.buffers[buffer];
  return (b.persistent ? persistent_ : arena_) + b.offset_bytes;
}

float* Runtime::input() { return reinterpret_cast<float*>(ptr(plan_.input_buffer)); }
void* Runtime::target() { return ptr(plan_.target_buffer); }
const float* Runtime::output() const { return reinterpret_cast<float*>(ptr(plan_.output_buffer)); }
const float* Runtime::input_grad() const {
  return reinterpret_cast<float*>(ptr(plan_.input_grad_buffer));
}

namespace {

float* as_floats(std::byte* p) { return reinterpret_cast<float*>(p); }

}  // namespace

void Runtime::run_forward_step(int layer, int batch, bool training) {
  const Net::Node& node = net_.node(layer);
  const LayerBuffers& lb = plan_.layers[layer];
  StepArgs a;
  a.batch = batch;
  a.training = training;
  a.n_inputs = static_cast<int>(node.inputs.size());
  for (int s = 0; s < a.n_inputs; ++s) {
    a.in_shape[s] = net_.value_shape(node.inputs[s]);
    a.src[s] = as_floats(ptr(lb.src[s]));
  }
  a.out_shape = node.out_shape;
  a.dst = as_floats(ptr(lb.dst));
  for (size_t p = 0; p < lb.params.size(); ++p) a.params[p] = as_floats(ptr(lb.params[p]));
  for (size_t s = 0; s < lb.saved.size(); ++s) a.saved[s] = ptr(lb.saved[s]);
  if (lb.workspace != kNoBuffer) {
    a.workspace = {ptr(lb.workspace), static_cast<size_t>(plan_.buffers[lb.workspace].size_bytes)};
  }
  a.tile = lb.tile;
  a.algorithm = lb.algorithm;
  a.seed = mix64(seed_ ^ mix64(static_cast<uint64_t>(layer) * 1000003u +
                               static_cast<uint64_t>(forward_calls_)));
  a.pool = pool_.get();
  if (!time_layers_) {
    node.layer->forward(a);
    return;
  }
  const auto start = std::chrono::steady_clock::now();
  node.layer->forward(a);
  layer_times_[layer].forward_seconds +=
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ++layer_times_[layer].forward_calls;
}

void Runtime::run_backward_step(int layer, int batch) {
  const Net::Node& node = net_.node(layer);
  const LayerBuffers& lb = plan_.layers[layer];
  StepArgs a;
  a.batch = batch;
  a.training = true;
  a.n_inputs = static_cast<int>(node.inputs.size());
  for (int s = 0; s < a.n_inputs; ++s) {
    a.in_shape[s] = net_.value_shape(node.inputs[s]);
    a.src[s] = as_floats(ptr(lb.src[s]));
    a.d_src[s] = as_floats(ptr(lb.d_src[s]));
    a.d_src_accumulate[s] = lb.d_src_accumulate[s];
  }
  a.out_shape = node.out_shape;
  a.dst = as_floats(ptr(lb.dst));
  a.d_dst = as_floats(ptr(lb.d_dst));
  for (size_t p = 0; p < lb.params.size(); ++p) {
    a.params[p] = as_floats(ptr(lb.params[p]));
    a.d_params[p] = as_floats(ptr(lb.param_grads[p]));
  }
  for (size_t s = 0; s < lb.saved.size(); ++s) a.saved[s] = ptr(lb.saved[s]);
  if (lb.backward_workspace != kNoBuffer) {
    a.workspace = {ptr(lb.backward_workspace),
                   static_cast<size_t>(plan_.buffers[lb.backward_workspace].size_bytes)};
  }
  a.tile = lb.tile;
  a.algorithm = lb.algorithm;
  a.pool = pool_.get();
  if (!time_layers_) {
    node.layer->backward(a);
    return;
  }
  const auto start = std::chrono::steady_clock::now();
  node.layer->backward(a);
  layer_times_[layer].backward_seconds +=
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ++layer_times_[layer].backward_calls;
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
  for (int i = 0; i < net_.n_layers(); ++i) run_forward_step(i, batch, training);
}

double Runtime::loss(int batch) const {
  return loss_forward_backward(net_.loss_kind(), batch, net_.output_shape().n_elems(), output(),
                               ptr(plan_.target_buffer), nullptr);
}

double Runtime::loss_and_backward(int batch) {
  FP_CHECK(plan_.options.mode == Mode::train, "backward on an inference plan");
  FP_CHECK(plan_.options.taps.empty(), "a plan with feature taps runs backward_from_taps");
  const double value =
      loss_forward_backward(net_.loss_kind(), batch, net_.output_shape().n_elems(), output(),
                            ptr(plan_.target_buffer), as_floats(ptr(plan_.output_grad_buffer)));
  run_backward(batch);
  return value;
}

void Runtime::run_backward(int batch) {
  for (const Step& step : plan_.steps)
    if (step.kind == StepKind::backward) run_backward_step(step.layer, batch);
}

const float* Runtime::tap_value(int tap) const {
  return as_floats(ptr(plan_.tap_value_buffers.at(static_cast<size_t>(tap))));
}

void Runtime::backward_from_taps(int batch, const TapGradientFn& fill) {
  FP_CHECK(plan_.options.mode == Mode::train && !plan_.options.taps.empty(),
           "backward_from_taps needs a train plan with feature taps");
  const std::vector<int>& taps = plan_.options.taps;
  const bool output_tapped =
      std::find(taps.begin(), taps.end(), net_.n_layers()) != taps.end();
  if (!output_tapped && plan_.output_grad_buffer != kNoBuffer) {
    std::fill_n(as_floats(ptr(plan_.output_grad_buffer)),
                int64_t{batch} * net_.output_shape().n_elems(), 0.0f);
  }
  for (size_t t = 0; t < taps.size(); ++t)
    fill(static_cast<int>(t), tap_value(static_cast<int>(t)),
         as_floats(ptr(plan_.tap_grad_buffers[t])));
  run_backward(batch);
}

void Runtime::update(const OptimizerParams& params) {
  FP_CHECK(plan_.options.mode == Mode::train, "update on an inference plan");
  ++optimizer_steps_;
  for (const ParamView& p : params_) {
    if (!p.trainable) continue;
    optimizer_update(*pool_, plan_.options.optimizer, params, optimizer_steps_, p.n_elems, p.data,
                     p.grad, p.optimizer_state.size() > 0 ? p.optimizer_state[0] : nullptr,
                     p.optimizer_state.size() > 1 ? p.optimizer_state[1] : nullptr);
  }
}

double Runtime::train_step(int batch, const OptimizerParams& params) {
  forward(batch, /*training=*/true);
  const double value = loss_and_backward(batch);
  update(params);
  return value;
}

namespace {

// x * 0 is NaN exactly when x is NaN or infinite, and the sum stays NaN: one branch-free pass.
bool all_finite(const float* x, int64_t n) {
  float acc = 0.0f;
  for (int64_t i = 0; i < n; ++i) acc += x[i] * 0.0f;
  return acc == 0.0f;
}

}  // namespace

bool Runtime::gradients_finite() const {
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
    run_forward_step(i, batch, plan_.options.mode == Mode::train);
    const float* out = reinterpret_cast<const float*>(ptr(plan_.layers[i].dst));
    if (!all_finite(out, batch * net_.node(i).out_shape.n_elems())) return "the output of " + describe(i);
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
