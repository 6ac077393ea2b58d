// The planner: net + options -> schedule -> buffer requests with lifetimes -> placement -> Plan.
// Never runs a kernel; a pure function of its inputs.
//
// Step by step:
//  1. Schedule: forward steps in layer order (every layer comes after the values it reads); in
//     training the loss step, backward steps in reverse order for layers whose output gets a
//     gradient, and one optimizer update step. A value gets a gradient when it depends on
//     something trained (or is the input, with input_grad) and a path of layers leads from it to
//     the loss or a tap: a branch that feeds only a second output gets no backward steps.
//     With update_in_backward, each trained layer's update step follows its backward step
//     instead, and its weight gradients live from one to the other, in the arena.
//  2. In place: an op that can overwrite its input does so when nothing else reads that input
//     (one consumer, not kept for anyone's backward, not a net output). Its output then shares
//     the input's buffer, and in training its input gradient shares its output gradient's.
//  3. Requests: every value, gradient, compact saved value and workspace becomes a buffer whose
//     lifetime runs from the step that writes it first to the last step that reads it.
//     Parameters, their gradients and optimizer state are persistent (the gradients not with
//     update_in_backward).
//  3a. Concats joined in place (channel_groups.hpp): the inputs of a concat are written
//     straight into their channel ranges of one buffer, views with a sample stride, and the
//     concat computes nothing. Their gradients mirror them in one gradient buffer, which is
//     cleared before the first backward step that adds into it; every writer then adds.
//  4. Placement (placement.hpp) packs the non-persistent buffers into one arena.
#include <algorithm>
#include <map>

#include "core/check.hpp"
#include "footprint/error.hpp"
#include "footprint/communicator.hpp"
#include "footprint/plan.hpp"
#include "layers/layer.hpp"
#include "planner/channel_groups.hpp"
#include "planner/recompute.hpp"
#include "planner/placement.hpp"

namespace footprint {
namespace {

int64_t align_up(int64_t bytes) { return (bytes + kAlignBytes - 1) / kAlignBytes * kAlignBytes; }

struct Consumer {
  int layer;
  int slot;
};

class Planner {
 public:
  // What to recompute (recompute.hpp); empty vectors: nothing.
  Planner(const Net& net, const PlanOptions& options, RecomputeChoice recompute)
      : net_(net), opt_(options), recompute_(std::move(recompute.layers)),
        readers_(std::move(recompute.readers)) {}

  Plan run() {
    validate();
    const int n_layers = net_.n_layers();
    plan_.options = opt_;
    train_ = opt_.mode == Mode::train;
    plan_.net_fingerprint = net_.fingerprint();
    consumers_.assign(n_layers + 1, {});
    for (int i = 0; i < n_layers; ++i)
      for (int slot = 0; slot < static_cast<int>(net_.node(i).inputs.size()); ++slot)
        consumers_[net_.node(i).inputs[slot]].push_back({i, slot});
    is_output_.assign(n_layers + 1, false);
    for (int v : net_.outputs()) is_output_[v] = true;
    if (recompute_.empty()) recompute_.assign(n_layers, false);
    if (readers_.empty()) readers_.assign(n_layers, false);
    collect_params();
    mark_gradients();  // before describe: a layer plans its backward by what it must compute
    describe_layers();
    plan_.layers.assign(n_layers, {});
    choose_in_place();
    join_concats();
    choose_fusions();
    choose_compact_values();
    schedule();
    request_values();
    if (train_) request_gradients();
    request_layer_buffers();
    place();
    summarise();
    return std::move(plan_);
  }

 private:
  void validate() const {
    if (opt_.batch < 1 || opt_.batch > (1 << 20)) {
      throw PlanError("batch " + std::to_string(opt_.batch) + ": must be between 1 and 1048576");
    }
    if (opt_.threads < 1 || opt_.threads > 256) {
      throw PlanError("threads " + std::to_string(opt_.threads) + ": must be between 1 and 256");
    }
    if (opt_.ranks < 1 || opt_.ranks > 65536) {
      throw PlanError("ranks " + std::to_string(opt_.ranks) + ": must be between 1 and 65536");
    }
    if (opt_.gradient_bucket_bytes < 1) {
      throw PlanError("gradient bucket of " + std::to_string(opt_.gradient_bucket_bytes) +
                      " bytes: must be at least 1 byte");
    }
    if (opt_.prefetch_batches < 0 || opt_.prefetch_batches > 64) {
      throw PlanError("prefetch " + std::to_string(opt_.prefetch_batches) +
                      ": must be between 0 and 64 batches");
    }
    for (int v : opt_.taps) {
      if (opt_.mode != Mode::train) throw PlanError("feature taps need train mode");
      if (v < 0 || v > net_.n_layers()) {
        throw PlanError("tap " + std::to_string(v) + ": no such value (0.." +
                        std::to_string(net_.n_layers()) + ")");
      }
    }
    if (opt_.update_in_backward && (opt_.mode != Mode::train || opt_.ranks > 1)) {
      throw PlanError(opt_.mode != Mode::train
                          ? "update in backward needs train mode"
                          : "update in backward needs one process: data-parallel ranks sum whole "
                            "gradient buckets before any update (ranks " +
                                std::to_string(opt_.ranks) + ")");
    }
    if (opt_.mode == Mode::train && net_.loss_kind() == LossKind::none && opt_.taps.empty()) {
      throw PlanError("training needs a loss: add a last line 'loss mse' or 'loss softmax_xent'");
    }
    if (opt_.mode == Mode::train && net_.loss_kind() == LossKind::softmax_xent &&
        (net_.output_shape().h != 1 || net_.output_shape().w != 1)) {
      throw PlanError("loss softmax_xent needs one score per class (C x 1 x 1), but the net gives " +
                      net_.output_shape().str() + "; end with an fc or globalavgpool");
    }
  }

  void collect_params() {
    for (int i = 0; i < net_.n_layers(); ++i) {
      params_.push_back(net_.node(i).layer->params(net_.input_shapes(i)));
    }
  }

  void describe_layers() {
    for (int i = 0; i < net_.n_layers(); ++i) {
      const std::vector<Shape> in = net_.input_shapes(i);
      const std::vector<int>& inputs = net_.node(i).inputs;
      PlanContext ctx{.in = in, .out = net_.node(i).out_shape, .batch = opt_.batch,
                      .threads = opt_.threads, .mode = opt_.mode,
                      .conv_tile_bytes = opt_.conv_tile_bytes,
                      .param_grads = opt_.train_params,
                      .input_grads = std::any_of(inputs.begin(), inputs.end(),
                                                 [&](int v) { return needs_grad_[v]; }),
                      .direct_conv = opt_.direct_conv,
                      .winograd_conv = opt_.winograd_conv,
                      .sync_batch_norm = opt_.sync_batch_norm && opt_.ranks > 1 &&
                                         opt_.mode == Mode::train};
      needs_.push_back(net_.node(i).layer->describe(ctx));
      if (opt_.save_all) needs_.back().saves_input = needs_.back().saves_output = true;
    }
  }

  // A value needs a gradient when something before it is trained (or the input gradient is
  // asked for), and the gradient flows when, besides, the value leads to a gradient source:
  // the loss's output or a tap.
  void mark_gradients() {
    const int n_layers = net_.n_layers();
    needs_grad_.assign(n_layers + 1, false);
    flows_.assign(n_layers + 1, false);
    if (!train_) return;
    needs_grad_[0] = opt_.input_grad;
    for (int i = 0; i < n_layers; ++i) {
      bool trained = opt_.train_params &&
                     std::any_of(params_[i].begin(), params_[i].end(),
                                 [](const ParamSpec& p) { return p.trainable; });
      for (int v : net_.node(i).inputs) trained = trained || needs_grad_[v];
      needs_grad_[i + 1] = trained;
    }
    std::vector<bool> reaches(n_layers + 1, false);
    for (int v = n_layers; v >= 0; --v) {
      reaches[v] = gradient_source(v);
      for (const Consumer& c : consumers_[v]) reaches[v] = reaches[v] || reaches[c.layer + 1];
      flows_[v] = needs_grad_[v] && reaches[v];
    }
  }

  // Where backward starts: the loss's output (the net's first output), or the taps.
  [[nodiscard]] bool gradient_source(int value) const {
    if (!opt_.taps.empty()) return tapped(value);
    return value == net_.outputs()[0];
  }

  void schedule() {
    const int n_layers = net_.n_layers();
    compress_step_.assign(n_layers + 1, -1);
    expand_step_.assign(n_layers + 1, -1);
    for (int i = 0; i < n_layers; ++i) {
      plan_.layers[i].forward_step = static_cast<int>(plan_.steps.size());
      plan_.steps.push_back({StepKind::forward, i});
      // The value is complete (nothing overwrites a kept value in place): compress it at once.
      if (!compact_[i + 1]) continue;
      compress_step_[i + 1] = static_cast<int>(plan_.steps.size());
      plan_.steps.push_back({.kind = StepKind::compress, .layer = i,
                             .compact = compact_index_[i + 1]});
    }
    recompute_step_.assign(n_layers, -1);
    binding_of_.assign(n_layers, -1);
    update_step_.assign(n_layers, -1);
    if (!train_) {
      recompute_.assign(n_layers, false);  // inference keeps nothing for a backward pass
      return;
    }
    loss_step_ = static_cast<int>(plan_.steps.size());
    plan_.loss_step = loss_step_;
    plan_.steps.push_back({StepKind::loss, kNoLayer});
    // A recomputed layer runs its forward step again just before the first backward step that
    // reads what it computes, after the recomputed layers it reads from, in forward order.
    for (int i = n_layers - 1; i >= 0; --i) {
      if (!flows_[i + 1]) continue;
      if (recompute_[i]) emit_recompute(i);
      for (int v : values_read_backward(i))
        if (compact_[v]) emit_expand(v);
      // A backward step that keeps its inputs may read recomputed ones in their second instance.
      if (keeps_input(i) && (recompute_[i] || readers_[i])) {
        for (int v : net_.node(i).inputs)
          if (recomputed(v)) emit_recompute(v - 1);
      }
      if (binding_of_[i] < 0 && (reads_recomputed_inputs(i) || reads_compact_values(i))) {
        binding_of_[i] = static_cast<int>(plan_.recompute_bindings.size());
        plan_.recompute_bindings.emplace_back();
      }
      plan_.layers[i].backward_step = static_cast<int>(plan_.steps.size());
      plan_.steps.push_back({StepKind::backward, i, binding_of_[i]});
      if (opt_.update_in_backward && has_trained_params(i)) {
        update_step_[i] = static_cast<int>(plan_.steps.size());
        plan_.steps.push_back({StepKind::update, i});
      }
    }
    if (!opt_.update_in_backward) plan_.steps.push_back({StepKind::update, kNoLayer});
    // A layer asked for whose values no backward step reads is not recomputed after all.
    for (int i = 0; i < n_layers; ++i) recompute_[i] = recompute_[i] && recompute_step_[i] >= 0;
  }

  // Layer i has trainable parameters that get gradients (when its backward step runs).
  [[nodiscard]] bool has_trained_params(int i) const {
    return train_ && opt_.train_params &&
           std::any_of(params_[i].begin(), params_[i].end(),
                       [](const ParamSpec& p) { return p.trainable; });
  }

  // The recompute step of layer i, after those of the recomputed layers it reads from.
  void emit_recompute(int i) {
    if (recompute_step_[i] >= 0) return;
    for (int v : net_.node(i).inputs)
      if (v > 0 && recompute_[v - 1]) emit_recompute(v - 1);
    for (int v : net_.node(i).inputs)
      if (compact_[v]) emit_expand(v);  // a checkpoint kept in bfloat16
    binding_of_[i] = static_cast<int>(plan_.recompute_bindings.size());
    plan_.recompute_bindings.emplace_back();
    recompute_step_[i] = static_cast<int>(plan_.steps.size());
    plan_.steps.push_back({StepKind::forward, i, binding_of_[i], /*recompute=*/true});
  }

  // The expand step of a compact value, before the first backward step that reads it.
  void emit_expand(int value) {
    if (expand_step_[value] >= 0) return;
    expand_step_[value] = static_cast<int>(plan_.steps.size());
    plan_.steps.push_back({.kind = StepKind::expand, .layer = value - 1,
                           .compact = compact_index_[value]});
  }

  // Values layer i's backward step reads: its output when it keeps it, its inputs when it
  // keeps them (or, a fused pool, its activation's output).
  [[nodiscard]] std::vector<int> values_read_backward(int i) const {
    std::vector<int> values;
    if (needs_[i].saves_output && !plan_.layers[i].backward_fused) values.push_back(i + 1);
    if (keeps_input(i))
      for (int v : net_.node(i).inputs) values.push_back(v);
    return values;
  }

  [[nodiscard]] bool reads_compact_values(int i) const {
    const std::vector<int> values = values_read_backward(i);
    return std::any_of(values.begin(), values.end(), [&](int v) { return compact_[v]; });
  }

  // Values kept in bfloat16 (PlanOptions::saved_dtype): every value a backward step or a
  // recompute step reads from the forward pass, except what the caller reads (the input,
  // outputs, taps) and channel ranges of joined concats (views into a buffer other values
  // share). Under a memory budget the checkpoints recomputation starts from are kept in
  // bfloat16 too, so recomputed values are computed from rounded inputs.
  void choose_compact_values() {
    const int n_values = net_.n_values();
    compact_.assign(n_values, false);
    compact_index_.assign(n_values, -1);
    if (!train_ || opt_.saved_dtype != SavedDtype::bf16) return;
    for (int v = 1; v < n_values; ++v) {
      const bool read_by_recompute = std::any_of(
          consumers_[v].begin(), consumers_[v].end(),
          [&](const Consumer& c) { return recompute_[c.layer]; });
      compact_[v] = (value_saved_for_backward(v) || read_by_recompute) && !is_output_[v] &&
                    !tapped(v) && group_of_[v] < 0 && !recomputed(v);
      if (!compact_[v]) continue;
      compact_index_[v] = static_cast<int>(plan_.compact_values.size());
      plan_.compact_values.push_back(
          {.value = v, .sample_values = net_.value_shape(v).n_elems()});
    }
  }

  // Whether value v has a second, recomputed instance (its producer is recomputed).
  [[nodiscard]] bool recomputed(int value) const { return value > 0 && recompute_[value - 1]; }

  // Layer i's backward step reads its inputs: it keeps them, or it is a fused pool (it reads
  // its activation's output).
  [[nodiscard]] bool keeps_input(int i) const {
    return needs_[i].saves_input || plan_.layers[i].fused_activation >= 0;
  }

  // The instance of value v that layer i's backward reads: the expanded one of a compact
  // value; the recomputed one when both are.
  [[nodiscard]] int instance_read_backward(int i, int v) const {
    if (compact_[v]) return value_buffer1_[v];
    return recomputed(v) && (recompute_[i] || readers_[i]) ? value_buffer1_[v] : value_buffer_[v];
  }

  // Layer i's backward step keeps an input that is recomputed, and reads that instance.
  [[nodiscard]] bool reads_recomputed_inputs(int i) const {
    if (!keeps_input(i) || !(recompute_[i] || readers_[i])) return false;
    const std::vector<int>& inputs = net_.node(i).inputs;
    return std::any_of(inputs.begin(), inputs.end(), [&](int v) { return recomputed(v); });
  }

  [[nodiscard]] int last_step() const { return static_cast<int>(plan_.steps.size()) - 1; }

  [[nodiscard]] bool tapped(int value) const {
    return std::find(opt_.taps.begin(), opt_.taps.end(), value) != opt_.taps.end();
  }

  [[nodiscard]] bool value_saved_for_backward(int value) const {
    if (!train_) return false;
    // (A layer has a backward step when its output gets a gradient.)
    if (value > 0 && needs_[value - 1].saves_output && flows_[value]) return true;
    for (const Consumer& c : consumers_[value])
      if (needs_[c.layer].saves_input && flows_[c.layer + 1]) return true;
    return false;
  }

  void choose_in_place() {
    in_place_.assign(net_.n_layers(), false);
    if (!opt_.inplace) return;
    for (int i = 0; i < net_.n_layers(); ++i) {
      const int v = net_.node(i).inputs[0];
      // A tapped value must still hold its own numbers at the loss step.
      in_place_[i] = needs_[i].may_run_in_place && v != 0 && consumers_[v].size() == 1 &&
                     !value_saved_for_backward(v) && !tapped(v) && !is_output_[v];
      plan_.layers[i].in_place = in_place_[i];
    }
  }

  // Concats whose inputs can be written in place (see channel_groups.hpp). An in-place layer
  // reading a joined concat's output would overwrite the members other views still read, so
  // those layers run out of place; they are held out of place while groups are found, and put
  // back where their concat keeps its copy.
  void join_concats() {
    const int n_values = net_.n_values();
    view_.assign(n_values, {});
    for (int v = 0; v < n_values; ++v) view_[v].stride = net_.value_shape(v).n_elems();
    group_of_.assign(n_values, -1);
    if (!opt_.join_concat) return;
    std::vector<int> held;  // layers held out of place
    for (int i = 0; i < net_.n_layers(); ++i) {
      const int v = net_.node(i).inputs[0];
      if (in_place_[i] && v > 0 && needs_[v - 1].joins_channels) {
        in_place_[i] = false;
        held.push_back(i);
      }
    }
    ChannelGroupInputs in{.net = &net_, .needs = &needs_, .in_place = &in_place_};
    in.pinned.assign(n_values, false);
    in.pinned[0] = true;
    for (int v = 0; v < n_values; ++v) in.pinned[v] = in.pinned[v] || is_output_[v] || tapped(v);
    groups_ = find_channel_groups(in);
    std::vector<bool> joined(net_.n_layers(), false), member(n_values, false);
    for (const ChannelGroup& g : groups_) {
      for (int c : g.concats) joined[c] = true;
      for (const ChannelRange& m : g.members) member[m.value] = true;
    }
    for (int i : held) {
      const int concat = net_.node(i).inputs[0] - 1;
      if (!joined[concat] && !member[concat + 1] && !member[i + 1]) in_place_[i] = true;
    }
    // Every value that shares a member's bytes, and every view, takes its place in the group.
    std::vector<int> root(n_values);
    for (int v = 0; v < n_values; ++v) {
      root[v] = v > 0 && in_place_[v - 1] ? root[net_.node(v - 1).inputs[0]] : v;
    }
    for (size_t index = 0; index < groups_.size(); ++index) {
      const ChannelGroup& g = groups_[index];
      const Shape& plane = net_.value_shape(g.views[0].value);
      auto place = [&](int v, int64_t channel) {
        group_of_[v] = static_cast<int>(index);
        view_[v] = {.offset_bytes = channel * plane.h * plane.w * 4,
                    .stride = g.channels * plane.h * plane.w};
      };
      for (const ChannelRange& view : g.views) place(view.value, view.channel_begin);
      for (const ChannelRange& m : g.members)
        for (int v = 0; v < n_values; ++v)
          if (root[v] == m.value) place(v, m.channel_begin);
      for (int c : g.concats) plan_.layers[c].joined_in_place = true;
    }
    group_buffer_.assign(groups_.size(), kNoBuffer);
    group_grad_buffer_.assign(groups_.size(), kNoBuffer);
    for (int i = 0; i < net_.n_layers(); ++i) plan_.layers[i].in_place = in_place_[i];
  }

  // Pools whose backward runs their activation's too (PlanOptions::fuse_pool_backward): the
  // pool reads the activation's output y alone, the activation keeps y for its backward (its
  // derivative comes from it) and runs in place on its input x, and nothing else reads or keeps
  // x or y. Then d(y) is made a few planes at a time in the pool's workspace and turned into d(x)
  // over y's bytes at once; y's buffer holds d(x) until x's producer has read it.
  void choose_fusions() {
    fused_pool_.assign(net_.n_layers(), -1);
    if (!train_ || !opt_.fuse_pool_backward) return;
    for (int pool = 0; pool < net_.n_layers(); ++pool) {
      const std::vector<int>& inputs = net_.node(pool).inputs;
      if (!needs_[pool].plane_wise || inputs.size() != 1 || !flows_[pool + 1]) continue;
      const int y = inputs[0];
      if (y == 0) continue;
      const int act = y - 1, x = net_.node(act).inputs[0];
      const bool ok = needs_[act].elementwise_from_output && in_place_[act] &&
                      flows_[act + 1] && consumers_[y].size() == 1 &&
                      x > 0 && flows_[x] && !tapped(x) && !tapped(y) && !is_output_[x] &&
                      !is_output_[y] && group_of_[x] < 0 && group_of_[y] < 0 &&
                      group_of_[pool + 1] < 0 &&
                      recompute_[act] == (recompute_[pool] || readers_[pool]);
      if (!ok) continue;
      fused_pool_[act] = pool;
      plan_.layers[pool].fused_activation = act;
      plan_.layers[act].backward_fused = true;
    }
  }

  // The buffer of a group, made when its first value is requested; lifetimes extend it.
  int group_buffer(int group, bool gradient) {
    int& buffer = (gradient ? group_grad_buffer_ : group_buffer_)[group];
    if (buffer == kNoBuffer) {
      const ChannelGroup& g = groups_[group];
      const int owner = g.concats[0];
      const Shape& whole = net_.node(owner).out_shape;
      buffer = add_buffer({.name = net_.node(owner).spec.name + (gradient ? ".out.grad" : ".out"),
                           .category = gradient ? Category::activation_grads : Category::activations,
                           .size_bytes = opt_.batch * whole.n_elems() * 4, .owner_layer = owner,
                           .first_step = last_step() + 1, .last_step = -1});
    }
    return buffer;
  }

  int add_buffer(Buffer buffer) {
    buffer.data_bytes = buffer.size_bytes;
    buffer.size_bytes = align_up(buffer.size_bytes);
    plan_.buffers.push_back(std::move(buffer));
    return static_cast<int>(plan_.buffers.size()) - 1;
  }

  void extend(int buffer, int first, int last) {
    Buffer& b = plan_.buffers[buffer];
    b.first_step = std::min(b.first_step, first);
    b.last_step = std::max(b.last_step, last);
  }

  // Last step that reads a value: forward consumers, backward steps that keep it, the loss.
  // A compact value's backward readers read its expanded instance.
  [[nodiscard]] int value_last_use(int value) const {
    int last = value == 0 ? 0 : plan_.layers[value - 1].forward_step;
    if (compact_[value]) {
      last = compress_step_[value];
      for (const Consumer& c : consumers_[value])
        last = std::max(last, plan_.layers[c.layer].forward_step);
      return last;
    }
    for (const Consumer& c : consumers_[value]) {
      last = std::max(last, plan_.layers[c.layer].forward_step);
      // After the forward pass, recomputed readers (and readers told to) read a recomputed
      // value's second instance.
      if (recomputed(value) && (recompute_[c.layer] || readers_[c.layer])) continue;
      if (recompute_[c.layer]) last = std::max(last, recompute_step_[c.layer]);
      if (train_ && keeps_input(c.layer))
        last = std::max(last, plan_.layers[c.layer].backward_step);
    }
    if (train_ && value > 0 && needs_[value - 1].saves_output && !recomputed(value))
      last = std::max(last, plan_.layers[value - 1].backward_step);
    // Outputs stay readable until the loss (training) or the end (inference).
    if (is_output_[value]) last = train_ ? std::max(last, loss_step_) : last_step();
    if (tapped(value)) last = std::max(last, loss_step_);
    return last;
  }

  // Lifetime of a recomputed value's second instance: from its recompute step to the last
  // recomputed reader (its recompute step, or its backward step when it keeps the value).
  [[nodiscard]] int recomputed_last_use(int value) const {
    const int producer = value - 1;
    int last = recompute_step_[producer];
    for (const Consumer& c : consumers_[value]) {
      if (recompute_[c.layer]) last = std::max(last, recompute_step_[c.layer]);
      if (keeps_input(c.layer) && (recompute_[c.layer] || readers_[c.layer]))
        last = std::max(last, plan_.layers[c.layer].backward_step);
    }
    if (needs_[producer].saves_output) last = std::max(last, plan_.layers[producer].backward_step);
    return last;
  }

  // Lifetime of a compact value's expanded instance: from its expand step to its last backward
  // reader.
  [[nodiscard]] int expanded_last_use(int value) const {
    int last = expand_step_[value];
    for (const Consumer& c : consumers_[value]) {
      if (keeps_input(c.layer)) last = std::max(last, plan_.layers[c.layer].backward_step);
      if (recompute_[c.layer]) last = std::max(last, recompute_step_[c.layer]);
    }
    if (needs_[value - 1].saves_output)
      last = std::max(last, plan_.layers[value - 1].backward_step);
    return last;
  }

  // A compact value's bfloat16 copy (compress step to expand step) and its expanded instance.
  void request_compact_buffers(int v) {
    CompactValue& c = plan_.compact_values[static_cast<size_t>(compact_index_[v])];
    const std::string& name = net_.node(v - 1).spec.name;
    const int64_t values = opt_.batch * c.sample_values;
    c.float_buffer = value_buffer_[v];
    c.compress_step = compress_step_[v];
    c.expand_step = expand_step_[v];
    // (No expand step: the layer that was to recompute from it was not recomputed after all, as
    // nothing read its output. The copy is then written and never read.)
    c.bf16_buffer = add_buffer({.name = name + ".out (bf16)", .category = Category::saved,
                                .size_bytes = values * 2, .owner_layer = v - 1,
                                .first_step = c.compress_step,
                                .last_step = std::max(c.compress_step, c.expand_step)});
    if (c.expand_step < 0) return;
    FP_CHECK(c.expand_step > c.compress_step, "value %d is expanded before it is compressed", v);
    value_buffer1_[v] = add_buffer({.name = name + ".out (expanded)",
                                    .category = Category::activations, .size_bytes = values * 4,
                                    .owner_layer = v - 1, .first_step = c.expand_step,
                                    .last_step = expanded_last_use(v)});
    c.expanded_buffer = value_buffer1_[v];
  }

  void request_values() {
    const int n_layers = net_.n_layers();
    const int64_t batch = opt_.batch;
    value_buffer_.assign(n_layers + 1, kNoBuffer);
    value_buffer1_.assign(n_layers + 1, kNoBuffer);
    // In training the input and target live for the whole step, so a batch can be stepped on
    // again without refilling; in inference the input's bytes are reused once it is read.
    value_buffer_[0] = add_buffer({.name = "input", .category = Category::io,
                                   .size_bytes = batch * net_.input_shape().n_elems() * 4,
                                   .first_step = 0,
                                   .last_step = train_ ? last_step() : value_last_use(0)});
    plan_.input_buffer = value_buffer_[0];
    for (int i = 0; i < n_layers; ++i) {
      const int v = i + 1;
      const int first = plan_.layers[i].forward_step;
      if (in_place_[i]) {
        value_buffer_[v] = value_buffer_[net_.node(i).inputs[0]];
        extend(value_buffer_[v], first, value_last_use(v));
      } else if (group_of_[v] >= 0) {
        value_buffer_[v] = group_buffer(group_of_[v], /*gradient=*/false);
        extend(value_buffer_[v], first, value_last_use(v));
      } else {
        value_buffer_[v] = add_buffer({.name = net_.node(i).spec.name + ".out",
                                       .category = Category::activations,
                                       .size_bytes = batch * net_.node(i).out_shape.n_elems() * 4,
                                       .owner_layer = i, .first_step = first,
                                       .last_step = value_last_use(v)});
      }
      if (compact_[v]) request_compact_buffers(v);
      if (!recompute_[i]) continue;
      // The recomputed instance, in place where the first one was (on a recomputed input).
      const int again = recompute_step_[i];
      if (in_place_[i]) {
        const int u = net_.node(i).inputs[0];
        FP_CHECK(recomputed(u), "layer %d is recomputed in place on a value that is not", i);
        value_buffer1_[v] = value_buffer1_[u];
        extend(value_buffer1_[v], again, recomputed_last_use(v));
      } else {
        FP_CHECK(group_of_[v] < 0, "layer %d writes a joined concat and is recomputed", i);
        value_buffer1_[v] = add_buffer({.name = net_.node(i).spec.name + ".out (recomputed)",
                                        .category = Category::activations,
                                        .size_bytes = batch * net_.node(i).out_shape.n_elems() * 4,
                                        .owner_layer = i, .first_step = again,
                                        .last_step = recomputed_last_use(v)});
      }
    }
    for (int v : net_.outputs()) plan_.output_buffers.push_back(value_buffer_[v]);
    plan_.output_buffer = plan_.output_buffers[0];
    for (int v : opt_.taps) plan_.tap_value_buffers.push_back(value_buffer_[v]);
    // Inference keeps a target too when the net has a loss, so evaluation can report it.
    if (net_.loss_kind() != LossKind::none) {
      const int64_t target_bytes = net_.loss_kind() == LossKind::softmax_xent
                                       ? batch * 4
                                       : batch * net_.output_shape().n_elems() * 4;
      plan_.target_buffer = add_buffer({.name = "target", .category = Category::io,
                                        .size_bytes = target_bytes, .first_step = 0,
                                        .last_step = last_step()});
    }
    if (opt_.prefetch_batches > 0) {
      const int64_t target_bytes =
          plan_.target_buffer == kNoBuffer ? 0 : plan_.buffers[plan_.target_buffer].size_bytes;
      plan_.data_slot_bytes = align_up(batch * net_.input_shape().n_elems() * 4) +
                              align_up(target_bytes) + align_up(batch * 4);
      plan_.data_ring_buffer = add_buffer(
          {.name = "data ring (" + std::to_string(opt_.prefetch_batches) + " batches)",
           .category = Category::data,
           .size_bytes = opt_.prefetch_batches * plan_.data_slot_bytes,
           .persistent = true});
    }
  }

  void request_gradients() {
    const int n_layers = net_.n_layers();
    grad_buffer_.assign(n_layers + 1, kNoBuffer);
    // From the output back, so an in-place layer's input gradient can share its output's.
    for (int v = n_layers; v >= 0; --v) {
      if (!flows_[v]) continue;
      // A fused pool and activation: the activation's output gradient never exists whole, and
      // its input gradient is written over its output (the instance the pool's backward reads).
      if (v > 0 && fused_pool_[v - 1] >= 0) {
        const int pool = fused_pool_[v - 1];
        LayerBuffers& pl = plan_.layers[pool];
        pl.d_src.assign(1, instance_read_backward(pool, v));
        pl.d_src_accumulate.assign(1, false);
        continue;
      }
      if (v < n_layers && consumers_[v].size() == 1 &&
          fused_pool_[consumers_[v][0].layer] >= 0) {
        const int act = consumers_[v][0].layer, pool = fused_pool_[act];
        const int y = act + 1;
        grad_buffer_[v] = instance_read_backward(pool, y);
        extend(grad_buffer_[v], plan_.layers[pool].backward_step, plan_.layers[v - 1].backward_step);
        plan_.layers[act].d_src.assign(1, grad_buffer_[v]);
        plan_.layers[act].d_src_accumulate.assign(1, false);
        continue;
      }
      // Writers in step order (and input order within a step): the loss or the caller (for a
      // source), then the backward steps of consumers, the first overwriting, the rest adding.
      // A joined concat writes nothing: its readers add into the group's gradient directly.
      std::vector<std::pair<int, Consumer>> writers;
      for (const Consumer& c : consumers_[v])
        if (plan_.layers[c.layer].backward_step >= 0 && !plan_.layers[c.layer].joined_in_place)
          writers.push_back({plan_.layers[c.layer].backward_step, c});
      std::sort(writers.begin(), writers.end(), [](const auto& a, const auto& b) {
        return a.first != b.first ? a.first < b.first : a.second.slot < b.second.slot;
      });
      const bool from_loss = gradient_source(v);
      const int last = v == 0 ? last_step() : plan_.layers[v - 1].backward_step;
      // (Only a value in a group can lack writers: the readers of its views write for it.)
      const int first = from_loss ? loss_step_ : writers.empty() ? last : writers.front().first;
      // An in-place layer's output gradient is its first input's; a later input's only where
      // the layer passes d_dst on unchanged (add), else two gradients would share bytes.
      const bool shares = !from_loss && writers.size() == 1 &&
                          in_place_[writers[0].second.layer] &&
                          (writers[0].second.slot == 0 ||
                           needs_[writers[0].second.layer].gradient_passes_through);
      // A value in a group: its gradient is its range of the group's gradient buffer, which
      // the first writer of any of the group's values finds cleared; every writer adds.
      const bool in_group = !shares && group_of_[v] >= 0;
      if (shares) {
        grad_buffer_[v] = grad_buffer_[writers[0].second.layer + 1];
        extend(grad_buffer_[v], first, last);
      } else if (in_group) {
        grad_buffer_[v] = group_buffer(group_of_[v], /*gradient=*/true);
        if (!writers.empty() || from_loss) extend(grad_buffer_[v], first, last);
        extend(grad_buffer_[v], last, last);
      } else {
        const std::string name = v == 0 ? "input.grad" : net_.node(v - 1).spec.name + ".out.grad";
        grad_buffer_[v] = add_buffer({.name = name, .category = Category::activation_grads,
                                      .size_bytes = opt_.batch * net_.value_shape(v).n_elems() * 4,
                                      .owner_layer = v - 1, .first_step = first, .last_step = last});
      }
      for (size_t w = 0; w < writers.size(); ++w) {
        LayerBuffers& lb = plan_.layers[writers[w].second.layer];
        const int slot = writers[w].second.slot;
        lb.d_src.resize(net_.node(writers[w].second.layer).inputs.size(), kNoBuffer);
        lb.d_src_accumulate.resize(lb.d_src.size(), false);
        lb.d_src[slot] = grad_buffer_[v];
        lb.d_src_accumulate[slot] = w > 0 || from_loss || in_group;
      }
    }
    // Each group's gradient is cleared just before the first backward step that adds into it.
    for (int buffer : group_grad_buffer_) {
      if (buffer == kNoBuffer) continue;
      for (LayerBuffers& lb : plan_.layers)
        if (lb.backward_step == plan_.buffers[buffer].first_step)
          lb.zero_before_backward.push_back(buffer);
    }
    plan_.output_grad_buffer = grad_buffer_[net_.outputs()[0]];
    plan_.input_grad_buffer = grad_buffer_[0];
    for (int v : opt_.taps) plan_.tap_grad_buffers.push_back(grad_buffer_[v]);
  }

  void request_layer_buffers() {
    const int opt_states = train_ ? optimizer_state_count(opt_.optimizer) : 0;
    for (int i = 0; i < net_.n_layers(); ++i) {
      LayerBuffers& lb = plan_.layers[i];
      const std::string& name = net_.node(i).spec.name;
      const int n_inputs = static_cast<int>(net_.node(i).inputs.size());
      for (int v : net_.node(i).inputs) {
        lb.src.push_back(value_buffer_[v]);
        lb.src_offset_bytes.push_back(view_[v].offset_bytes);
        lb.src_stride.push_back(view_[v].stride);
        FP_CHECK(needs_[i].strided_src || view_[v].stride == net_.value_shape(v).n_elems(),
                 "layer %d reads a strided view but does not take strides", i);
      }
      lb.dst = value_buffer_[i + 1];
      lb.dst_offset_bytes = view_[i + 1].offset_bytes;
      lb.dst_stride = view_[i + 1].stride;
      FP_CHECK(needs_[i].strided_dst || lb.dst_stride == net_.node(i).out_shape.n_elems(),
               "layer %d writes a strided view but does not take strides", i);
      lb.d_src.resize(n_inputs, kNoBuffer);
      lb.d_src_accumulate.resize(n_inputs, false);
      if (train_ && lb.backward_step >= 0) lb.d_dst = grad_buffer_[i + 1];
      // Parameters of a layer with no backward step (a branch that leads to no loss) get no
      // gradient and are not trained.
      const bool trains_params = train_ && opt_.train_params && lb.backward_step >= 0;
      lb.backward_reads_src = train_ && lb.backward_step >= 0 && needs_[i].saves_input;
      lb.backward_reads_dst = train_ && lb.backward_step >= 0 && needs_[i].saves_output;
      lb.tile = needs_[i].tile;
      lb.algorithm = needs_[i].algorithm;
      for (const ParamSpec& p : params_[i]) {
        const std::string param = name + "." + p.name;
        lb.params.push_back(add_buffer({.name = param, .category = Category::weights,
                                        .size_bytes = p.n_elems * 4, .owner_layer = i,
                                        .persistent = true}));
        if (!train_) continue;
        std::vector<int> states;
        if (p.trainable && trains_params) {
          // Updated in backward: alive from the backward step to the layer's update step.
          const bool in_arena = update_step_[i] >= 0;
          lb.param_grads.push_back(add_buffer({.name = param + ".grad",
                                               .category = Category::weight_grads,
                                               .size_bytes = p.n_elems * 4, .owner_layer = i,
                                               .first_step = in_arena ? lb.backward_step : 0,
                                               .last_step = in_arena ? update_step_[i] : 0,
                                               .persistent = !in_arena}));
          for (int s = 0; s < opt_states; ++s) {
            states.push_back(add_buffer({.name = param + (s == 0 ? ".m" : ".v"),
                                         .category = Category::optimizer_state,
                                         .size_bytes = p.n_elems * 4, .owner_layer = i,
                                         .persistent = true}));
          }
        } else {
          lb.param_grads.push_back(kNoBuffer);
        }
        lb.optimizer_state.push_back(states);
      }
      if (train_) {
        const int saved_last =
            lb.backward_step >= 0 ? lb.backward_step : lb.forward_step;
        for (const SavedSpec& s : needs_[i].saved) {
          lb.saved.push_back(add_buffer({.name = name + "." + s.name, .category = Category::saved,
                                         .size_bytes = s.size_bytes, .owner_layer = i,
                                         .first_step = lb.forward_step, .last_step = saved_last}));
        }
      }
      if (lb.fused_activation >= 0) {
        // Planes of the activation's output gradient, one run of them per thread at a time.
        const Shape& in = net_.value_shape(net_.node(i).inputs[0]);
        lb.backward_workspace =
            add_buffer({.name = name + ".backward_workspace (fused)", .category = Category::workspace,
                        .size_bytes = opt_.threads * in.h * in.w * 4, .owner_layer = i,
                        .first_step = lb.backward_step, .last_step = lb.backward_step});
      }
      if (needs_[i].workspace_bytes > 0) {
        lb.workspace = add_buffer({.name = name + ".workspace", .category = Category::workspace,
                                   .size_bytes = needs_[i].workspace_bytes, .owner_layer = i,
                                   .first_step = lb.forward_step, .last_step = lb.forward_step});
        if (lb.backward_step >= 0) {
          lb.backward_workspace =
              add_buffer({.name = name + ".backward_workspace", .category = Category::workspace,
                          .size_bytes = needs_[i].workspace_bytes, .owner_layer = i,
                          .first_step = lb.backward_step, .last_step = lb.backward_step});
        }
      }
      if (binding_of_[i] >= 0) bind_recompute(i);
    }
  }

  // A recomputed layer's recompute and backward steps, or the backward step of a layer that
  // keeps a recomputed input: the layer's bindings, reading the recomputed instances of
  // recomputed values, with a workspace of its own for a recompute. Saved compact buffers have
  // one instance, written again by the recompute with the same bytes.
  void bind_recompute(int i) {
    LayerBuffers rb = plan_.layers[i];
    const std::vector<int>& inputs = net_.node(i).inputs;
    for (size_t k = 0; k < inputs.size(); ++k) {
      const int v = inputs[k];
      if ((recomputed(v) && (recompute_[i] || readers_[i])) ||
          (compact_[v] && (keeps_input(i) || recompute_[i])))
        rb.src[k] = value_buffer1_[v];
    }
    if (compact_[i + 1] && needs_[i].saves_output) rb.dst = value_buffer1_[i + 1];
    if (!recompute_[i]) {
      plan_.recompute_bindings[static_cast<size_t>(binding_of_[i])] = std::move(rb);
      return;
    }
    rb.dst = value_buffer1_[i + 1];
    rb.forward_step = recompute_step_[i];
    if (needs_[i].workspace_bytes > 0) {
      rb.workspace = add_buffer({.name = net_.node(i).spec.name + ".workspace (recompute)",
                                 .category = Category::workspace,
                                 .size_bytes = needs_[i].workspace_bytes, .owner_layer = i,
                                 .first_step = rb.forward_step, .last_step = rb.forward_step});
    }
    plan_.recompute_bindings[static_cast<size_t>(binding_of_[i])] = std::move(rb);
  }

  void place() {
    for (int index : persistent_order()) {
      Buffer& b = plan_.buffers[index];
      b.first_step = 0;
      b.last_step = last_step();
      b.offset_bytes = plan_.persistent_bytes;
      plan_.persistent_bytes += b.size_bytes;
    }
    if (opt_.ranks > 1 && train_) {
      cut_gradient_buckets();
      add_sum_scratch();
    }
    plan_.arena_bytes = opt_.reuse ? place_greedy_by_size(plan_.buffers)
                                   : place_without_reuse(plan_.buffers);
    plan_.total_bytes = plan_.arena_bytes + plan_.persistent_bytes;
  }

  // The persistent block's order. One process: the buffers' own order. Data parallel: the weight
  // gradients first, in the order the backward pass finishes them, so that each bucket of them
  // is one contiguous range summed in place; then the non-trained state averaged over the ranks
  // (also one range); then the rest.
  [[nodiscard]] std::vector<int> persistent_order() const {
    std::vector<int> order;
    std::vector<bool> taken(plan_.buffers.size(), false);
    auto take = [&](int b) {
      if (b == kNoBuffer || taken[static_cast<size_t>(b)]) return;
      taken[static_cast<size_t>(b)] = true;
      order.push_back(b);
    };
    if (opt_.ranks > 1 && train_) {
      for (int i : layers_in_backward_order())
        for (int g : plan_.layers[i].param_grads) take(g);
      for (int i = 0; i < net_.n_layers(); ++i)
        for (size_t p = 0; p < params_[i].size(); ++p)
          if (!params_[i][p].trainable) take(plan_.layers[i].params[p]);
    }
    for (size_t b = 0; b < plan_.buffers.size(); ++b)
      if (plan_.buffers[b].persistent) take(static_cast<int>(b));
    return order;
  }

  // Layers with a backward step, in the order their backward steps run.
  [[nodiscard]] std::vector<int> layers_in_backward_order() const {
    std::vector<int> layers;
    for (int i = 0; i < net_.n_layers(); ++i)
      if (plan_.layers[i].backward_step >= 0) layers.push_back(i);
    std::sort(layers.begin(), layers.end(), [&](int a, int b) {
      return plan_.layers[a].backward_step < plan_.layers[b].backward_step;
    });
    return layers;
  }

  // Buckets of whole layers' gradients, each closed once it holds gradient_bucket_bytes: a
  // layer's gradients are all written by its one backward step, so a bucket is ready after the
  // backward step of its last layer. Then the range of non-trained state.
  void cut_gradient_buckets() {
    GradientBucket open;
    auto close = [&] {
      if (open.buffers.empty()) return;
      const Buffer& last = plan_.buffers[static_cast<size_t>(open.buffers.back())];
      open.size_bytes = last.offset_bytes + last.size_bytes - open.offset_bytes;
      plan_.gradient_buckets.push_back(std::move(open));
      open = GradientBucket{};
    };
    for (int i : layers_in_backward_order()) {
      const LayerBuffers& lb = plan_.layers[i];
      bool any = false;
      for (int g : lb.param_grads) {
        if (g == kNoBuffer) continue;
        const int64_t offset = plan_.buffers[static_cast<size_t>(g)].offset_bytes;
        if (open.buffers.empty()) {
          open.offset_bytes = offset;
          open.first_layer = i;
        } else {
          const Buffer& before = plan_.buffers[static_cast<size_t>(open.buffers.back())];
          FP_CHECK(offset == before.offset_bytes + before.size_bytes,
                   "gradient %d is not next to the one before it", g);
        }
        open.buffers.push_back(g);
        any = true;
      }
      if (!any) continue;
      open.last_layer = i;
      open.ready_step = lb.backward_step;
      const Buffer& last = plan_.buffers[static_cast<size_t>(open.buffers.back())];
      if (last.offset_bytes + last.size_bytes - open.offset_bytes >= opt_.gradient_bucket_bytes) close();
    }
    close();
    int64_t begin = -1, end = -1;
    for (int i = 0; i < net_.n_layers(); ++i) {
      for (size_t p = 0; p < params_[i].size(); ++p) {
        if (params_[i][p].trainable) continue;
        const Buffer& b = plan_.buffers[static_cast<size_t>(plan_.layers[i].params[p])];
        if (begin < 0) begin = b.offset_bytes;
        FP_CHECK(end < 0 || b.offset_bytes == end, "state %s is not next to the state before it",
                 b.name.c_str());
        end = b.offset_bytes + b.size_bytes;
      }
    }
    if (begin >= 0) {
      plan_.synced_state_offset_bytes = begin;
      plan_.synced_state_bytes = end - begin;
    }
  }

  // What the sums over the ranks receive into (Communicator::prepare_sum): one buffer per bucket
  // and one for the averaged state, each the largest of the ranks' chunks, so every bucket can be
  // in flight at once while backward still runs. At the end of the persistent block: they come
  // after the buckets are cut, which needs the gradients' offsets.
  void add_sum_scratch() {
    // A buffer of category allreduce, appended to the persistent block.
    auto persistent = [&](const std::string& name, int64_t bytes) {
      const int b = add_buffer({.name = name, .category = Category::allreduce,
                                .size_bytes = bytes, .first_step = 0,
                                .last_step = last_step(), .persistent = true});
      Buffer& buffer = plan_.buffers[static_cast<size_t>(b)];
      buffer.offset_bytes = plan_.persistent_bytes;
      plan_.persistent_bytes += buffer.size_bytes;
      return b;
    };
    // The scratch a ring sum of `bytes` of floats receives the other ranks' parts into.
    auto scratch = [&](const std::string& name, int64_t bytes) {
      return persistent(name, sum_scratch_size(bytes / 4, opt_.ranks) * 4);
    };
    for (size_t k = 0; k < plan_.gradient_buckets.size(); ++k) {
      GradientBucket& bucket = plan_.gradient_buckets[k];
      bucket.scratch_buffer = scratch("all-reduce bucket " + std::to_string(k) + " (" +
                                          net_.node(bucket.first_layer).spec.name + " .. " +
                                          net_.node(bucket.last_layer).spec.name + ")",
                                      bucket.size_bytes);
    }
    if (plan_.synced_state_bytes > 0)
      plan_.synced_state_scratch_buffer = scratch("all-reduce running statistics",
                                                  plan_.synced_state_bytes);
    int64_t doubles = 0;
    for (const LayerNeeds& n : needs_) doubles = std::max(doubles, n.rank_sum_doubles);
    if (doubles > 0) {  // layers that sum within their steps (synchronised batch norm)
      plan_.rank_sums_buffer = persistent("synchronised batch statistics",
                                          doubles * int64_t{sizeof(double)});
      plan_.rank_sums_scratch_buffer =
          persistent("all-reduce synchronised batch statistics",
                     sum_scratch_size(doubles, opt_.ranks) * int64_t{sizeof(double)});
    }
  }

  void summarise() {
    plan_.outside.push_back({"worker threads: stacks, allocator state, BLAS packing (bound)",
                             opt_.threads * kOutsideBytesPerThread});
    plan_.live_bytes.assign(plan_.steps.size(), 0);
    for (const Buffer& b : plan_.buffers) {
      plan_.category_bytes[static_cast<int>(b.category)] += b.size_bytes;
      for (int s = b.first_step; s <= b.last_step; ++s) plan_.live_bytes[s] += b.size_bytes;
    }
    plan_.peak_step = static_cast<int>(
        std::max_element(plan_.live_bytes.begin(), plan_.live_bytes.end()) -
        plan_.live_bytes.begin());
    for (int i = 0; i < net_.n_layers(); ++i) {
      const int64_t flops = needs_[i].forward_flops > 0
                                ? needs_[i].forward_flops
                                : opt_.batch * net_.node(i).out_shape.n_elems();
      plan_.forward_flops += flops;
      if (recompute_[i]) plan_.recompute_flops += flops;
      const LayerBuffers& lb = plan_.layers[i];
      LayerReport r{.name = net_.node(i).spec.name, .op = net_.node(i).spec.op,
                    .output_shape = net_.node(i).out_shape, .in_place = lb.in_place};
      for (const ParamSpec& p : params_[i])
        if (p.trainable && opt_.train_params) r.params += p.n_elems;  // the net's, trained or not
      // A value in a group counts its own range; a joined concat adds no bytes of its own.
      if (!lb.in_place) {
        r.activation_bytes = group_of_[i + 1] < 0 ? plan_.buffers[lb.dst].size_bytes
                             : lb.joined_in_place ? 0
                                                  : opt_.batch * net_.node(i).out_shape.n_elems() * 4;
      }
      r.joined_in_place = lb.joined_in_place;
      r.forward_flops = flops;
      r.recomputed = recompute_[i];
      r.saved_bf16 = compact_[i + 1];
      r.path = needs_[i].path;
      for (int s : lb.saved) r.saved_bytes += plan_.buffers[s].size_bytes;
      if (compact_[i + 1]) {
        const CompactValue& c = plan_.compact_values[static_cast<size_t>(compact_index_[i + 1])];
        r.saved_bytes += plan_.buffers[static_cast<size_t>(c.bf16_buffer)].size_bytes;
      }
      if (lb.workspace != kNoBuffer) r.workspace_bytes = plan_.buffers[lb.workspace].size_bytes;
      plan_.params += r.params;
      plan_.layer_reports.push_back(std::move(r));
    }
  }

  const Net& net_;
  const PlanOptions opt_;
  Plan plan_;
  bool train_ = true;
  int loss_step_ = -1;
  std::vector<std::vector<Consumer>> consumers_;  // per value
  std::vector<LayerNeeds> needs_;                 // per layer
  std::vector<std::vector<ParamSpec>> params_;    // per layer
  std::vector<bool> needs_grad_;                  // per value: depends on something trained
  std::vector<bool> flows_;                       // per value: gets a gradient
  std::vector<bool> is_output_;                   // per value
  std::vector<bool> in_place_;                    // per layer
  std::vector<int> value_buffer_;                 // per value
  std::vector<bool> recompute_;                   // per layer
  std::vector<int> fused_pool_;                   // per activation layer: its fused pool, or -1
  std::vector<bool> readers_;                     // per layer: backward reads recomputed inputs
  std::vector<int> recompute_step_, binding_of_;  // per recomputed layer (else -1)
  std::vector<int> update_step_;                  // per layer updated in backward (else -1)
  std::vector<int> value_buffer1_;                // per recomputed or compact value: its second instance
  std::vector<bool> compact_;                     // per value: kept in bfloat16
  std::vector<int> compact_index_;                // per compact value: in plan_.compact_values
  std::vector<int> compress_step_, expand_step_;  // per compact value (else -1)
  struct View {
    int64_t offset_bytes = 0;
    int64_t stride = 0;  // floats from one sample to the next
  };
  std::vector<View> view_;                        // per value (and its gradient)
  std::vector<ChannelGroup> groups_;              // concats joined in place
  std::vector<int> group_of_;                     // per value: its group, or -1
  std::vector<int> group_buffer_, group_grad_buffer_;  // per group
  std::vector<int> grad_buffer_;                  // per value
};

}  // namespace

Plan plan_with_recompute(const Net& net, const PlanOptions& options,
                         const RecomputeChoice& recompute) {
  return Planner(net, options, recompute).run();
}

Plan plan(const Net& net, const PlanOptions& options) {
  if (options.memory_budget > 0 && options.mode == Mode::train) {
    return plan_within_budget(net, options);
  }
  return Planner(net, options, {}).run();
}

const char* category_name(Category category) {
  switch (category) {
    case Category::weights: return "weights";
    case Category::weight_grads: return "weight_grads";
    case Category::optimizer_state: return "optimizer_state";
    case Category::activations: return "activations";
    case Category::saved: return "saved";
    case Category::activation_grads: return "activation_grads";
    case Category::workspace: return "workspace";
    case Category::io: return "io";
    case Category::data: return "data";
    case Category::allreduce: return "allreduce";
  }
  return "?";
}

const char* mode_name(Mode mode) { return mode == Mode::train ? "train" : "infer"; }

const char* optimizer_name(OptimizerKind kind) {
  switch (kind) {
    case OptimizerKind::sgd: return "sgd";
    case OptimizerKind::momentum: return "momentum";
    case OptimizerKind::adam: return "adam";
    case OptimizerKind::adamw: return "adamw";
  }
  return "?";
}

int optimizer_state_count(OptimizerKind kind) {
  switch (kind) {
    case OptimizerKind::sgd: return 0;
    case OptimizerKind::momentum: return 1;
    case OptimizerKind::adam:
    case OptimizerKind::adamw: return 2;
  }
  return 0;
}

const char* saved_dtype_name(SavedDtype dtype) { return dtype == SavedDtype::bf16 ? "bf16" : "f32"; }

std::string Plan::step_label(int step) const {
  const Step& s = steps.at(step);
  switch (s.kind) {
    case StepKind::compress: return layer_reports.at(s.layer).name + ".out to bf16";
    case StepKind::expand: return layer_reports.at(s.layer).name + ".out from bf16";
    case StepKind::forward: return layer_reports.at(s.layer).name + " forward";
    case StepKind::backward: return layer_reports.at(s.layer).name + " backward";
    case StepKind::loss: return "loss";
    case StepKind::update:
      return s.layer < 0 ? "optimizer update" : layer_reports.at(s.layer).name + " update";
  }
  return "?";
}

}  // namespace footprint
