#include "layers/pooling.hpp"

#include "footprint/error.hpp"
#include "layers/attr_reader.hpp"

namespace footprint {

PoolWindow PoolWindow::parse(const LayerSpec& spec) {
  AttrReader r(spec);
  PoolWindow w;
  // "maxpool 2" and "maxpool k=2" both read naturally; accept the positional form too.
  int positional = spec.arg.empty() ? 0 : r.arg_int("window size", 1);
  w.kernel = r.get_int("k", positional, 1, "window size must be at least 1");
  if (w.kernel == 0) throw ParseError(spec.op + ": missing k=K (window size)");
  w.stride = r.get_int("stride", w.kernel, 1, "stride must be at least 1");
  w.pad = r.get_int("pad", 0, 0, "padding must be at least 0");
  r.finish();
  if (w.pad > w.kernel / 2) r.fail("pad", "padding must be at most half the window");
  if (w.kernel * w.kernel > 256) r.fail("k", "windows larger than 16x16 are not supported");
  return w;
}

ConvGeometry PoolWindow::geometry(const Shape& in) const {
  ConvGeometry g;
  g.in_c = g.out_c = in.c;
  g.in_h = in.h, g.in_w = in.w;
  g.kernel_h = g.kernel_w = kernel;
  g.stride_h = g.stride_w = stride;
  g.pad_top = g.pad_left = pad;
  g.out_h = conv_out_size(in.h, kernel, stride, pad, pad, 1);
  g.out_w = conv_out_size(in.w, kernel, stride, pad, pad, 1);
  if (g.out_h <= 0 || g.out_w <= 0) {
    throw ShapeError("a " + std::to_string(kernel) + "x" + std::to_string(kernel) +
                     " window does not fit the input " + in.str());
  }
  return g;
}

}  // namespace footprint
