// concat FROM: the previous value's channels followed by those of the earlier layer FROM
// (same height and width). Saves nothing.
#include <cstring>

#include "core/thread_pool.hpp"
#include "footprint/error.hpp"
#include "layers/attr_reader.hpp"
#include "layers/layer.hpp"

namespace footprint {
namespace {

class Concat final : public Layer {
 public:
  explicit Concat(const LayerSpec& spec) {
    AttrReader r(spec);
    (void)r.arg_name("source layer");
    r.finish();
  }
  std::string_view op() const override { return "concat"; }
  int n_inputs() const override { return 2; }

  Shape infer_shape(std::span<const Shape> in) const override {
    if (in[0].h != in[1].h || in[0].w != in[1].w) {
      throw ShapeError("cannot concatenate channels of " + in[0].str() + " and " + in[1].str() +
                       ": heights and widths differ");
    }
    return {in[0].c + in[1].c, in[0].h, in[0].w};
  }
  LayerNeeds describe(const PlanContext&) const override { return {}; }

  void forward(const StepArgs& a) const override {
    const int64_t size0 = a.in_shape[0].n_elems(), size1 = a.in_shape[1].n_elems();
    a.pool->parallel_for(a.batch, [&](int64_t begin, int64_t end, int) {
      for (int64_t n = begin; n < end; ++n) {
        float* out = a.dst + n * (size0 + size1);
        std::memcpy(out, a.src[0] + n * size0, sizeof(float) * size0);
        std::memcpy(out + size0, a.src[1] + n * size1, sizeof(float) * size1);
      }
    });
  }

  void backward(const StepArgs& a) const override {
    const int64_t sizes[2] = {a.in_shape[0].n_elems(), a.in_shape[1].n_elems()};
    a.pool->parallel_for(a.batch, [&](int64_t begin, int64_t end, int) {
      for (int64_t n = begin; n < end; ++n) {
        const float* d_out = a.d_dst + n * (sizes[0] + sizes[1]);
        for (int input = 0; input < 2; ++input) {
          float* d = a.d_src[input];
          const float* part = d_out + (input == 0 ? 0 : sizes[0]);
          if (!d) continue;
          d += n * sizes[input];
          for (int64_t i = 0; i < sizes[input]; ++i) {
            d[i] = a.d_src_accumulate[input] ? d[i] + part[i] : part[i];
          }
        }
      }
    });
  }
};

}  // namespace

std::unique_ptr<Layer> make_Concat(const LayerSpec& spec) { return std::make_unique<Concat>(spec); }

}  // namespace footprint
