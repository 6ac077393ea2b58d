// Parses and checks the pooling window shared by maxpool and avgpool.
#include "layers/pooling.hpp"

#include "footprint/error.hpp"
#include "layers/attr_reader.hpp"

namespace footprint {
namespace {

// Output size along one axis; ceil mode drops a last window that would start in the padding
// after the image (as PyTorch and ONNX do), so every window holds at least one pixel.
int64_t pool_out_size(int64_t in, int kernel, int stride, int pad_before, int pad_after,
                      bool ceil_mode) {
  const int64_t padded = in + pad_before + pad_after;
  if (padded < kernel) return 0;
  int64_t out = (padded - kernel + (ceil_mode ? stride - 1 : 0)) / stride + 1;
  if (ceil_mode && (out - 1) * stride >= in + pad_before) --out;
  return out;
}

}  // namespace

PoolWindow PoolWindow::parse(const LayerSpec& spec, AttrReader& r) {
  PoolWindow w;
  // "maxpool 2" and "maxpool k=2" both read naturally; accept the positional form too.
  int positional = spec.arg.empty() ? 0 : r.arg_int("window size", 1);
  const int kernel = r.get_int("k", positional, 1, "window size must be at least 1");
  w.kernel_h = r.get_int("kh", kernel, 1, "window height must be at least 1");
  w.kernel_w = r.get_int("kw", kernel, 1, "window width must be at least 1");
  if (w.kernel_h == 0 || w.kernel_w == 0) {
    throw ParseError(spec.op + ": missing k=K (window size)");
  }
  const int stride = r.get_int("stride", 0, 1, "stride must be at least 1");
  w.stride_h = r.get_int("stride_h", stride ? stride : w.kernel_h, 1, "stride must be at least 1");
  w.stride_w = r.get_int("stride_w", stride ? stride : w.kernel_w, 1, "stride must be at least 1");
  const int pad = r.get_int("pad", 0, 0, "padding must be at least 0");
  if (pad > kernel / 2) r.fail("pad", "padding must be at most half the window");
  w.pad_top = r.get_int("pad_top", pad, 0, "padding must be at least 0");
  w.pad_left = r.get_int("pad_left", pad, 0, "padding must be at least 0");
  w.pad_bottom = r.get_int("pad_bottom", pad, 0, "padding must be at least 0");
  w.pad_right = r.get_int("pad_right", pad, 0, "padding must be at least 0");
  // Per-side pads follow ONNX's rule (less than the window), so no window lies in the padding.
  if (w.pad_top >= w.kernel_h) r.fail("pad_top", "padding must be less than the window");
  if (w.pad_bottom >= w.kernel_h) r.fail("pad_bottom", "padding must be less than the window");
  if (w.pad_left >= w.kernel_w) r.fail("pad_left", "padding must be less than the window");
  if (w.pad_right >= w.kernel_w) r.fail("pad_right", "padding must be less than the window");
  w.ceil_mode = r.get_bool("ceil", false);
  // maxpool saves the winning tap as one byte.
  if (int64_t{w.kernel_h} * w.kernel_w > 256) {  // in 64 bits: a fuzzed window overflowed int
    r.fail(spec.attrs.count("k") ? "k" : "kh", "windows larger than 16x16 are not supported");
  }
  return w;
}

ConvGeometry PoolWindow::geometry(const Shape& in) const {
  ConvGeometry g;
  g.in_c = g.out_c = in.c;
  g.in_h = in.h, g.in_w = in.w;
  g.kernel_h = kernel_h, g.kernel_w = kernel_w;
  g.stride_h = stride_h, g.stride_w = stride_w;
  g.pad_top = pad_top, g.pad_left = pad_left;
  g.out_h = pool_out_size(in.h, kernel_h, stride_h, pad_top, pad_bottom, ceil_mode);
  g.out_w = pool_out_size(in.w, kernel_w, stride_w, pad_left, pad_right, ceil_mode);
  if (g.out_h <= 0 || g.out_w <= 0) {
    throw ShapeError("a " + std::to_string(kernel_h) + "x" + std::to_string(kernel_w) +
                     " window does not fit the input " + in.str());
  }
  return g;
}

}  // namespace footprint
