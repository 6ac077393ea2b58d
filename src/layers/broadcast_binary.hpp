// Element-wise ops on exactly two values with NumPy broadcasting per sample axis (mul, sub, div):
// each of C, H, W is equal in both inputs or 1 in one of them, and the output takes the larger.
// An input broadcast along an axis reads the same value at every position of that axis, so its
// gradient sums over that axis. The layer files hold the arithmetic; this file the indexing.
#pragma once

#include <algorithm>
#include <string>

#include "core/thread_pool.hpp"
#include "footprint/error.hpp"
#include "kernels/eltwise/sum_lanes.hpp"
#include "layers/attr_reader.hpp"
#include "layers/layer.hpp"

namespace footprint {

// Where input values sit relative to output coordinates: index = n * sample + c * c_stride +
// h * h_stride + w * w_stride, with stride 0 along a broadcast axis.
struct BroadcastIndex {
  int64_t sample = 0, c_stride = 0, h_stride = 0, w_stride = 0;
  explicit BroadcastIndex(const Shape& s)
      : sample(s.n_elems()),
        c_stride(s.c > 1 ? s.h * s.w : 0),
        h_stride(s.h > 1 ? s.w : 0),
        w_stride(s.w > 1 ? 1 : 0) {}
  [[nodiscard]] int64_t row(int64_t n, int64_t c, int64_t h) const {
    return n * sample + c * c_stride + h * h_stride;
  }
};

// f(i, a_offset, b_offset) for i in [0, width), with each input's offset i or 0: one loop per
// stride pattern, so each has constant strides and vectorises.
template <typename F>
inline void for_row(int64_t width, int64_t a_step, int64_t b_step, F&& f) {
  if (a_step && b_step) {
    for (int64_t i = 0; i < width; ++i) f(i, i, i);
  } else if (a_step) {
    for (int64_t i = 0; i < width; ++i) f(i, i, int64_t{0});
  } else if (b_step) {
    for (int64_t i = 0; i < width; ++i) f(i, int64_t{0}, i);
  } else {
    for (int64_t i = 0; i < width; ++i) f(i, int64_t{0}, int64_t{0});
  }
}

// Below this many output values a step is not split over threads.
inline constexpr int64_t kBroadcastGrain = 16384;

// Op provides: float apply(float a, float b) const; float grad_a(float g, float a, float b) const
// and grad_b(...) (the gradient reaching each input from one output position with gradient g);
// static constexpr bool kReadsInputs (backward reads a and b, so both are kept) and kInPlace (the
// output may overwrite input 0 when it has the output's shape: only where grad_a(g, ...) is g).
template <typename Op>
class BroadcastBinary final : public Layer {
 public:
  BroadcastBinary(const LayerSpec& spec, const char* op) : op_(op) {
    AttrReader r(spec);
    r.finish();
  }
  std::string_view op() const override { return op_; }
  Arity arity() const override { return {.min = 2, .max = 2}; }

  Shape infer_shape(std::span<const Shape> in) const override {
    const Shape &a = in[0], &b = in[1];
    auto axis = [&](int64_t x, int64_t y, const char* name) {
      if (x != y && x != 1 && y != 1) {
        throw ShapeError("cannot broadcast shapes " + a.str() + " and " + b.str() + ": " + name +
                         " " + std::to_string(x) + " and " + std::to_string(y) +
                         " differ and neither is 1");
      }
      return std::max(x, y);
    };
    return {axis(a.c, b.c, "channels"), axis(a.h, b.h, "heights"), axis(a.w, b.w, "widths")};
  }

  LayerNeeds describe(const PlanContext& ctx) const override {
    return {.saves_input = Op::kReadsInputs,
            .may_run_in_place = Op::kInPlace && ctx.in[0] == ctx.out};
  }

  // Rows (n, c, h) of the output, each `width` long. In place, dst is src[0] with the output's
  // shape, so every position reads its own a before writing it.
  void forward(const StepArgs& a) const override {
    const Shape& out = a.out_shape;
    const float *x = a.src[0], *y = a.src[1];
    if (whole_planes(a.in_shape[0], out) && whole_planes(a.in_shape[1], out)) {
      // Each input either has the output's planes or one value per plane (squeeze-and-
      // excitation's scale): rows are whole planes, not 7-value image rows.
      const int64_t plane = out.h * out.w;
      const int64_t x_step = a.in_shape[0].h * a.in_shape[0].w > 1 || plane == 1;
      const int64_t y_step = a.in_shape[1].h * a.in_shape[1].w > 1 || plane == 1;
      const int64_t x_c = a.in_shape[0].c > 1 ? a.in_shape[0].h * a.in_shape[0].w : 0;
      const int64_t y_c = a.in_shape[1].c > 1 ? a.in_shape[1].h * a.in_shape[1].w : 0;
      a.pool->parallel_for(a.batch * out.c, [&](int64_t begin, int64_t end, int) {
        for (int64_t r = begin; r < end; ++r) {
          const int64_t n = r / out.c, c = r % out.c;
          const float* xr = x + n * a.in_shape[0].n_elems() + c * x_c;
          const float* yr = y + n * a.in_shape[1].n_elems() + c * y_c;
          float* dr = a.dst + r * plane;
          for_row(plane, x_step, y_step, [&](int64_t i, int64_t xi, int64_t yi) {
            dr[i] = op_fn_.apply(xr[xi], yr[yi]);
          });
        }
      }, std::max<int64_t>(1, kBroadcastGrain / plane));
      return;
    }
    const BroadcastIndex ia(a.in_shape[0]), ib(a.in_shape[1]);
    a.pool->parallel_for(a.batch * out.c * out.h, [&](int64_t begin, int64_t end, int) {
      for (int64_t r = begin; r < end; ++r) {
        const int64_t n = r / (out.c * out.h), c = r / out.h % out.c, h = r % out.h;
        const float* xr = x + ia.row(n, c, h);
        const float* yr = y + ib.row(n, c, h);
        float* dr = a.dst + r * out.w;
        for_row(out.w, ia.w_stride, ib.w_stride, [&](int64_t i, int64_t xi, int64_t yi) {
          dr[i] = op_fn_.apply(xr[xi], yr[yi]);
        });
      }
    }, std::max<int64_t>(1, kBroadcastGrain / out.w));
  }

  // The input has the output's H x W, or is 1 x 1.
  static bool whole_planes(const Shape& in, const Shape& out) {
    return (in.h == out.h && in.w == out.w) || (in.h == 1 && in.w == 1);
  }

  // Input 0, then input 1: when both read one value, the second adds to what the first wrote.
  void backward(const StepArgs& a) const override {
    for (int k = 0; k < 2; ++k) {
      if (!a.d_src[k]) continue;
      if (Op::kInPlace && k == 0 && a.d_src[0] == a.d_dst) continue;  // already d_dst itself
      k == 0 ? input_gradient<0>(a) : input_gradient<1>(a);
    }
  }

 private:
  // d_src[kInput] (+)= the sum, over the output positions that read each of its values, of the
  // gradient reaching it. Threads take rows (n, c, h) of the input, so each owns what it writes,
  // and every sum runs in a fixed order (the same result for any thread count).
  template <int kInput>
  void input_gradient(const StepArgs& a) const {
    const Shape& out = a.out_shape;
    const Shape& s = a.in_shape[kInput];
    const BroadcastIndex ia(a.in_shape[0]), ib(a.in_shape[1]);
    // Each value of the input is read by a box of output rows: every channel (height) of the
    // output when the input has one channel (row) and the output more, else its own.
    const int64_t box_c = s.c == out.c ? 1 : out.c, box_h = s.h == out.h ? 1 : out.h;
    const bool sum_w = s.w != out.w;  // one value per row of the box, read across the width
    float* d = a.d_src[kInput];
    const bool accumulate = a.d_src_accumulate[kInput];
    const float *x = a.src[0], *y = a.src[1], *g = a.d_dst;
    // The gradient reaching input kInput from one output position.
    auto term = [&](float gv, float xv, float yv) {
      if constexpr (kInput == 0) return op_fn_.grad_a(gv, xv, yv);
      else return op_fn_.grad_b(gv, xv, yv);
    };
    // Inputs that are not kept are never read (their bytes may hold other values by now).
    auto value = [](const float* p, int64_t i) {
      if constexpr (Op::kReadsInputs) return p[i];
      else return 0.0f;
    };
    const int64_t work = box_c * box_h * out.w;
    a.pool->parallel_for(a.batch * s.c * s.h, [&](int64_t begin, int64_t end, int) {
      for (int64_t row = begin; row < end; ++row) {
        const int64_t n = row / (s.c * s.h), ck = row / s.h % s.c, hk = row % s.h;
        const int64_t c0 = box_c == 1 ? ck : 0, h0 = box_h == 1 ? hk : 0;
        float* d_row = d + row * s.w;
        double sum = 0.0;  // sum_w: the row's one value
        if (!sum_w && !accumulate && box_c * box_h > 1) std::fill_n(d_row, s.w, 0.0f);
        for (int64_t c = c0; c < c0 + box_c; ++c) {
          for (int64_t h = h0; h < h0 + box_h; ++h) {
            const float* xr = x + ia.row(n, c, h);
            const float* yr = y + ib.row(n, c, h);
            const float* gr = g + ((n * out.c + c) * out.h + h) * out.w;
            if (sum_w) {
              sum += sum_lanes(out.w, [&](int64_t i) {
                return term(gr[i], value(xr, i * ia.w_stride), value(yr, i * ib.w_stride));
              });
            } else if (accumulate || box_c * box_h > 1) {
              for_row(out.w, ia.w_stride, ib.w_stride, [&](int64_t i, int64_t xi, int64_t yi) {
                d_row[i] += term(gr[i], value(xr, xi), value(yr, yi));
              });
            } else {
              for_row(out.w, ia.w_stride, ib.w_stride, [&](int64_t i, int64_t xi, int64_t yi) {
                d_row[i] = term(gr[i], value(xr, xi), value(yr, yi));
              });
            }
          }
        }
        if (sum_w) d_row[0] = static_cast<float>(accumulate ? d_row[0] + sum : sum);
      }
    }, std::max<int64_t>(1, kBroadcastGrain / work));
  }

  const char* op_;
  Op op_fn_;
};

}  // namespace footprint
