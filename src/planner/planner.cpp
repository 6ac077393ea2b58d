// The planner: net + options -> schedule -> buffer requests with lifetimes -> placement -> Plan.
// Never runs a kernel; a pure function of its inputs.
//
// Step by step:
//  1. Schedule: forward steps in layer order (every layer comes after the values it reads); in
//     training the loss step, backward steps in reverse order for layers whose output gets a
//     gradient, and one optimizer update step. A value gets a gradient when it depends on
//     something trained (or is the input, with input_grad) and a path of layers leads from it to
//     the loss or a tap: a branch that feeds only a second output gets no backward steps.
//  2. In place: an op that can overwrite its input does so when nothing else reads that input
//     (one consumer, not kept for anyone's backward, not a net output). Its output then shares
//     the input's buffer, and in training its input gradient shares its output gradient's.
//  3. Requests: every value, gradient, compact saved value and workspace becomes a buffer whose
//     lifetime runs from the step that writes it first to the last step that reads it.
//     Parameters, their gradients and optimizer state are persistent.
//  4. Placement (placement.hpp) packs the non-persistent buffers into one arena.
#include <algorithm>
#include <map>

#include "footprint/error.hpp"
#include "footprint/plan.hpp"
#include "layers/layer.hpp"
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
  Planner(const Net& net, const PlanOptions& options) : net_(net), opt_(options) {}

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
    collect_params();
    mark_gradients();  // before describe: a layer plans its backward by what it must compute
    describe_layers();
    schedule();
    choose_in_place();
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
    for (int v : opt_.taps) {
      if (opt_.mode != Mode::train) throw PlanError("feature taps need train mode");
      if (v < 0 || v > net_.n_layers()) {
        throw PlanError("tap " + std::to_string(v) + ": no such value (0.." +
                        std::to_string(net_.n_layers()) + ")");
      }
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
                      .direct_conv = opt_.direct_conv};
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
    plan_.layers.assign(n_layers, {});
    for (int i = 0; i < n_layers; ++i) {
      plan_.layers[i].forward_step = static_cast<int>(plan_.steps.size());
      plan_.steps.push_back({StepKind::forward, i});
    }
    if (!train_) return;
    loss_step_ = static_cast<int>(plan_.steps.size());
    plan_.loss_step = loss_step_;
    plan_.steps.push_back({StepKind::loss, kNoLayer});
    for (int i = n_layers - 1; i >= 0; --i) {
      if (!flows_[i + 1]) continue;
      plan_.layers[i].backward_step = static_cast<int>(plan_.steps.size());
      plan_.steps.push_back({StepKind::backward, i});
    }
    plan_.steps.push_back({StepKind::update, kNoLayer});
  }

  [[nodiscard]] int last_step() const { return static_cast<int>(plan_.steps.size()) - 1; }

  [[nodiscard]] bool tapped(int value) const {
    return std::find(opt_.taps.begin(), opt_.taps.end(), value) != opt_.taps.end();
  }

  [[nodiscard]] bool value_saved_for_backward(int value) const {
    if (!train_) return false;
    if (value > 0 && needs_[value - 1].saves_output && plan_.layers[value - 1].backward_step >= 0)
      return true;
    for (const Consumer& c : consumers_[value])
      if (needs_[c.layer].saves_input && plan_.layers[c.layer].backward_step >= 0) return true;
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
  [[nodiscard]] int value_last_use(int value) const {
    int last = value == 0 ? 0 : plan_.layers[value - 1].forward_step;
    for (const Consumer& c : consumers_[value]) {
      last = std::max(last, plan_.layers[c.layer].forward_step);
      if (train_ && needs_[c.layer].saves_input)
        last = std::max(last, plan_.layers[c.layer].backward_step);
    }
    if (train_ && value > 0 && needs_[value - 1].saves_output)
      last = std::max(last, plan_.layers[value - 1].backward_step);
    // Outputs stay readable until the loss (training) or the end (inference).
    if (is_output_[value]) last = train_ ? std::max(last, loss_step_) : last_step();
    if (tapped(value)) last = std::max(last, loss_step_);
    return last;
  }

  void request_values() {
    const int n_layers = net_.n_layers();
    const int64_t batch = opt_.batch;
    value_buffer_.assign(n_layers + 1, kNoBuffer);
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
      } else {
        value_buffer_[v] = add_buffer({.name = net_.node(i).spec.name + ".out",
                                       .category = Category::activations,
                                       .size_bytes = batch * net_.node(i).out_shape.n_elems() * 4,
                                       .owner_layer = i, .first_step = first,
                                       .last_step = value_last_use(v)});
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
  }

  void request_gradients() {
    const int n_layers = net_.n_layers();
    grad_buffer_.assign(n_layers + 1, kNoBuffer);
    // From the output back, so an in-place layer's input gradient can share its output's.
    for (int v = n_layers; v >= 0; --v) {
      if (!flows_[v]) continue;
      // Writers in step order (and input order within a step): the loss or the caller (for a
      // source), then the backward steps of consumers, the first overwriting, the rest adding.
      std::vector<std::pair<int, Consumer>> writers;
      for (const Consumer& c : consumers_[v])
        if (plan_.layers[c.layer].backward_step >= 0)
          writers.push_back({plan_.layers[c.layer].backward_step, c});
      std::sort(writers.begin(), writers.end(), [](const auto& a, const auto& b) {
        return a.first != b.first ? a.first < b.first : a.second.slot < b.second.slot;
      });
      const bool from_loss = gradient_source(v);
      const int first = from_loss ? loss_step_ : writers.front().first;
      const int last = v == 0 ? last_step() : plan_.layers[v - 1].backward_step;
      // An in-place layer's output gradient is its first input's; a later input's only where
      // the layer passes d_dst on unchanged (add), else two gradients would share bytes.
      const bool shares = !from_loss && writers.size() == 1 &&
                          in_place_[writers[0].second.layer] &&
                          (writers[0].second.slot == 0 ||
                           needs_[writers[0].second.layer].gradient_passes_through);
      if (shares) {
        grad_buffer_[v] = grad_buffer_[writers[0].second.layer + 1];
        extend(grad_buffer_[v], first, last);
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
        lb.d_src_accumulate[slot] = w > 0 || from_loss;
      }
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
      for (int v : net_.node(i).inputs) lb.src.push_back(value_buffer_[v]);
      lb.dst = value_buffer_[i + 1];
      lb.d_src.resize(n_inputs, kNoBuffer);
      lb.d_src_accumulate.resize(n_inputs, false);
      if (train_ && lb.backward_step >= 0) lb.d_dst = grad_buffer_[i + 1];
      // Parameters of a layer with no backward step (a branch that leads to no loss) get no
      // gradient and are not trained.
      const bool trains_params = train_ && opt_.train_params && lb.backward_step >= 0;
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
          lb.param_grads.push_back(add_buffer({.name = param + ".grad",
                                               .category = Category::weight_grads,
                                               .size_bytes = p.n_elems * 4, .owner_layer = i,
                                               .persistent = true}));
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
    }
  }

  void place() {
    for (Buffer& b : plan_.buffers) {
      if (!b.persistent) continue;
      b.first_step = 0;
      b.last_step = last_step();
      b.offset_bytes = plan_.persistent_bytes;
      plan_.persistent_bytes += b.size_bytes;
    }
    plan_.arena_bytes = opt_.reuse ? place_greedy_by_size(plan_.buffers)
                                   : place_without_reuse(plan_.buffers);
    plan_.total_bytes = plan_.arena_bytes + plan_.persistent_bytes;
  }

  void summarise() {
    plan_.live_bytes.assign(plan_.steps.size(), 0);
    for (const Buffer& b : plan_.buffers) {
      plan_.category_bytes[static_cast<int>(b.category)] += b.size_bytes;
      for (int s = b.first_step; s <= b.last_step; ++s) plan_.live_bytes[s] += b.size_bytes;
    }
    plan_.peak_step = static_cast<int>(
        std::max_element(plan_.live_bytes.begin(), plan_.live_bytes.end()) -
        plan_.live_bytes.begin());
    for (int i = 0; i < net_.n_layers(); ++i) {
      const LayerBuffers& lb = plan_.layers[i];
      LayerReport r{.name = net_.node(i).spec.name, .op = net_.node(i).spec.op,
                    .output_shape = net_.node(i).out_shape, .in_place = lb.in_place};
      for (const ParamSpec& p : params_[i])
        if (p.trainable && opt_.train_params) r.params += p.n_elems;  // the net's, trained or not
      if (!lb.in_place) r.activation_bytes = plan_.buffers[lb.dst].size_bytes;
      for (int s : lb.saved) r.saved_bytes += plan_.buffers[s].size_bytes;
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
  std::vector<int> grad_buffer_;                  // per value
};

}  // namespace

Plan plan(const Net& net, const PlanOptions& options) { return Planner(net, options).run(); }

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

std::string Plan::step_label(int step) const {
  const Step& s = steps.at(step);
  switch (s.kind) {
    case StepKind::forward: return layer_reports.at(s.layer).name + " forward";
    case StepKind::backward: return layer_reports.at(s.layer).name + " backward";
    case StepKind::loss: return "loss";
    case StepKind::update: return "optimizer update";
  }
  return "?";
}

}  // namespace footprint
