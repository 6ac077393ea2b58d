// Windows over H and W: Conv, ConvTranspose, MaxPool, AveragePool, GlobalAveragePool, and Pad
// (a zero Pad that only an AveragePool reads becomes that pool's padding).
#include <algorithm>

#include "import/onnx/converters.hpp"
#include "import/onnx/importer.hpp"
#include "import/onnx/node_attrs.hpp"

namespace footprint {
namespace {

constexpr int64_t kMaxDim = int64_t{1} << 31;

struct Window2d {
  int64_t kernel_h = 1, kernel_w = 1, stride_h = 1, stride_w = 1, dilation_h = 1, dilation_w = 1;
  int64_t pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;
};

bool all_of_range(const std::vector<int64_t>& v, int64_t low, int64_t high) {
  return std::all_of(v.begin(), v.end(), [&](int64_t x) { return x >= low && x <= high; });
}

// Reads kernel_shape (or the given kernel), strides and dilations of a 2-D window.
Window2d read_kernel(Importer& im, NodeAttrs& a, std::vector<int64_t> kernel, bool with_dilations) {
  const std::vector<int64_t> kernel_shape = a.get_ints("kernel_shape");
  if (!kernel_shape.empty()) {
    if (!kernel.empty() && kernel_shape != kernel) {
      im.fail_attr("kernel_shape", dims_text(kernel_shape), "disagrees with the weights " + dims_text(kernel));
    }
    kernel = kernel_shape;
  }
  if (kernel.size() != 2 || !all_of_range(kernel, 1, kMaxDim)) {
    im.fail_attr("kernel_shape", dims_text(kernel), "only 2-D windows are supported (1-D and 3-D are not)");
  }
  Window2d w{.kernel_h = kernel[0], .kernel_w = kernel[1]};
  auto pair = [&](const char* name, int64_t& h, int64_t& width) {
    const std::vector<int64_t> v = a.get_ints(name);
    if (v.empty()) return;
    if (v.size() != 2 || !all_of_range(v, 1, kMaxDim)) im.fail_attr(name, dims_text(v), "expected two positive values (2-D)");
    h = v[0], width = v[1];
  };
  pair("strides", w.stride_h, w.stride_w);
  if (with_dilations) {
    pair("dilations", w.dilation_h, w.dilation_w);
  } else if (a.has("dilations")) {
    const std::vector<int64_t> d = a.get_ints("dilations");
    if (!all_of_range(d, 1, 1)) im.fail_attr("dilations", dims_text(d), "dilated pooling is not supported");
  }
  return w;
}

// Reads pads and auto_pad for a window over `in`; SAME_UPPER/SAME_LOWER become explicit pads for
// this input size.
void read_pads(Importer& im, NodeAttrs& a, const Shape& in, Window2d& w) {
  const std::string auto_pad = a.get_string("auto_pad", "NOTSET");
  const std::vector<int64_t> pads = a.get_ints("pads");
  if (auto_pad == "NOTSET") {
    if (!pads.empty()) {
      if (pads.size() != 4 || !all_of_range(pads, 0, kMaxDim)) {
        im.fail_attr("pads", dims_text(pads), "expected 4 values >= 0 (top, left, bottom, right)");
      }
      w.pad_top = pads[0], w.pad_left = pads[1], w.pad_bottom = pads[2], w.pad_right = pads[3];
    }
  } else if (auto_pad == "VALID") {
  } else if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
    // Output = ceil(in / stride); the odd pixel of padding goes after (UPPER) or before (LOWER).
    auto same = [&](int64_t in_size, int64_t k, int64_t s, int64_t d, int64_t& before, int64_t& after) {
      const int64_t out = (in_size + s - 1) / s;
      const int64_t total = std::max<int64_t>(0, (out - 1) * s + (k - 1) * d + 1 - in_size);
      before = auto_pad == "SAME_UPPER" ? total / 2 : (total + 1) / 2;
      after = total - before;
    };
    same(in.h, w.kernel_h, w.stride_h, w.dilation_h, w.pad_top, w.pad_bottom);
    same(in.w, w.kernel_w, w.stride_w, w.dilation_w, w.pad_left, w.pad_right);
  } else {
    im.fail_attr("auto_pad", auto_pad, "expected NOTSET, SAME_UPPER, SAME_LOWER or VALID");
  }
}

// Writes a window as .net options, in the short form when the axes (or sides) agree.
void put_window(LayerSpec& spec, const Window2d& w, bool pool) {
  auto put = [&](const char* key, int64_t value) { spec.attrs[key] = std::to_string(value); };
  if (w.kernel_h == w.kernel_w) {
    put("k", w.kernel_h);
  } else {
    put("kh", w.kernel_h), put("kw", w.kernel_w);
  }
  // Pools default their stride to the window, so theirs is always written.
  if (w.stride_h == w.stride_w) {
    if (pool || w.stride_h != 1) put("stride", w.stride_h);
  } else {
    put("stride_h", w.stride_h), put("stride_w", w.stride_w);
  }
  if (w.dilation_h == w.dilation_w) {
    if (w.dilation_h != 1) put("dilation", w.dilation_h);
  } else {
    put("dilation_h", w.dilation_h), put("dilation_w", w.dilation_w);
  }
  const bool same_pads = w.pad_top == w.pad_left && w.pad_top == w.pad_bottom && w.pad_top == w.pad_right;
  // A pool's symmetric pad= is limited to half the window; the per-side keys to the window.
  const bool short_pad = same_pads && (!pool || w.pad_top <= std::min(w.kernel_h, w.kernel_w) / 2);
  if (short_pad) {
    if (w.pad_top != 0) put("pad", w.pad_top);
  } else {
    if (w.pad_top) put("pad_top", w.pad_top);
    if (w.pad_left) put("pad_left", w.pad_left);
    if (w.pad_bottom) put("pad_bottom", w.pad_bottom);
    if (w.pad_right) put("pad_right", w.pad_right);
  }
}

void require_rank4(Importer& im, const ValueRef& x, const char* what) {
  if (x.rank != 4) im.fail("input has rank " + std::to_string(x.rank) + "; " + what);
}

// The optional bias input of Conv and ConvTranspose, [out_c].
void add_bias(Importer& im, LayerSpec& spec, std::vector<ParamSource>& params, int64_t out_c) {
  if (im.n_inputs() > 2) {
    const auto b = im.constant(2, "B");
    if (b->dims() != std::vector<int64_t>{out_c}) {
      im.fail("B has shape " + dims_text(b->dims()) + "; expected [" + std::to_string(out_c) + "]");
    }
    params.push_back(param_from("bias", b));
  } else {
    spec.attrs["bias"] = "false";
  }
}

void convert_pool(Importer& im, const char* op) {
  NodeAttrs a(im);
  ValueRef x = im.activation(0);
  require_rank4(im, x, "only 2-D pooling over [N, C, H, W] is supported");
  const Shape in = im.shape(x);
  Window2d w = read_kernel(im, a, {}, /*with_dilations=*/false);
  read_pads(im, a, in, w);
  LayerSpec spec{.op = op};
  if (a.get_int("ceil_mode", 0) != 0) spec.attrs["ceil"] = "true";
  bool include_pad = false;
  if (spec.op == "avgpool") {
    include_pad = a.get_int("count_include_pad", 0) != 0;
  } else {
    a.ignore("storage_order");  // only shapes the Indices output
  }
  a.finish();
  im.only_first_output_used();
  if (x.has_pool_pad()) {  // the zero Pad before it (convert_pad checked that this is exact)
    w.pad_top += x.pool_pad[0], w.pad_left += x.pool_pad[1], w.pad_bottom += x.pool_pad[2], w.pad_right += x.pool_pad[3];
    include_pad = true;
    x.pool_pad = {};
  }
  if (include_pad) spec.attrs["count_include_pad"] = "true";
  put_window(spec, w, /*pool=*/true);
  im.add_layer(spec, {x}, {}, x);
}

}  // namespace

void convert_conv(Importer& im) {
  NodeAttrs a(im);
  const ValueRef x = im.activation(0);
  require_rank4(im, x, "only 2-D convolutions over [N, C, H, W] are supported");
  const Shape in = im.shape(x);
  const auto weight = im.constant(1, "W");
  const std::vector<int64_t>& w_dims = weight->dims();
  if (w_dims.size() != 4) im.fail("W has shape " + dims_text(w_dims) + "; expected [M, C/group, kH, kW]");
  const int64_t group = a.get_int("group", 1);
  if (group < 1 || group > in.c) im.fail_attr("group", std::to_string(group), "expected 1 to the input channels");
  if (w_dims[1] * group != in.c) {
    im.fail("W has shape " + dims_text(w_dims) + ", but the input has " + std::to_string(in.c) + " channels in " +
            std::to_string(group) + " group(s)");
  }
  Window2d w = read_kernel(im, a, {w_dims[2], w_dims[3]}, /*with_dilations=*/true);
  read_pads(im, a, in, w);
  a.finish();
  LayerSpec spec{.op = "conv", .arg = std::to_string(w_dims[0])};
  put_window(spec, w, /*pool=*/false);
  if (group != 1) spec.attrs["groups"] = std::to_string(group);
  std::vector<ParamSource> params = {param_from("weight", weight)};
  add_bias(im, spec, params, w_dims[0]);
  im.add_layer(spec, {x}, std::move(params), x);
}

// ConvTranspose: weight [C_in, OUT/group, kH, kW]. Padding is what the output crops; with
// output_shape (or auto_pad) it is computed for this input size, as ONNX specifies.
void convert_conv_transpose(Importer& im) {
  NodeAttrs a(im);
  const ValueRef x = im.activation(0);
  require_rank4(im, x, "only 2-D transposed convolutions over [N, C, H, W] are supported");
  const Shape in = im.shape(x);
  const auto weight = im.constant(1, "W");
  const std::vector<int64_t>& w_dims = weight->dims();
  if (w_dims.size() != 4) im.fail("W has shape " + dims_text(w_dims) + "; expected [C, M/group, kH, kW]");
  const int64_t group = a.get_int("group", 1);
  if (group < 1 || group > in.c || in.c % group != 0) {
    im.fail_attr("group", std::to_string(group), "expected a divisor of the input channels");
  }
  if (w_dims[0] != in.c) {
    im.fail("W has shape " + dims_text(w_dims) + ", but the input has " + std::to_string(in.c) + " channels");
  }
  const int64_t out_c = w_dims[1] * group;
  Window2d w = read_kernel(im, a, {w_dims[2], w_dims[3]}, /*with_dilations=*/true);
  std::vector<int64_t> output_pad = a.get_ints("output_padding");
  if (output_pad.empty()) output_pad = {0, 0};
  if (output_pad.size() != 2 || !all_of_range(output_pad, 0, kMaxDim)) {
    im.fail_attr("output_padding", dims_text(output_pad), "expected two values >= 0 (2-D)");
  }
  const std::string auto_pad = a.get_string("auto_pad", "NOTSET");
  const std::vector<int64_t> output_shape = a.get_ints("output_shape");
  const std::vector<int64_t> pads = a.get_ints("pads");
  a.finish();
  if (!output_shape.empty() || auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
    std::vector<int64_t> out = output_shape;
    if (out.size() > 2) out.erase(out.begin(), out.end() - 2);  // [N, C, H, W] given in full
    if (out.empty()) out = {in.h * w.stride_h, in.w * w.stride_w};
    if (out.size() != 2) im.fail_attr("output_shape", dims_text(output_shape), "expected the output's H and W");
    auto split = [&](int64_t in_size, int64_t k, int64_t s, int64_t d, int64_t& op, int64_t out_size,
                     int64_t& begin, int64_t& end) {
      const int64_t total = s * (in_size - 1) + op + (k - 1) * d + 1 - out_size;
      if (total < 0) {  // an output larger than the full one grows at the end, as output_padding
        begin = end = 0;
        op -= total;
        return;
      }
      // ONNX: SAME_UPPER puts the odd pixel at the end, otherwise at the start.
      begin = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
      end = total - begin;
    };
    split(in.h, w.kernel_h, w.stride_h, w.dilation_h, output_pad[0], out[0], w.pad_top, w.pad_bottom);
    split(in.w, w.kernel_w, w.stride_w, w.dilation_w, output_pad[1], out[1], w.pad_left, w.pad_right);
  } else if (auto_pad == "NOTSET" && !pads.empty()) {
    if (pads.size() != 4 || !all_of_range(pads, 0, kMaxDim)) {
      im.fail_attr("pads", dims_text(pads), "expected 4 values >= 0 (top, left, bottom, right)");
    }
    w.pad_top = pads[0], w.pad_left = pads[1], w.pad_bottom = pads[2], w.pad_right = pads[3];
  } else if (auto_pad != "NOTSET" && auto_pad != "VALID") {
    im.fail_attr("auto_pad", auto_pad, "expected NOTSET, SAME_UPPER, SAME_LOWER or VALID");
  }
  LayerSpec spec{.op = "convtranspose", .arg = std::to_string(out_c)};
  put_window(spec, w, /*pool=*/false);
  if (output_pad[0] == output_pad[1]) {
    if (output_pad[0] != 0) spec.attrs["output_pad"] = std::to_string(output_pad[0]);
  } else {
    spec.attrs["output_pad_h"] = std::to_string(output_pad[0]);
    spec.attrs["output_pad_w"] = std::to_string(output_pad[1]);
  }
  if (group != 1) spec.attrs["groups"] = std::to_string(group);
  std::vector<ParamSource> params = {param_from("weight", weight)};
  add_bias(im, spec, params, out_c);
  im.add_layer(spec, {x}, std::move(params), x);
}

void convert_maxpool(Importer& im) { convert_pool(im, "maxpool"); }
void convert_averagepool(Importer& im) { convert_pool(im, "avgpool"); }

void convert_globalaveragepool(Importer& im) {
  NodeAttrs(im).finish();
  const ValueRef x = im.activation(0);
  require_rank4(im, x, "only [N, C, H, W] inputs are supported");
  im.add_layer({.op = "globalavgpool"}, {x}, {}, x);
}

// Pad: pads [x1_begin, x2_begin, ..., x1_end, x2_end, ...] (an attribute before opset 11, an
// input from 11). Only H and W are padded. All zeros: the same value. A zero constant Pad that
// one AveragePool reads (without auto_pad, and with pads of its own only if it counts them)
// becomes that pool's padding, counted as it is in ONNX: no padded copy of the value is made.
void convert_pad(Importer& im) {
  NodeAttrs a(im);
  const std::string mode = a.get_string("mode", "constant");
  std::vector<int64_t> pads = a.get_ints("pads");
  float value = a.get_float("value", 0.0f);
  a.finish();
  if (im.opset() >= 11) {
    pads = im.constant_ints(1, "pads");
    if (im.n_inputs() > 2) value = im.constant_scalar(2, "constant_value");
    if (im.n_inputs() > 3) im.fail("input 3 (axes) is not supported; give pads for every axis");
  }
  ValueRef x = im.value(0);
  if (x.view != View::nchw && x.view != View::nhwc) {
    im.fail(std::string("input is a ") + view_name(x.view) + " view; Pad reads NCHW or channels-last values");
  }
  if (static_cast<int>(pads.size()) != 2 * x.rank) {
    im.fail("pads " + dims_text(pads) + " has " + std::to_string(pads.size()) + " values; a rank-" +
            std::to_string(x.rank) + " input needs " + std::to_string(2 * x.rank));
  }
  std::array<int64_t, 4> side{};  // top, left, bottom, right
  for (int axis = 0; axis < x.rank; ++axis) {
    const int64_t begin = pads[axis], end = pads[axis + x.rank];
    if (begin < 0 || end < 0 || begin > kMaxDim || end > kMaxDim) {
      im.fail("pads " + dims_text(pads) + ": negative pads (cropping) are not supported");
    }
    if (begin == 0 && end == 0) continue;
    const int storage = im.storage_axis(x, axis);
    if (storage != 2 && storage != 3) {
      im.fail("pads " + dims_text(pads) + " pad axis " + std::to_string(axis) + "; Footprint pads only H and W");
    }
    side[storage == 2 ? 0 : 1] = begin;
    side[storage == 2 ? 2 : 3] = end;
  }
  if (side == std::array<int64_t, 4>{}) return im.alias(x);
  if (mode != "constant" && mode != "reflect" && mode != "edge") {
    im.fail_attr("mode", mode, "expected constant, reflect or edge");
  }
  const std::string& out = im.node().output(0);
  const std::vector<int>& readers = im.consumers(out);
  if (mode == "constant" && value == 0.0f && x.view == View::nchw && !x.has_pool_pad() && readers.size() == 1 &&
      !im.is_graph_output(out)) {
    const onnx::NodeProto& pool = im.graph_node(readers[0]);
    bool foldable = pool.op_type() == "AveragePool" && pool.input(0) == out;
    for (const auto& attr : pool.attribute()) {
      if (attr.name() == "auto_pad" && attr.s() != "NOTSET" && attr.s() != "VALID") foldable = false;
      if (attr.name() == "pads" && std::any_of(attr.ints().begin(), attr.ints().end(), [](int64_t p) { return p != 0; })) {
        bool counts = false;
        for (const auto& other : pool.attribute()) counts |= other.name() == "count_include_pad" && other.i() != 0;
        foldable &= counts;  // its own pads must count as the folded ones will
      }
    }
    if (foldable) {
      x.pool_pad = side;
      return im.alias(x);
    }
  }
  LayerSpec spec{.op = "pad"};
  if (side[0] == side[1] && side[0] == side[2] && side[0] == side[3]) {
    spec.attrs["pad"] = std::to_string(side[0]);
  } else {
    const char* const keys[] = {"pad_top", "pad_left", "pad_bottom", "pad_right"};
    for (int s = 0; s < 4; ++s) spec.attrs[keys[s]] = std::to_string(side[s]);
  }
  if (mode != "constant") spec.attrs["mode"] = mode;
  if (mode == "constant" && value != 0.0f) spec.attrs["value"] = float_text(value);
  x.pool_pad = {};
  im.add_layer(spec, {x}, {}, x);
}

}  // namespace footprint
