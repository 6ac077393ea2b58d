#include "planner/liveness.hpp"

#include <algorithm>

namespace footprint {
namespace {

class Liveness {
 public:
  explicit Liveness(const Plan& plan) : plan_(plan), lives_(plan.buffers.size()) {}

  std::vector<Lifetime> run() {
    const int end = static_cast<int>(plan_.steps.size()) - 1;
    const bool train = plan_.loss_step >= 0;
    for (int s = 0; s <= end; ++s) {
      const Step& step = plan_.steps[s];
      if (step.kind == StepKind::compress || step.kind == StepKind::expand) {
        const CompactValue& c = plan_.compact_values.at(static_cast<size_t>(step.compact));
        const bool compress = step.kind == StepKind::compress;
        read(compress ? c.float_buffer : c.bf16_buffer, s);
        write(compress ? c.bf16_buffer : c.expanded_buffer, s);
        continue;
      }
      const LayerBuffers* lb = nullptr;
      if (step.layer >= 0) {
        lb = step.binding < 0 ? &plan_.layers[step.layer]
                              : &plan_.recompute_bindings[static_cast<size_t>(step.binding)];
      }
      if (step.kind == StepKind::forward) forward(s, *lb, train);
      if (step.kind == StepKind::backward) backward(s, *lb);
      // An update in backward reads its layer's gradients (PlanOptions::update_in_backward).
      if (step.kind == StepKind::update && lb)
        for (int b : lb->param_grads) read(b, s);
      if (step.kind == StepKind::loss) {
        read(plan_.output_buffer, s);
        read(plan_.target_buffer, s);
        write(plan_.output_grad_buffer, s);
        for (int b : plan_.tap_value_buffers) read(b, s);
        for (int b : plan_.tap_grad_buffers) write(b, s);
      }
    }
    // The caller's uses.
    write(plan_.input_buffer, 0);
    write(plan_.target_buffer, 0);
    if (train) read(plan_.input_buffer, end);
    read(plan_.target_buffer, end);  // inference: evaluation computes the loss after the steps
    for (int b : plan_.output_buffers) read(b, train ? plan_.loss_step : end);
    read(plan_.input_grad_buffer, end);
    for (size_t b = 0; b < plan_.buffers.size(); ++b)
      if (plan_.buffers[b].persistent) lives_[b] = {0, end};
    return std::move(lives_);
  }

 private:
  void forward(int s, const LayerBuffers& lb, bool train) {
    // A joined concat does no work, but its step is where its output is complete: it counts as
    // reading its inputs and writing its output (as its backward step reads its gradient).
    for (int b : lb.src) read(b, s);
    write(lb.dst, s);
    if (train) for (int b : lb.saved) write(b, s);
    write(lb.workspace, s);
  }

  void backward(int s, const LayerBuffers& lb) {
    for (int b : lb.zero_before_backward) write(b, s);
    if (lb.backward_fused) return;  // the pool after it did this step's work
    if (lb.fused_activation >= 0) read(lb.src[0], s);  // the activation's output, for f'(y)
    read(lb.d_dst, s);
    for (int b : lb.saved) read(b, s);
    if (lb.backward_reads_src) for (int b : lb.src) read(b, s);
    if (lb.backward_reads_dst) read(lb.dst, s);
    for (size_t k = 0; k < lb.d_src.size(); ++k) {
      if (lb.d_src_accumulate[k]) read(lb.d_src[k], s);  // adds to what is there
      write(lb.d_src[k], s);
    }
    write(lb.backward_workspace, s);
    for (int b : lb.param_grads) write(b, s);
  }

  void write(int buffer, int step) {
    if (buffer == kNoBuffer) return;
    Lifetime& life = lives_[static_cast<size_t>(buffer)];
    if (life.first < 0 || step < life.first) life.first = step;
    life.last = std::max(life.last, step);
  }
  void read(int buffer, int step) {
    if (buffer == kNoBuffer) return;
    Lifetime& life = lives_[static_cast<size_t>(buffer)];
    life.last = std::max(life.last, step);
  }

  const Plan& plan_;
  std::vector<Lifetime> lives_;
};

}  // namespace

std::vector<Lifetime> minimal_lifetimes(const Plan& plan) { return Liveness(plan).run(); }

}  // namespace footprint
