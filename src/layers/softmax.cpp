// softmax: over the channels at each position (for an fc output, over its features).
// Backward reads the output only, so it runs in place.
#include <cmath>

#include "core/thread_pool.hpp"
#include "layers/attr_reader.hpp"
#include "layers/layer.hpp"

namespace footprint {
namespace {

class Softmax final : public Layer {
 public:
  explicit Softmax(const LayerSpec& spec) {
    AttrReader r(spec);
    r.no_arg();
    r.finish();
  }
  std::string_view op() const override { return "softmax"; }
  SpatialWindow window() const override { return {.local = false}; }
  Shape infer_shape(std::span<const Shape> in) const override { return in[0]; }
  LayerNeeds describe(const PlanContext&) const override {
    return {.saves_output = true, .may_run_in_place = true};
  }

  // Positions are (n, h, w); channel c of a position is at stride `plane`.
  void forward(const StepArgs& a) const override {
    const int64_t c = a.out_shape.c, plane = a.out_shape.h * a.out_shape.w;
    a.pool->parallel_for(a.batch * plane, [&](int64_t begin, int64_t end, int) {
      for (int64_t pos = begin; pos < end; ++pos) {
        const int64_t base = (pos / plane) * c * plane + pos % plane;
        float max_value = a.src[0][base];
        for (int64_t k = 1; k < c; ++k) max_value = std::fmax(max_value, a.src[0][base + k * plane]);
        double sum = 0.0;
        for (int64_t k = 0; k < c; ++k) {
          float e = std::exp(a.src[0][base + k * plane] - max_value);
          a.dst[base + k * plane] = e;
          sum += e;
        }
        const float scale = static_cast<float>(1.0 / sum);
        for (int64_t k = 0; k < c; ++k) a.dst[base + k * plane] *= scale;
      }
    });
  }

  void backward(const StepArgs& a) const override {
    if (!a.d_src[0]) return;
    const int64_t c = a.out_shape.c, plane = a.out_shape.h * a.out_shape.w;
    a.pool->parallel_for(a.batch * plane, [&](int64_t begin, int64_t end, int) {
      for (int64_t pos = begin; pos < end; ++pos) {
        const int64_t base = (pos / plane) * c * plane + pos % plane;
        double dot = 0.0;
        for (int64_t k = 0; k < c; ++k) dot += a.d_dst[base + k * plane] * a.dst[base + k * plane];
        for (int64_t k = 0; k < c; ++k) {
          const int64_t i = base + k * plane;
          const float g = a.dst[i] * (a.d_dst[i] - static_cast<float>(dot));
          a.d_src[0][i] = a.d_src_accumulate[0] ? a.d_src[0][i] + g : g;
        }
      }
    });
  }
};

}  // namespace

std::unique_ptr<Layer> make_Softmax(const LayerSpec& spec) { return std::make_unique<Softmax>(spec); }

}  // namespace footprint
