// dropout [p=0.5]: in training zeroes each value with probability p and scales the rest by
// 1/(1-p); identity at eval. Saves one bit per value (the mask), never its input or output,
// and runs in place. The mask is a hash of (seed, index), so it does not depend on threads.
#include <cstring>

#include "core/rng.hpp"
#include "core/thread_pool.hpp"
#include "layers/attr_reader.hpp"
#include "layers/layer.hpp"

namespace footprint {
namespace {

class Dropout final : public Layer {
 public:
  explicit Dropout(const LayerSpec& spec) {
    AttrReader r(spec);
    r.no_arg();
    p_ = r.get_float("p", 0.5f);
    r.finish();
    if (p_ < 0.0f || p_ >= 1.0f) r.fail("p", "drop probability must be in [0, 1)");
  }
  std::string_view op() const override { return "dropout"; }
  SpatialWindow window() const override { return {.local = false}; }
  Shape infer_shape(std::span<const Shape> in) const override { return in[0]; }

  LayerNeeds describe(const PlanContext& ctx) const override {
    LayerNeeds needs{.may_run_in_place = true};
    if (ctx.mode == Mode::train) {
      needs.saved.push_back({.name = "mask", .size_bytes = (ctx.batch * ctx.out.n_elems() + 7) / 8});
    }
    return needs;
  }

  void forward(const StepArgs& a) const override {
    const int64_t n = a.batch * a.out_shape.n_elems();
    if (!a.training) {
      if (a.dst != a.src[0]) std::memcpy(a.dst, a.src[0], sizeof(float) * n);
      return;
    }
    uint8_t* mask = reinterpret_cast<uint8_t*>(a.saved[0]);
    const float scale = 1.0f / (1.0f - p_);
    // Values are numbered over the global batch (data-parallel ranks hold slices of it).
    const uint64_t first = static_cast<uint64_t>(a.first_sample * a.out_shape.n_elems());
    // Split by whole mask bytes so no two threads write one byte.
    a.pool->parallel_for((n + 7) / 8, [&](int64_t begin, int64_t end, int) {
      for (int64_t byte = begin; byte < end; ++byte) {
        uint8_t bits = 0;
        for (int64_t i = byte * 8; i < std::min(n, byte * 8 + 8); ++i) {
          const bool keep = unit_float(mix64(a.seed ^ ((first + static_cast<uint64_t>(i)) * 0x9e37u))) >= p_;
          bits |= static_cast<uint8_t>(keep) << (i % 8);
          a.dst[i] = keep ? a.src[0][i] * scale : 0.0f;
        }
        mask[byte] = bits;
      }
    });
  }

  void backward(const StepArgs& a) const override {
    if (!a.d_src[0]) return;
    const int64_t n = a.batch * a.out_shape.n_elems();
    const uint8_t* mask = reinterpret_cast<const uint8_t*>(a.saved[0]);
    const float scale = 1.0f / (1.0f - p_);
    a.pool->parallel_for(n, [&](int64_t begin, int64_t end, int) {
      for (int64_t i = begin; i < end; ++i) {
        const float g = ((mask[i / 8] >> (i % 8)) & 1) ? a.d_dst[i] * scale : 0.0f;
        a.d_src[0][i] = a.d_src_accumulate[0] ? a.d_src[0][i] + g : g;
      }
    });
  }

 private:
  float p_ = 0.5f;
};

}  // namespace

std::unique_ptr<Layer> make_Dropout(const LayerSpec& spec) { return std::make_unique<Dropout>(spec); }

}  // namespace footprint
