// Element-wise activations whose derivative can be written from the output alone, so backward
// keeps the output, not the input, and the layer can overwrite its input (in place).
#pragma once

#include "core/thread_pool.hpp"
#include "layers/attr_reader.hpp"
#include "layers/layer.hpp"

namespace footprint {

// Fn provides: float apply(float x) const; float derivative(float y) const (y = apply(x)).
template <typename Fn>
class Activation final : public Layer {
 public:
  Activation(const char* op, Fn fn) : op_(op), fn_(fn) {}
  std::string_view op() const override { return op_; }
  Shape infer_shape(std::span<const Shape> in) const override { return in[0]; }

  LayerNeeds describe(const PlanContext&) const override {
    return {.saves_output = true, .may_run_in_place = true};
  }

  // src may equal dst.
  void forward(const StepArgs& a) const override {
    const float* src = a.src[0];
    float* dst = a.dst;
    a.pool->parallel_for(a.batch * a.out_shape.n_elems(), [&](int64_t begin, int64_t end, int) {
      for (int64_t i = begin; i < end; ++i) dst[i] = fn_.apply(src[i]);
    });
  }

  // d_src may equal d_dst.
  void backward(const StepArgs& a) const override {
    float* d_src = a.d_src[0];
    if (!d_src) return;
    const float* y = a.dst;
    const float* d_dst = a.d_dst;
    const bool accumulate = a.d_src_accumulate[0];
    a.pool->parallel_for(a.batch * a.out_shape.n_elems(), [&](int64_t begin, int64_t end, int) {
      for (int64_t i = begin; i < end; ++i) {
        const float g = d_dst[i] * fn_.derivative(y[i]);
        d_src[i] = accumulate ? d_src[i] + g : g;
      }
    });
  }

 private:
  const char* op_;
  Fn fn_;
};

}  // namespace footprint
