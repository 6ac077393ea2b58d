// shuffle groups=G: ShuffleNet's channel shuffle, x.view(N, G, C/G, H, W).transpose(1, 2): output
// channel j * G + i is input channel i * (C / G) + j. A permutation of whole planes, so backward
// applies the inverse and nothing is saved.
#include <algorithm>
#include <cstring>

#include "core/thread_pool.hpp"
#include "footprint/error.hpp"
#include "layers/attr_reader.hpp"
#include "layers/layer.hpp"

namespace footprint {
namespace {

class Shuffle final : public Layer {
 public:
  explicit Shuffle(const LayerSpec& spec) {
    AttrReader r(spec);
    r.no_arg();
    groups_ = r.get_int("groups", 0, 1, "groups must be at least 1");
    r.finish();
    if (groups_ == 0) throw ParseError("shuffle: missing groups=G (e.g. 'shuffle groups=2')");
  }
  std::string_view op() const override { return "shuffle"; }

  Shape infer_shape(std::span<const Shape> in) const override {
    if (in[0].c % groups_ != 0) {
      throw ShapeError("input has " + std::to_string(in[0].c) +
                       " channels, not divisible by groups=" + std::to_string(groups_));
    }
    return in[0];
  }
  LayerNeeds describe(const PlanContext&) const override { return {}; }

  // The input channel that output channel `out_c` copies.
  [[nodiscard]] int64_t source(int64_t out_c, int64_t channels) const {
    const int64_t per_group = channels / groups_;
    return out_c % groups_ * per_group + out_c / groups_;
  }

  void forward(const StepArgs& a) const override {
    const int64_t channels = a.out_shape.c, plane = a.out_shape.h * a.out_shape.w;
    a.pool->parallel_for(a.batch * channels, [&](int64_t begin, int64_t end, int) {
      for (int64_t nc = begin; nc < end; ++nc) {
        const int64_t n = nc / channels, c = nc % channels;
        std::memcpy(a.dst + nc * plane, a.src[0] + (n * channels + source(c, channels)) * plane,
                    sizeof(float) * plane);
      }
    }, /*min_grain=*/std::max<int64_t>(1, 16384 / plane));
  }

  // Each input plane receives exactly one output plane's gradient.
  void backward(const StepArgs& a) const override {
    float* d_src = a.d_src[0];
    if (!d_src) return;
    const bool accumulate = a.d_src_accumulate[0];
    const int64_t channels = a.out_shape.c, plane = a.out_shape.h * a.out_shape.w;
    a.pool->parallel_for(a.batch * channels, [&](int64_t begin, int64_t end, int) {
      for (int64_t nc = begin; nc < end; ++nc) {
        const int64_t n = nc / channels, c = nc % channels;
        const float* g = a.d_dst + nc * plane;
        float* d = d_src + (n * channels + source(c, channels)) * plane;
        if (accumulate) {
          for (int64_t i = 0; i < plane; ++i) d[i] += g[i];
        } else {
          std::memcpy(d, g, sizeof(float) * plane);
        }
      }
    }, /*min_grain=*/std::max<int64_t>(1, 16384 / plane));
  }

 private:
  int groups_ = 1;
};

}  // namespace

std::unique_ptr<Layer> make_Shuffle(const LayerSpec& spec) { return std::make_unique<Shuffle>(spec); }

}  // namespace footprint
