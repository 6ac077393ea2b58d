// Element-wise activations. Most have a derivative that can be written from the output alone, so
// backward keeps the output, not the input, and the layer can overwrite its input (in place).
// Those whose output does not determine the slope (hardswish, silu, gelu) keep the input instead;
// they still say they may run in place, which the planner allows only where nothing keeps the
// input for a backward step (inference, or no gradient through them), so memory is saved there.
#pragma once

#include "core/thread_pool.hpp"
#include "layers/attr_reader.hpp"
#include "layers/layer.hpp"

namespace footprint {

// Elements below which a step is not split over threads: waking a thread costs about as much as
// applying a cheap activation to this many values.
inline constexpr int64_t kActivationGrain = 16384;

// Fn provides: float apply(float x) const; float derivative(float y) const (y = apply(x)), or,
// with `static constexpr bool kDerivativeFromInput = true`, float derivative(float x) const.
// It may also provide void apply_n(const float* src, float* dst, int64_t n) const, a vectorised
// version of apply over an array (src may equal dst), tested against apply.
template <typename Fn>
class Activation final : public Layer {
 public:
  Activation(const char* op, Fn fn) : op_(op), fn_(fn) {}
  std::string_view op() const override { return op_; }
  Shape infer_shape(std::span<const Shape> in) const override { return in[0]; }

  LayerNeeds describe(const PlanContext&) const override {
    return {.saves_input = kFromInput, .saves_output = !kFromInput, .may_run_in_place = true};
  }

  // src may equal dst.
  void forward(const StepArgs& a) const override {
    const float* src = a.src[0];
    float* dst = a.dst;
    a.pool->parallel_for(a.batch * a.out_shape.n_elems(), [&](int64_t begin, int64_t end, int) {
      if constexpr (requires { fn_.apply_n(src, dst, end); }) {
        fn_.apply_n(src + begin, dst + begin, end - begin);
      } else {
        for (int64_t i = begin; i < end; ++i) dst[i] = fn_.apply(src[i]);
      }
    }, kActivationGrain);
  }

  // d_src may equal d_dst.
  void backward(const StepArgs& a) const override {
    float* d_src = a.d_src[0];
    if (!d_src) return;
    const float* v = kFromInput ? a.src[0] : a.dst;  // what derivative() reads
    const float* d_dst = a.d_dst;
    const bool accumulate = a.d_src_accumulate[0];
    a.pool->parallel_for(a.batch * a.out_shape.n_elems(), [&](int64_t begin, int64_t end, int) {
      // Two loops, so each vectorises without a test per element.
      if (accumulate) {
        for (int64_t i = begin; i < end; ++i) d_src[i] += d_dst[i] * fn_.derivative(v[i]);
      } else {
        for (int64_t i = begin; i < end; ++i) d_src[i] = d_dst[i] * fn_.derivative(v[i]);
      }
    }, kActivationGrain);
  }

 private:
  static constexpr bool kFromInput = requires { requires Fn::kDerivativeFromInput; };
  const char* op_;
  Fn fn_;
};

}  // namespace footprint
