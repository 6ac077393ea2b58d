// add FROM: the previous value plus the value of the earlier layer FROM (same shapes).
// Saves nothing; may overwrite the previous value (in place).
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
    (void)r.arg_name("source layer");
    r.finish();
  }
  std::string_view op() const override { return "add"; }
  int n_inputs() const override { return 2; }

  Shape infer_shape(std::span<const Shape> in) const override {
    if (!(in[0] == in[1])) {
      throw ShapeError("cannot add shapes " + in[0].str() + " and " + in[1].str());
    }
    return in[0];
  }
  LayerNeeds describe(const PlanContext&) const override { return {.may_run_in_place = true}; }

  void forward(const StepArgs& a) const override {
    a.pool->parallel_for(a.batch * a.out_shape.n_elems(), [&](int64_t begin, int64_t end, int) {
      for (int64_t i = begin; i < end; ++i) a.dst[i] = a.src[0][i] + a.src[1][i];
    });
  }

  // d_src[0] may be d_dst itself (in place); then its "copy" is skipped and read last.
  void backward(const StepArgs& a) const override {
    a.pool->parallel_for(a.batch * a.out_shape.n_elems(), [&](int64_t begin, int64_t end, int) {
      for (int input = 1; input >= 0; --input) {
        float* d = a.d_src[input];
        if (!d || d == a.d_dst) continue;
        for (int64_t i = begin; i < end; ++i) {
          d[i] = a.d_src_accumulate[input] ? d[i] + a.d_dst[i] : a.d_dst[i];
        }
      }
    });
  }
};

}  // namespace

std::unique_ptr<Layer> make_Add(const LayerSpec& spec) { return std::make_unique<Add>(spec); }

}  // namespace footprint
