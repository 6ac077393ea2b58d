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

// Element-wise work over a batch: one call for the whole batch when its samples lie back to back
// (visit(0) over sample_elems = batch * size), else one call per sample (a channel range of a
// larger tensor, see LayerNeeds::strided_dst).
inline bool samples_contiguous(const StepArgs& a) {
  const int64_t size = a.out_shape.n_elems();
  return a.dst_stride == size && a.src_stride[0] == size;
}
template <typename Visit>
void for_each_sample(const StepArgs& a, Visit&& visit) {
  if (samples_contiguous(a)) {
    visit(0);
    return;
  }
  for (int64_t n = 0; n < a.batch; ++n) visit(n);
}
inline int64_t sample_elems(const StepArgs& a, int64_t) {
  return samples_contiguous(a) ? a.batch * a.out_shape.n_elems() : a.out_shape.n_elems();
}

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
    return {.saves_input = kFromInput, .saves_output = !kFromInput, .may_run_in_place = true,
            .strided_src = true, .strided_dst = true, .elementwise_from_output = !kFromInput};
  }

  // src may equal dst.
  void forward(const StepArgs& a) const override {
    for_each_sample(a, [&](int64_t n) {
      const float* src = a.src[0] + n * a.src_stride[0];
      float* dst = a.dst + n * a.dst_stride;
      a.pool->parallel_for(sample_elems(a, n), [&](int64_t begin, int64_t end, int) {
        if constexpr (requires { fn_.apply_n(src, dst, end); }) {
          fn_.apply_n(src + begin, dst + begin, end - begin);
        } else {
          for (int64_t i = begin; i < end; ++i) dst[i] = fn_.apply(src[i]);
        }
      }, kActivationGrain);
    });
  }

  bool apply_in_place(float* x, int64_t n) const override {
    if constexpr (requires { fn_.apply_n(x, x, n); }) {
      fn_.apply_n(x, x, n);
    } else {
      for (int64_t i = 0; i < n; ++i) x[i] = fn_.apply(x[i]);
    }
    return true;
  }

  // d_src may equal d_dst.
  void backward(const StepArgs& a) const override {
    if (!a.d_src[0]) return;
    const bool accumulate = a.d_src_accumulate[0];
    for_each_sample(a, [&](int64_t n) {
      float* d_src = a.d_src[0] + n * a.src_stride[0];
      // What derivative() reads: the input, or the output.
      const float* v = kFromInput ? a.src[0] + n * a.src_stride[0] : a.dst + n * a.dst_stride;
      const float* d_dst = a.d_dst + n * a.dst_stride;
      a.pool->parallel_for(sample_elems(a, n), [&](int64_t begin, int64_t end, int) {
        // Two loops, so each vectorises without a test per element.
        if (accumulate) {
          for (int64_t i = begin; i < end; ++i) d_src[i] += d_dst[i] * fn_.derivative(v[i]);
        } else {
          for (int64_t i = begin; i < end; ++i) d_src[i] = d_dst[i] * fn_.derivative(v[i]);
        }
      }, kActivationGrain);
    });
  }

 private:
  static constexpr bool kFromInput = requires { requires Fn::kDerivativeFromInput; };
  const char* op_;
  Fn fn_;
};

}  // namespace footprint
