// pad [pad=P] [pad_top=] [pad_left=] [pad_bottom=] [pad_right=] [mode=constant|reflect|edge]
// [value=0]: spatial padding as ONNX Pad. constant fills with value; reflect mirrors about the edge
// row without repeating it (PyTorch ReflectionPad2d, so each pad must be less than the size);
// edge repeats the edge row (ReplicationPad2d). Saves nothing; backward sums into each input
// position the gradients of every output position that copied it.
#include <algorithm>

#include "core/thread_pool.hpp"
#include "footprint/error.hpp"
#include "layers/attr_reader.hpp"
#include "layers/layer.hpp"

namespace footprint {
namespace {

enum class PadMode { constant, reflect, edge };

class Pad final : public Layer {
 public:
  explicit Pad(const LayerSpec& spec) {
    AttrReader r(spec);
    r.no_arg();
    const int pad = r.get_int("pad", 0, 0, "padding must be at least 0");
    pad_top_ = r.get_int("pad_top", pad, 0, "padding must be at least 0");
    pad_left_ = r.get_int("pad_left", pad, 0, "padding must be at least 0");
    pad_bottom_ = r.get_int("pad_bottom", pad, 0, "padding must be at least 0");
    pad_right_ = r.get_int("pad_right", pad, 0, "padding must be at least 0");
    const std::string mode = r.get_choice("mode", "constant", {"constant", "reflect", "edge"});
    value_ = r.get_float("value", 0.0f);
    r.finish();
    mode_ = mode == "reflect" ? PadMode::reflect
            : mode == "edge"  ? PadMode::edge
                              : PadMode::constant;
    if (mode_ != PadMode::constant && value_ != 0.0f) {
      r.fail("value", "a fill value applies to mode=constant only");
    }
  }
  std::string_view op() const override { return "pad"; }
  // Output position o copies input o - pad_top (pad_left) or, in the padding, a fill or a nearby
  // edge value.
  SpatialWindow window() const override {
    return {.h = {.pad_before = pad_top_}, .w = {.pad_before = pad_left_}};
  }

  Shape infer_shape(std::span<const Shape> in) const override {
    if (mode_ == PadMode::reflect &&
        (pad_top_ >= in[0].h || pad_bottom_ >= in[0].h || pad_left_ >= in[0].w ||
         pad_right_ >= in[0].w)) {
      throw ShapeError("mode=reflect needs each pad less than the size it mirrors, but pads " +
                       std::to_string(pad_top_) + "," + std::to_string(pad_left_) + "," +
                       std::to_string(pad_bottom_) + "," + std::to_string(pad_right_) +
                       " (top, left, bottom, right) exceed the input " + in[0].str());
    }
    return {in[0].c, in[0].h + pad_top_ + pad_bottom_, in[0].w + pad_left_ + pad_right_};
  }
  LayerNeeds describe(const PlanContext&) const override { return {}; }

  // The input index that output index o (along an axis of `size`, padded by `before`) copies,
  // or -1 for the constant fill.
  [[nodiscard]] int64_t source(int64_t o, int64_t before, int64_t size) const {
    int64_t i = o - before;
    if (i >= 0 && i < size) return i;
    switch (mode_) {
      case PadMode::constant: return -1;
      case PadMode::edge: return std::clamp<int64_t>(i, 0, size - 1);
      case PadMode::reflect: return i < 0 ? -i : 2 * (size - 1) - i;
    }
    return -1;
  }

  // Threads take planes (n, c).
  void forward(const StepArgs& a) const override {
    const Shape &in = a.in_shape[0], &out = a.out_shape;
    a.pool->parallel_for(a.batch * out.c, [&](int64_t begin, int64_t end, int) {
      for (int64_t p = begin; p < end; ++p) {
        const float* src = a.src[0] + p * in.h * in.w;
        float* dst = a.dst + p * out.h * out.w;
        for (int64_t oh = 0; oh < out.h; ++oh) {
          float* dst_row = dst + oh * out.w;
          const int64_t ih = source(oh, pad_top_, in.h);
          if (ih < 0) {
            std::fill_n(dst_row, out.w, value_);
            continue;
          }
          const float* src_row = src + ih * in.w;
          for (int64_t ow = 0; ow < pad_left_; ++ow) {
            const int64_t iw = source(ow, pad_left_, in.w);
            dst_row[ow] = iw < 0 ? value_ : src_row[iw];
          }
          std::copy_n(src_row, in.w, dst_row + pad_left_);
          for (int64_t ow = pad_left_ + in.w; ow < out.w; ++ow) {
            const int64_t iw = source(ow, pad_left_, in.w);
            dst_row[ow] = iw < 0 ? value_ : src_row[iw];
          }
        }
      }
    }, /*min_grain=*/std::max<int64_t>(1, 16384 / (out.h * out.w)));
  }

  // Each thread owns whole planes of d_src, so the sums for positions that several outputs copy
  // (reflect, edge) run in a fixed order.
  void backward(const StepArgs& a) const override {
    float* d_src = a.d_src[0];
    if (!d_src) return;
    const Shape &in = a.in_shape[0], &out = a.out_shape;
    const bool accumulate = a.d_src_accumulate[0];
    a.pool->parallel_for(a.batch * out.c, [&](int64_t begin, int64_t end, int) {
      for (int64_t p = begin; p < end; ++p) {
        const float* g = a.d_dst + p * out.h * out.w;
        float* d = d_src + p * in.h * in.w;
        // The interior first (a plain copy when overwriting), then the border's contributions.
        for (int64_t ih = 0; ih < in.h; ++ih) {
          const float* g_row = g + (ih + pad_top_) * out.w + pad_left_;
          float* d_row = d + ih * in.w;
          if (accumulate) {
            for (int64_t i = 0; i < in.w; ++i) d_row[i] += g_row[i];
          } else {
            std::copy_n(g_row, in.w, d_row);
          }
        }
        if (mode_ == PadMode::constant) continue;
        for (int64_t oh = 0; oh < out.h; ++oh) {
          const int64_t ih = source(oh, pad_top_, in.h);
          const bool border_row = oh < pad_top_ || oh >= pad_top_ + in.h;
          for (int64_t ow = 0; ow < out.w; ++ow) {
            const bool border = border_row || ow < pad_left_ || ow >= pad_left_ + in.w;
            if (border) d[ih * in.w + source(ow, pad_left_, in.w)] += g[oh * out.w + ow];
          }
        }
      }
    }, /*min_grain=*/std::max<int64_t>(1, 16384 / (out.h * out.w)));
  }

 private:
  int pad_top_ = 0, pad_left_ = 0, pad_bottom_ = 0, pad_right_ = 0;
  PadMode mode_ = PadMode::constant;
  float value_ = 0.0f;
};

}  // namespace

std::unique_ptr<Layer> make_Pad(const LayerSpec& spec) { return std::make_unique<Pad>(spec); }

}  // namespace footprint
