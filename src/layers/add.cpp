// add: the element-wise sum of two or more values of the same shape ("add in=a,b,c", or the old
// "add FROM": the previous value plus FROM). Saves nothing; may overwrite its first input.
#include "core/thread_pool.hpp"
#include "footprint/error.hpp"
#include "layers/attr_reader.hpp"
#include "layers/layer.hpp"

namespace footprint {
namespace {

class Add final : public Layer {
 public:
  explicit Add(const LayerSpec& spec) {
    AttrReader r(spec);
    r.finish();
  }
  std::string_view op() const override { return "add"; }
  Arity arity() const override { return {.min = 2, .max = kAnyNumber}; }

  Shape infer_shape(std::span<const Shape> in) const override {
    for (size_t k = 1; k < in.size(); ++k) {
      if (!(in[k] == in[0])) {
        throw ShapeError("cannot add shapes " + in[0].str() + " and " + in[k].str());
      }
    }
    return in[0];
  }
  LayerNeeds describe(const PlanContext&) const override {
    return {.may_run_in_place = true, .gradient_passes_through = true};
  }

  void forward(const StepArgs& a) const override {
    a.pool->parallel_for(a.batch * a.out_shape.n_elems(), [&](int64_t begin, int64_t end, int) {
      for (int64_t i = begin; i < end; ++i) a.dst[i] = a.src[0][i] + a.src[1][i];
      for (size_t k = 2; k < a.src.size(); ++k)
        for (int64_t i = begin; i < end; ++i) a.dst[i] += a.src[k][i];
    });
  }

  // In place, d_src[0] is d_dst itself: its gradient is already there. Inputs in order, so a
  // value read twice is written by its first input before its second adds to it.
  void backward(const StepArgs& a) const override {
    a.pool->parallel_for(a.batch * a.out_shape.n_elems(), [&](int64_t begin, int64_t end, int) {
      for (size_t k = 0; k < a.d_src.size(); ++k) {
        float* d = a.d_src[k];
        if (!d || d == a.d_dst) continue;
        if (a.d_src_accumulate[k]) {
          for (int64_t i = begin; i < end; ++i) d[i] += a.d_dst[i];
        } else {
          for (int64_t i = begin; i < end; ++i) d[i] = a.d_dst[i];
        }
      }
    });
  }
};

}  // namespace

std::unique_ptr<Layer> make_Add(const LayerSpec& spec) { return std::make_unique<Add>(spec); }

}  // namespace footprint
