// globalavgpool: the mean of each channel, C x H x W -> C x 1 x 1; saves nothing.
#include <algorithm>

#include "core/thread_pool.hpp"
#include "kernels/eltwise/sum_lanes.hpp"
#include "layers/attr_reader.hpp"
#include "layers/layer.hpp"

namespace footprint {
namespace {

class GlobalAvgPool final : public Layer {
 public:
  explicit GlobalAvgPool(const LayerSpec& spec) {
    AttrReader r(spec);
    r.no_arg();
    r.finish();
  }
  std::string_view op() const override { return "globalavgpool"; }
  SpatialWindow window() const override { return {.local = false}; }
  Shape infer_shape(std::span<const Shape> in) const override { return {in[0].c, 1, 1}; }
  LayerNeeds describe(const PlanContext&) const override { return {}; }

  void forward(const StepArgs& a) const override {
    const int64_t plane = a.in_shape[0].h * a.in_shape[0].w;
    a.pool->parallel_for(a.batch * a.in_shape[0].c, [&](int64_t begin, int64_t end, int) {
      // Chunks summed in eight float lanes (sum_lanes.hpp), the chunks in double: one double
      // sum element by element waits on each addition (a 112x112 plane took 50 us).
      constexpr int64_t kChunk = 256;
      for (int64_t p = begin; p < end; ++p) {
        const float* x = a.src[0] + p * plane;
        double sum = 0.0;
        for (int64_t i = 0; i < plane; i += kChunk) {
          sum += sum_lanes(std::min(kChunk, plane - i), [&](int64_t j) { return x[i + j]; });
        }
        a.dst[p] = static_cast<float>(sum / static_cast<double>(plane));
      }
    });
  }

  void backward(const StepArgs& a) const override {
    if (!a.d_src[0]) return;
    const int64_t plane = a.in_shape[0].h * a.in_shape[0].w;
    a.pool->parallel_for(a.batch * a.in_shape[0].c, [&](int64_t begin, int64_t end, int) {
      for (int64_t p = begin; p < end; ++p) {
        const float share = a.d_dst[p] / static_cast<float>(plane);
        float* d = a.d_src[0] + p * plane;
        for (int64_t i = 0; i < plane; ++i) d[i] = a.d_src_accumulate[0] ? d[i] + share : share;
      }
    });
  }
};

}  // namespace

std::unique_ptr<Layer> make_GlobalAvgPool(const LayerSpec& spec) {
  return std::make_unique<GlobalAvgPool>(spec);
}

}  // namespace footprint
