// concat: two or more values joined along the channels, in input order ("concat in=a,b,c", or
// the old "concat FROM": the previous value's channels, then FROM's). Heights and widths must
// agree. Saves nothing.
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
    r.finish();
  }
  std::string_view op() const override { return "concat"; }
  Arity arity() const override { return {.min = 2, .max = kAnyNumber}; }

  Shape infer_shape(std::span<const Shape> in) const override {
    Shape out = in[0];
    for (size_t k = 1; k < in.size(); ++k) {
      if (in[k].h != in[0].h || in[k].w != in[0].w) {
        throw ShapeError("cannot concatenate channels of " + in[0].str() + " and " + in[k].str() +
                         ": heights and widths differ");
      }
      out.c += in[k].c;
    }
    return out;
  }
  LayerNeeds describe(const PlanContext&) const override { return {}; }

  // One sample of the output is each input's sample in turn.
  void forward(const StepArgs& a) const override {
    const int64_t out_size = a.out_shape.n_elems();
    a.pool->parallel_for(a.batch, [&](int64_t begin, int64_t end, int) {
      for (int64_t n = begin; n < end; ++n) {
        float* out = a.dst + n * out_size;
        for (size_t k = 0; k < a.src.size(); ++k) {
          const int64_t size = a.in_shape[k].n_elems();
          std::memcpy(out, a.src[k] + n * size, sizeof(float) * size);
          out += size;
        }
      }
    });
  }

  void backward(const StepArgs& a) const override {
    const int64_t out_size = a.out_shape.n_elems();
    a.pool->parallel_for(a.batch, [&](int64_t begin, int64_t end, int) {
      for (int64_t n = begin; n < end; ++n) {
        const float* part = a.d_dst + n * out_size;
        for (size_t k = 0; k < a.d_src.size(); ++k) {
          const int64_t size = a.in_shape[k].n_elems();
          if (float* d = a.d_src[k]) {
            d += n * size;
            if (a.d_src_accumulate[k]) {
              for (int64_t i = 0; i < size; ++i) d[i] += part[i];
            } else {
              std::memcpy(d, part, sizeof(float) * size);
            }
          }
          part += size;
        }
      }
    });
  }
};

}  // namespace

std::unique_ptr<Layer> make_Concat(const LayerSpec& spec) { return std::make_unique<Concat>(spec); }

}  // namespace footprint
