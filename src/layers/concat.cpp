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
  // When the planner places the inputs side by side in the output's bytes (their producers
  // write straight into their channel ranges), the plan marks this layer joined in place and
  // the runtime skips it; otherwise it copies.
  LayerNeeds describe(const PlanContext&) const override {
    return {.strided_src = true, .strided_dst = true, .joins_channels = true};
  }

  // One sample of the output is each input's sample in turn.
  void forward(const StepArgs& a) const override {
    a.pool->parallel_for(a.batch, [&](int64_t begin, int64_t end, int) {
      for (int64_t n = begin; n < end; ++n) {
        float* out = a.dst + n * a.dst_stride;
        for (size_t k = 0; k < a.src.size(); ++k) {
          const int64_t size = a.in_shape[k].n_elems();
          std::memcpy(out, a.src[k] + n * a.src_stride[k], sizeof(float) * size);
          out += size;
        }
      }
    });
  }

  void backward(const StepArgs& a) const override {
    a.pool->parallel_for(a.batch, [&](int64_t begin, int64_t end, int) {
      for (int64_t n = begin; n < end; ++n) {
        const float* part = a.d_dst + n * a.dst_stride;
        for (size_t k = 0; k < a.d_src.size(); ++k) {
          const int64_t size = a.in_shape[k].n_elems();
          if (float* d = a.d_src[k]) {
            d += n * a.src_stride[k];
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
