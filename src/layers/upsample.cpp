// upsample [scale=2] [scale_h=] [scale_w=] [h=] [w=] [mode=nearest|bilinear] [align_corners=false]:
// resizes each plane to integer multiples of its size, or to h x w, as PyTorch's interpolate does:
// nearest copies source floor(dst * in / out); bilinear blends the four nearest sources, with
// half-pixel centres clamped at 0 (align_corners=false) or corners mapped onto corners (true).
// Saves nothing; backward adds each output gradient into the sources it read, plane by plane.
#include <algorithm>
#include <cmath>

#include "core/thread_pool.hpp"
#include "footprint/error.hpp"
#include "layers/attr_reader.hpp"
#include "layers/layer.hpp"

namespace footprint {
namespace {

// Where output index `o` of an axis reads: sources i0 and i1 with weights w0 and w1 (nearest:
// i1 = i0 and w1 = 0). Computed in float as PyTorch's CPU kernels do (upsample.h), so the same
// sources are chosen where a ratio like 26 / 22 does not round exactly.
struct Tap {
  int64_t i0 = 0, i1 = 0;
  float w0 = 1.0f, w1 = 0.0f;
};

Tap nearest_tap(int64_t o, int64_t in, int64_t out) {
  if (in == out) return {.i0 = o, .i1 = o};
  const float scale = static_cast<float>(in) / static_cast<float>(out);
  const int64_t i = std::min(static_cast<int64_t>(std::floor(static_cast<float>(o) * scale)), in - 1);
  return {.i0 = i, .i1 = i};
}

Tap bilinear_tap(int64_t o, int64_t in, int64_t out, bool align_corners) {
  float src;
  if (align_corners) {
    const float scale = out > 1 ? static_cast<float>(in - 1) / static_cast<float>(out - 1) : 0.0f;
    src = scale * static_cast<float>(o);
  } else {
    const float scale = static_cast<float>(in) / static_cast<float>(out);
    src = std::max(scale * (static_cast<float>(o) + 0.5f) - 0.5f, 0.0f);
  }
  const int64_t i0 = std::min(static_cast<int64_t>(src), in - 1);
  const float w1 = std::min(src - static_cast<float>(i0), 1.0f);
  return {.i0 = i0, .i1 = std::min(i0 + 1, in - 1), .w0 = 1.0f - w1, .w1 = w1};
}

class Upsample final : public Layer {
 public:
  explicit Upsample(const LayerSpec& spec) {
    AttrReader r(spec);
    r.no_arg();
    const int scale = r.get_int("scale", 2, 1, "scale must be at least 1");
    scale_h_ = r.get_int("scale_h", scale, 1, "scale must be at least 1");
    scale_w_ = r.get_int("scale_w", scale, 1, "scale must be at least 1");
    out_h_ = r.get_int("h", 0, 1, "height must be at least 1");
    out_w_ = r.get_int("w", 0, 1, "width must be at least 1");
    bilinear_ = r.get_choice("mode", "nearest", {"nearest", "bilinear"}) == "bilinear";
    align_corners_ = r.get_bool("align_corners", false);
    r.finish();
    if (r.has("h") && (r.has("scale_h") || r.has("scale"))) {
      r.fail("h", "give the height or a scale, not both");
    }
    if (r.has("w") && (r.has("scale_w") || r.has("scale"))) {
      r.fail("w", "give the width or a scale, not both");
    }
    if (align_corners_ && !bilinear_) r.fail("align_corners", "applies to mode=bilinear only");
  }
  std::string_view op() const override { return "upsample"; }
  SpatialWindow window() const override { return {.local = false}; }

  Shape infer_shape(std::span<const Shape> in) const override {
    return {in[0].c, out_h_ ? out_h_ : in[0].h * scale_h_, out_w_ ? out_w_ : in[0].w * scale_w_};
  }
  LayerNeeds describe(const PlanContext&) const override { return {}; }

  [[nodiscard]] Tap tap(int64_t o, int64_t in, int64_t out) const {
    return bilinear_ ? bilinear_tap(o, in, out, align_corners_) : nearest_tap(o, in, out);
  }

  // Threads take planes (n, c); the taps are recomputed per row and column (cheap, and no table
  // to allocate).
  void forward(const StepArgs& a) const override {
    const Shape &in = a.in_shape[0], &out = a.out_shape;
    a.pool->parallel_for(a.batch * out.c, [&](int64_t begin, int64_t end, int) {
      for (int64_t p = begin; p < end; ++p) {
        const float* src = a.src[0] + p * in.h * in.w;
        float* dst = a.dst + p * out.h * out.w;
        for (int64_t oh = 0; oh < out.h; ++oh) {
          const Tap th = tap(oh, in.h, out.h);
          const float *row0 = src + th.i0 * in.w, *row1 = src + th.i1 * in.w;
          for (int64_t ow = 0; ow < out.w; ++ow) {
            const Tap tw = tap(ow, in.w, out.w);
            dst[oh * out.w + ow] = th.w0 * (tw.w0 * row0[tw.i0] + tw.w1 * row0[tw.i1]) +
                                   th.w1 * (tw.w0 * row1[tw.i0] + tw.w1 * row1[tw.i1]);
          }
        }
      }
    }, /*min_grain=*/std::max<int64_t>(1, 16384 / (out.h * out.w)));
  }

  // Scatter-add, but each thread owns whole planes of d_src, so no two threads add into one
  // value and the order of the adds is fixed.
  void backward(const StepArgs& a) const override {
    float* d_src = a.d_src[0];
    if (!d_src) return;
    const Shape &in = a.in_shape[0], &out = a.out_shape;
    const bool accumulate = a.d_src_accumulate[0];
    a.pool->parallel_for(a.batch * out.c, [&](int64_t begin, int64_t end, int) {
      for (int64_t p = begin; p < end; ++p) {
        const float* g = a.d_dst + p * out.h * out.w;
        float* d = d_src + p * in.h * in.w;
        if (!accumulate) std::fill_n(d, in.h * in.w, 0.0f);
        for (int64_t oh = 0; oh < out.h; ++oh) {
          const Tap th = tap(oh, in.h, out.h);
          float *row0 = d + th.i0 * in.w, *row1 = d + th.i1 * in.w;
          for (int64_t ow = 0; ow < out.w; ++ow) {
            const Tap tw = tap(ow, in.w, out.w);
            const float gv = g[oh * out.w + ow];
            row0[tw.i0] += th.w0 * tw.w0 * gv;
            row0[tw.i1] += th.w0 * tw.w1 * gv;
            row1[tw.i0] += th.w1 * tw.w0 * gv;
            row1[tw.i1] += th.w1 * tw.w1 * gv;
          }
        }
      }
    }, /*min_grain=*/std::max<int64_t>(1, 16384 / (out.h * out.w)));
  }

 private:
  int scale_h_ = 2, scale_w_ = 2;
  int out_h_ = 0, out_w_ = 0;  // 0: in * scale
  bool bilinear_ = false;
  bool align_corners_ = false;
};

}  // namespace

std::unique_ptr<Layer> make_Upsample(const LayerSpec& spec) {
  return std::make_unique<Upsample>(spec);
}

}  // namespace footprint
