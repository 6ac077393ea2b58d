// Windows over H and W: conv, convtranspose, maxpool, avgpool, globalavgpool and pad. Every
// window is written in full (kernel_shape, strides, pads top-left-bottom-right, dilations), so
// no ONNX default has to agree with a Footprint one.
#include "export/onnx/emitters.hpp"
#include "export/onnx/exporter.hpp"
#include "layers/attr_reader.hpp"
#include "layers/pooling.hpp"

namespace footprint::onnx_export {
namespace {

struct Window {
  int kernel_h = 1, kernel_w = 1, stride_h = 1, stride_w = 1, dilation_h = 1, dilation_w = 1;
  int pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;
};

// conv and convtranspose's window keys, with their defaults (src/layers/conv2d.cpp).
Window read_conv_window(AttrReader& r) {
  Window w;
  const int kernel = r.get_int("k", 1, 1, "");
  w.kernel_h = r.get_int("kh", kernel, 1, ""), w.kernel_w = r.get_int("kw", kernel, 1, "");
  const int stride = r.get_int("stride", 1, 1, "");
  w.stride_h = r.get_int("stride_h", stride, 1, ""), w.stride_w = r.get_int("stride_w", stride, 1, "");
  const int pad = r.get_int("pad", 0, 0, "");
  w.pad_top = r.get_int("pad_top", pad, 0, ""), w.pad_left = r.get_int("pad_left", pad, 0, "");
  w.pad_bottom = r.get_int("pad_bottom", pad, 0, ""), w.pad_right = r.get_int("pad_right", pad, 0, "");
  const int dilation = r.get_int("dilation", 1, 1, "");
  w.dilation_h = r.get_int("dilation_h", dilation, 1, ""), w.dilation_w = r.get_int("dilation_w", dilation, 1, "");
  return w;
}

void put_window(onnx::NodeProto& n, const Window& w, bool dilations) {
  set_ints(n, "kernel_shape", {w.kernel_h, w.kernel_w});
  set_ints(n, "strides", {w.stride_h, w.stride_w});
  set_ints(n, "pads", {w.pad_top, w.pad_left, w.pad_bottom, w.pad_right});
  if (dilations) set_ints(n, "dilations", {w.dilation_h, w.dilation_w});
}

void emit_pool(Exporter& ex, const char* onnx_op) {
  AttrReader r(ex.spec());
  const PoolWindow p = PoolWindow::parse(ex.spec(), r);
  const Window w{.kernel_h = p.kernel_h, .kernel_w = p.kernel_w, .stride_h = p.stride_h, .stride_w = p.stride_w,
                 .pad_top = p.pad_top, .pad_left = p.pad_left, .pad_bottom = p.pad_bottom, .pad_right = p.pad_right};
  const Value x = ex.input4(0);
  // Footprint's ceil mode drops a last window that would start in the padding after the image,
  // as PyTorch does; ONNX's opset-13 formula does not (ONNX Runtime's kernels do, its shape
  // inference and onnx's checker do not). Footprint's pads are below the window, so a dropped
  // window means the floor-mode size with the same pads: written as floor mode, every reader
  // agrees. Otherwise ceil mode adds a last window that overhangs the padding, which all count
  // alike (count_include_pad counts up to the padding's end).
  const Shape in = ex.in_shape(0), out = ex.out_shape();
  const bool floor_size = (in.h + w.pad_top + w.pad_bottom - w.kernel_h) / w.stride_h + 1 == out.h &&
                          (in.w + w.pad_left + w.pad_right - w.kernel_w) / w.stride_w + 1 == out.w;
  onnx::NodeProto& n = ex.add_node(onnx_op, {x.name}, ex.output());
  put_window(n, w, /*dilations=*/false);
  set_int(n, "ceil_mode", p.ceil_mode && !floor_size ? 1 : 0);
  if (ex.spec().op == "avgpool") set_int(n, "count_include_pad", r.get_bool("count_include_pad", false) ? 1 : 0);
  ex.set_output_rank(4);
}

}  // namespace

// Conv: weight [OUT, C/groups, kH, kW], bias [OUT].
void emit_conv(Exporter& ex) {
  AttrReader r(ex.spec());
  const int64_t out_c = r.arg_int("output channels", 1);
  const Window w = read_conv_window(r);
  const int groups = r.get_int("groups", 1, 1, "");
  const bool bias = r.get_bool("bias", true);
  const Value x = ex.input4(0);
  const Shape in = ex.in_shape(0);
  std::vector<std::string> inputs = {x.name, ex.weight("weight", {out_c, in.c / groups, w.kernel_h, w.kernel_w})};
  if (bias) inputs.push_back(ex.weight("bias", {out_c}));
  onnx::NodeProto& n = ex.add_node("Conv", inputs, ex.output());
  put_window(n, w, /*dilations=*/true);
  set_int(n, "group", groups);
  ex.set_output_rank(4);
}

// ConvTranspose: weight [C, OUT/groups, kH, kW] (the same layout in both), pads cropped from the
// full output, output_padding added at its end.
void emit_conv_transpose(Exporter& ex) {
  AttrReader r(ex.spec());
  const int64_t out_c = r.arg_int("output channels", 1);
  const Window w = read_conv_window(r);
  const int output_pad = r.get_int("output_pad", 0, 0, "");
  const int output_pad_h = r.get_int("output_pad_h", output_pad, 0, "");
  const int output_pad_w = r.get_int("output_pad_w", output_pad, 0, "");
  const int groups = r.get_int("groups", 1, 1, "");
  const bool bias = r.get_bool("bias", true);
  const Value x = ex.input4(0);
  const Shape in = ex.in_shape(0);
  std::vector<std::string> inputs = {x.name, ex.weight("weight", {in.c, out_c / groups, w.kernel_h, w.kernel_w})};
  if (bias) inputs.push_back(ex.weight("bias", {out_c}));
  onnx::NodeProto& n = ex.add_node("ConvTranspose", inputs, ex.output());
  put_window(n, w, /*dilations=*/true);
  set_ints(n, "output_padding", {output_pad_h, output_pad_w});
  set_int(n, "group", groups);
  ex.set_output_rank(4);
}

void emit_maxpool(Exporter& ex) { emit_pool(ex, "MaxPool"); }
void emit_avgpool(Exporter& ex) { emit_pool(ex, "AveragePool"); }

void emit_globalavgpool(Exporter& ex) {
  ex.add_node("GlobalAveragePool", {ex.input4(0).name}, ex.output());
  ex.set_output_rank(4);
}

// Pad (opset 11 on): pads as an input, [N, C, H, W] begins then ends; the fill value an input.
void emit_pad(Exporter& ex) {
  AttrReader r(ex.spec());
  const int pad = r.get_int("pad", 0, 0, "");
  const int64_t top = r.get_int("pad_top", pad, 0, ""), left = r.get_int("pad_left", pad, 0, "");
  const int64_t bottom = r.get_int("pad_bottom", pad, 0, ""), right = r.get_int("pad_right", pad, 0, "");
  const std::string mode = r.get_choice("mode", "constant", {"constant", "reflect", "edge"});
  const float value = r.get_float("value", 0.0f);
  const Value x = ex.input4(0);
  std::vector<std::string> inputs = {x.name, ex.constant_ints("pads", {8}, {0, 0, top, left, 0, 0, bottom, right})};
  if (value != 0.0f) inputs.push_back(ex.scalar("value", value));
  onnx::NodeProto& n = ex.add_node("Pad", inputs, ex.output());
  set_string(n, "mode", mode);
  ex.set_output_rank(4);
}

}  // namespace footprint::onnx_export
