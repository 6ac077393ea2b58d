// slice start=S end=E [axis=c|h|w]: the range [S, E) of one axis (channels by default), as ONNX
// Slice and Split and PyTorch's chunk give. Saves nothing; backward writes the slice's gradient
// and zeros elsewhere (or adds the slice's alone when another reader wrote the gradient first).
#include <algorithm>
#include <cstring>

#include "core/thread_pool.hpp"
#include "footprint/error.hpp"
#include "layers/attr_reader.hpp"
#include "layers/layer.hpp"

namespace footprint {
namespace {

class Slice final : public Layer {
 public:
  explicit Slice(const LayerSpec& spec) {
    AttrReader r(spec);
    r.no_arg();
    start_ = r.get_int("start", -1, 0, "start must be at least 0");
    end_ = r.get_int("end", -1, 1, "end must be at least 1");
    axis_ = r.get_choice("axis", "c", {"c", "h", "w"})[0];
    r.finish();
    if (start_ < 0) throw ParseError("slice: missing start=S (e.g. 'slice start=0 end=16')");
    if (end_ < 0) throw ParseError("slice: missing end=E (e.g. 'slice start=0 end=16')");
    if (start_ >= end_) r.fail("end", "end must be greater than start=" + std::to_string(start_));
  }
  std::string_view op() const override { return "slice"; }
  // A channel slice keeps every position; a spatial one is cut relative to the image's edges,
  // which a tile of the image does not share.
  SpatialWindow window() const override { return {.local = axis_ == 'c'}; }

  Shape infer_shape(std::span<const Shape> in) const override {
    const int64_t size = axis_ == 'c' ? in[0].c : axis_ == 'h' ? in[0].h : in[0].w;
    if (end_ > size) {
      throw ShapeError("slice start=" + std::to_string(start_) + " end=" + std::to_string(end_) +
                       " on axis " + axis_ + " does not fit the input " + in[0].str() +
                       ": need 0 <= start < end <= " + std::to_string(size));
    }
    Shape out = in[0];
    (axis_ == 'c' ? out.c : axis_ == 'h' ? out.h : out.w) = end_ - start_;
    return out;
  }
  LayerNeeds describe(const PlanContext&) const override { return {}; }

  // Row r of the output (n, c, h) is a run of out.w values at `offset(r)` in the input.
  [[nodiscard]] int64_t offset(const Shape& in, const Shape& out, int64_t r) const {
    const int64_t n = r / (out.c * out.h), c = r / out.h % out.c, h = r % out.h;
    const int64_t ic = axis_ == 'c' ? c + start_ : c, ih = axis_ == 'h' ? h + start_ : h;
    return ((n * in.c + ic) * in.h + ih) * in.w + (axis_ == 'w' ? start_ : 0);
  }

  void forward(const StepArgs& a) const override {
    const Shape &in = a.in_shape[0], &out = a.out_shape;
    a.pool->parallel_for(a.batch * out.c * out.h, [&](int64_t begin, int64_t end, int) {
      for (int64_t r = begin; r < end; ++r)
        std::memcpy(a.dst + r * out.w, a.src[0] + offset(in, out, r), sizeof(float) * out.w);
    }, /*min_grain=*/std::max<int64_t>(1, 16384 / out.w));
  }

  // Threads take rows (n, c, h) of d_src: a row inside the slice gets its part of the output
  // gradient (and zeros beside it, for a width slice), a row outside it zeros.
  void backward(const StepArgs& a) const override {
    float* d_src = a.d_src[0];
    if (!d_src) return;
    const Shape &in = a.in_shape[0], &out = a.out_shape;
    const bool accumulate = a.d_src_accumulate[0];
    a.pool->parallel_for(a.batch * in.c * in.h, [&](int64_t begin, int64_t end, int) {
      for (int64_t r = begin; r < end; ++r) {
        const int64_t n = r / (in.c * in.h), c = r / in.h % in.c, h = r % in.h;
        float* d = d_src + r * in.w;
        const bool inside = axis_ == 'c'   ? c >= start_ && c < end_
                            : axis_ == 'h' ? h >= start_ && h < end_
                                           : true;
        if (!inside) {
          if (!accumulate) std::fill_n(d, in.w, 0.0f);
          continue;
        }
        const int64_t oc = axis_ == 'c' ? c - start_ : c, oh = axis_ == 'h' ? h - start_ : h;
        const float* g = a.d_dst + ((n * out.c + oc) * out.h + oh) * out.w;
        const int64_t w0 = axis_ == 'w' ? start_ : 0;  // the slice's columns: [w0, w0 + out.w)
        if (accumulate) {
          for (int64_t i = 0; i < out.w; ++i) d[w0 + i] += g[i];
        } else {
          std::fill_n(d, w0, 0.0f);
          std::memcpy(d + w0, g, sizeof(float) * out.w);
          std::fill(d + w0 + out.w, d + in.w, 0.0f);
        }
      }
    }, /*min_grain=*/std::max<int64_t>(1, 16384 / in.w));
  }

 private:
  int start_ = 0, end_ = 1;
  char axis_ = 'c';
};

}  // namespace

std::unique_ptr<Layer> make_Slice(const LayerSpec& spec) { return std::make_unique<Slice>(spec); }

}  // namespace footprint
