// Views, reshapes, slices and resizing of values. Footprint stores every value as N x C x H x W;
// a Reshape or Transpose that moves nothing becomes a view (an alias with its axes mapped,
// importer.hpp), one that does becomes a layer: flatten, shuffle (ShuffleNet's channel shuffle:
// Reshape to [N, G, C/G, H, W], Transpose(0, 2, 1, 3, 4), Reshape back), slice, upsample.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "import/onnx/converters.hpp"
#include "import/onnx/importer.hpp"
#include "import/onnx/node_attrs.hpp"

namespace footprint {
namespace {

// Footprint's C x H x W for an NCHW value of these per-sample ONNX dims.
Shape nchw_shape(const std::vector<int64_t>& per_sample) {
  switch (per_sample.size()) {
    case 0: return {1, 1, 1};
    case 1: return {per_sample[0], 1, 1};
    case 2: return {per_sample[0], 1, per_sample[1]};
    default: return {per_sample[0], per_sample[1], per_sample[2]};
  }
}

// Output 0 is x reshaped to `target` (ONNX dims with the batch first, resolved).
void reshape_value(Importer& im, ValueRef x, const std::vector<int64_t>& target) {
  const Shape s = im.shape(x);
  const std::vector<int64_t> dims = im.onnx_dims(x);
  if (target == dims) return im.alias(x);
  const std::vector<int64_t> per(target.begin() + 1, target.end());
  const int rank = static_cast<int>(target.size());
  // A channels-last view of a 1 x 1 image lies in memory as its NCHW self.
  if (x.view == View::nhwc && s.h == 1 && s.w == 1) x.view = View::nchw;
  switch (x.view) {
    case View::nchw:
      if (x.rank == 4 && rank == 5 && per[0] > 0 && per[0] * per[1] == s.c && per[2] == s.h && per[3] == s.w) {
        return im.alias({.fp_value = x.fp_value, .rank = 5, .view = View::grouped, .groups = per[0]});
      }
      if (rank <= 4 && nchw_shape(per) == s) return im.alias({.fp_value = x.fp_value, .rank = rank});
      if (rank == 2) return void(im.add_layer({.op = "flatten"}, {x}, {}, {.rank = 2}));
      break;
    case View::grouped:
      if (rank == 4 && nchw_shape(per) == s) return im.alias({.fp_value = x.fp_value, .rank = 4});
      break;
    case View::shuffled:
      if (rank == 4 && nchw_shape(per) == s) {
        return void(im.add_layer({.op = "shuffle", .attrs = {{"groups", std::to_string(x.groups)}}}, {x}, {}, {.rank = 4}));
      }
      break;
    case View::nhwc: break;
  }
  im.fail("reshapes '" + im.input_name(0) + "' " + dims_text(dims) + " (" + view_name(x.view) + ") to " +
          dims_text(target) + "; Footprint reshapes to [N, -1] (flatten), to the same data under other "
          "unit axes ([N, C, 1, 1] <-> [N, C]), and splits or joins the channels for a shuffle "
          "([N, G, C/G, H, W], transposed (0, 2, 1, 3, 4), back to [N, C, H, W])");
}

// A Reshape's target with 0 (copy, unless allowzero) and -1 (the rest) resolved; the batch
// must stay where it is.
std::vector<int64_t> resolve_target(Importer& im, const ValueRef& x, std::vector<int64_t> target, bool allow_zero) {
  const std::vector<int64_t> dims = im.onnx_dims(x);
  int64_t total = 1;
  for (int64_t d : dims) total *= d;
  int unknown = -1;
  int64_t known = 1;
  for (size_t i = 0; i < target.size(); ++i) {
    if (target[i] == 0 && !allow_zero) {
      if (i >= dims.size()) im.fail("shape " + dims_text(target) + " copies a dimension its input does not have");
      target[i] = dims[i];
    }
    if (target[i] == -1) {
      if (unknown >= 0) im.fail("shape " + dims_text(target) + " has more than one -1");
      unknown = static_cast<int>(i);
    } else if (target[i] < 0) {
      im.fail("shape " + dims_text(target) + " has a negative dimension");
    } else {
      if (target[i] != 0 && known > (int64_t{1} << 50) / target[i]) im.fail("shape " + dims_text(target) + " is too large");
      known *= target[i];
    }
  }
  if (unknown >= 0 && known > 0 && total % known == 0) target[unknown] = total / known;
  int64_t product = 1;
  for (int64_t d : target) product *= d;
  if (unknown >= 0 && target[unknown] < 0) product = -1;
  if (product != total) {
    im.fail("reshapes " + dims_text(dims) + " (" + std::to_string(total) + " values) to " + dims_text(target));
  }
  if (target.empty() || target[0] != im.batch()) {
    im.fail("reshapes " + dims_text(dims) + " to " + dims_text(target) + ", across the batch (axis 0); Footprint "
            "keeps the batch apart");
  }
  return target;
}

// Axes of Squeeze and Unsqueeze: an attribute before opset 13, an input from 13.
std::vector<int64_t> read_axes(Importer& im, NodeAttrs& a) {
  std::vector<int64_t> axes = a.get_ints("axes");
  a.finish();
  if (im.opset() >= 13 && im.has_input(1)) axes = im.constant_ints(1, "axes");
  return axes;
}

// The start, end and step of a Slice (or of one Split part) along an axis of size dim, clamped as
// ONNX clamps them.
int64_t clamp_index(int64_t index, int64_t dim) {
  if (index < 0) index += dim;
  return std::clamp<int64_t>(index, 0, dim);
}

const char* axis_key(int storage) { return storage == 1 ? "c" : storage == 2 ? "h" : "w"; }

// A slice layer: [start, end) along storage axis `storage` of x, as output k.
void add_slice(Importer& im, const ValueRef& x, int storage, int64_t start, int64_t end, int k) {
  LayerSpec spec{.op = "slice", .attrs = {{"start", std::to_string(start)}, {"end", std::to_string(end)}}};
  if (storage != 1) spec.attrs["axis"] = axis_key(storage);
  im.add_layer(spec, {x}, {}, x, k);
}

// Output sizes for Resize and Upsample, and the upsample layer they become.
void add_upsample(Importer& im, const ValueRef& x, const std::string& mode, const std::string& coordinates,
                  const std::string& nearest_mode, const std::vector<float>& scales, const std::vector<int64_t>& sizes) {
  const Shape s = im.shape(x);
  int64_t out_h = 0, out_w = 0;
  if (!sizes.empty()) {
    if (sizes.size() != 4 || sizes[0] != im.batch() || sizes[1] != s.c) {
      im.fail("sizes " + dims_text(sizes) + "; Footprint resizes H and W of [N, C, H, W] (sizes [N, C, OH, OW])");
    }
    out_h = sizes[2], out_w = sizes[3];
  } else {
    if (scales.size() != 4 || scales[0] != 1.0f || scales[1] != 1.0f || !(scales[2] > 0) || !(scales[3] > 0)) {
      std::string text;
      for (float f : scales) text += (text.empty() ? "" : ", ") + float_text(f);
      im.fail("scales [" + text + "]; Footprint resizes H and W of [N, C, H, W] (scales [1, 1, sh, sw])");
    }
    out_h = static_cast<int64_t>(std::floor(static_cast<double>(s.h) * scales[2]));
    out_w = static_cast<int64_t>(std::floor(static_cast<double>(s.w) * scales[3]));
    // Given scales, ONNX maps coordinates by the scale itself: that is out / in only when the
    // scaled size is whole.
    if (static_cast<double>(out_h) != static_cast<double>(s.h) * scales[2] ||
        static_cast<double>(out_w) != static_cast<double>(s.w) * scales[3]) {
      im.fail("scales " + float_text(scales[2]) + " x " + float_text(scales[3]) + " of " + std::to_string(s.h) + "x" +
              std::to_string(s.w) + " are not a whole number of pixels; give sizes instead");
    }
  }
  if (out_h < 1 || out_w < 1 || out_h > (int64_t{1} << 24) || out_w > (int64_t{1} << 24)) {
    im.fail("output size " + std::to_string(out_h) + "x" + std::to_string(out_w) + " is out of range");
  }
  const bool whole = out_h % s.h == 0 && out_w % s.w == 0;
  LayerSpec spec{.op = "upsample"};
  if (mode == "nearest") {
    // PyTorch's nearest takes source floor(out * in / size): ONNX's asymmetric + floor, and for
    // whole factors a half-pixel mapping that rounds (its offsets stay within half a source pixel
    // of the centre; floor and ceil would step out of it).
    const bool half_pixel = coordinates == "half_pixel" || coordinates == "pytorch_half_pixel";
    const bool rounds = nearest_mode == "round_prefer_floor" || nearest_mode == "round_prefer_ceil";
    const bool exact = (coordinates == "asymmetric" && nearest_mode == "floor") || (whole && half_pixel && rounds);
    if (!exact) {
      im.fail("nearest resizing with coordinate_transformation_mode=" + coordinates + " and nearest_mode=" + nearest_mode +
              " is not PyTorch's nearest; supported: asymmetric with floor, or half_pixel rounding with whole factors");
    }
    spec.attrs["mode"] = "nearest";
  } else if (mode == "linear") {
    if (coordinates == "align_corners") {
      spec.attrs["align_corners"] = "true";
    } else if (coordinates != "half_pixel" && coordinates != "pytorch_half_pixel") {
      im.fail("linear resizing with coordinate_transformation_mode=" + coordinates +
              "; supported: half_pixel, pytorch_half_pixel, align_corners (PyTorch's bilinear)");
    }
    if (coordinates == "pytorch_half_pixel" && (out_h == 1 || out_w == 1)) {
      im.fail("pytorch_half_pixel resizing to a size of 1 differs from half_pixel; not supported");
    }
    spec.attrs["mode"] = "bilinear";
  } else {
    im.fail("mode " + mode + " is not supported; supported: nearest, linear (bilinear over H and W)");
  }
  if (whole && out_h / s.h == out_w / s.w) {
    spec.attrs["scale"] = std::to_string(out_h / s.h);
  } else if (whole) {
    spec.attrs["scale_h"] = std::to_string(out_h / s.h);
    spec.attrs["scale_w"] = std::to_string(out_w / s.w);
  } else {
    spec.attrs["h"] = std::to_string(out_h);
    spec.attrs["w"] = std::to_string(out_w);
  }
  im.add_layer(spec, {x}, {}, x);
}

}  // namespace

void convert_identity(Importer& im) {
  NodeAttrs(im).finish();
  im.alias(im.value(0));
}

void convert_flatten(Importer& im) {
  NodeAttrs a(im);
  const ValueRef x = im.value(0);
  int64_t axis = a.get_int("axis", 1);
  a.finish();
  if (axis < 0) axis += x.rank;
  if (axis != 1) {
    im.fail_attr("axis", std::to_string(axis), "only axis 1 (keep the batch, flatten the rest) is supported");
  }
  const std::vector<int64_t> dims = im.onnx_dims(x);
  reshape_value(im, x, {dims[0], std::accumulate(dims.begin() + 1, dims.end(), int64_t{1}, std::multiplies<>())});
}

void convert_reshape(Importer& im) {
  NodeAttrs a(im);
  const ValueRef x = im.value(0);
  std::vector<int64_t> target = a.get_ints("shape");  // an attribute before opset 5
  const bool allow_zero = a.get_int("allowzero", 0) != 0;
  a.finish();
  if (im.n_inputs() > 1) target = im.constant_ints(1, "shape");
  reshape_value(im, x, resolve_target(im, x, target, allow_zero));
}

void convert_squeeze(Importer& im) {
  NodeAttrs a(im);
  const ValueRef x = im.value(0);
  std::vector<int64_t> axes = read_axes(im, a);
  std::vector<int64_t> dims = im.onnx_dims(x);
  std::vector<bool> drop(dims.size(), false);
  if (axes.empty()) {
    for (size_t i = 1; i < dims.size(); ++i) drop[i] = dims[i] == 1;  // never the batch
  }
  for (int64_t axis : axes) {
    if (axis < -x.rank || axis >= x.rank) im.fail("axes " + dims_text(axes) + " are out of range");
    if (axis < 0) axis += x.rank;
    if (axis == 0) im.fail("squeezes the batch axis; Footprint keeps the batch");
    if (dims[axis] != 1) im.fail("squeezes axis " + std::to_string(axis) + " of " + dims_text(dims) + ", which is not 1");
    drop[axis] = true;
  }
  std::vector<int64_t> target;
  for (size_t i = 0; i < dims.size(); ++i)
    if (!drop[i]) target.push_back(dims[i]);
  reshape_value(im, x, target);
}

void convert_unsqueeze(Importer& im) {
  NodeAttrs a(im);
  const ValueRef x = im.value(0);
  std::vector<int64_t> axes = read_axes(im, a);
  const std::vector<int64_t> dims = im.onnx_dims(x);
  const int out_rank = x.rank + static_cast<int>(axes.size());
  std::vector<bool> inserted(out_rank, false);
  for (int64_t axis : axes) {
    if (axis < -out_rank || axis >= out_rank) im.fail("axes " + dims_text(axes) + " are out of range");
    if (axis < 0) axis += out_rank;
    if (axis == 0) im.fail("inserts an axis before the batch; Footprint keeps the batch first");
    if (inserted[axis]) im.fail("axes " + dims_text(axes) + " name axis " + std::to_string(axis) + " twice");
    inserted[axis] = true;
  }
  std::vector<int64_t> target;
  size_t next = 0;
  for (int i = 0; i < out_rank; ++i) target.push_back(inserted[i] ? 1 : dims.at(next++));
  reshape_value(im, x, target);
}

void convert_transpose(Importer& im) {
  NodeAttrs a(im);
  ValueRef x = im.value(0);
  std::vector<int64_t> perm = a.get_ints("perm");
  a.finish();
  if (perm.empty()) {  // the default reverses the axes
    for (int i = x.rank - 1; i >= 0; --i) perm.push_back(i);
  }
  std::vector<int64_t> identity(x.rank);
  std::iota(identity.begin(), identity.end(), 0);
  if (perm == identity) return im.alias(x);
  using P = std::vector<int64_t>;
  if (x.view == View::nchw && x.rank == 4 && perm == P{0, 2, 3, 1}) {
    x.view = View::nhwc;
    return im.alias(x);
  }
  if (x.view == View::nhwc && perm == P{0, 3, 1, 2}) {
    x.view = View::nchw;
    return im.alias(x);
  }
  if ((x.view == View::grouped || x.view == View::shuffled) && perm == P{0, 2, 1, 3, 4}) {
    x.view = x.view == View::grouped ? View::shuffled : View::grouped;
    return im.alias(x);
  }
  im.fail("transposes a rank-" + std::to_string(x.rank) + " " + view_name(x.view) + " value by " + dims_text(perm) +
          "; Footprint keeps NCHW storage and reads (0, 2, 3, 1) as a channels-last view, (0, 3, 1, 2) of that "
          "view as NCHW again, and (0, 2, 1, 3, 4) of a channel-group view as half of a channel shuffle");
}

// Slice: starts, ends, axes, steps (attributes before opset 10, inputs from 10). One axis among
// C, H and W may be cut, with step 1; other axes must be taken whole.
void convert_slice(Importer& im) {
  NodeAttrs a(im);
  const ValueRef x = im.value(0);
  std::vector<int64_t> starts = a.get_ints("starts"), ends = a.get_ints("ends"), axes = a.get_ints("axes"), steps;
  a.finish();
  if (im.opset() >= 10) {
    starts = im.constant_ints(1, "starts");
    ends = im.constant_ints(2, "ends");
    if (im.has_input(3)) axes = im.constant_ints(3, "axes");
    if (im.has_input(4)) steps = im.constant_ints(4, "steps");
  }
  if (axes.empty()) {
    for (size_t i = 0; i < starts.size(); ++i) axes.push_back(static_cast<int64_t>(i));
  }
  if (steps.empty()) steps.assign(starts.size(), 1);
  if (ends.size() != starts.size() || axes.size() != starts.size() || steps.size() != starts.size()) {
    im.fail("starts, ends, axes and steps have different lengths");
  }
  const std::vector<int64_t> dims = im.onnx_dims(x);
  int cut_axis = -1;
  int64_t cut_start = 0, cut_end = 0;
  for (size_t i = 0; i < starts.size(); ++i) {
    const int storage = im.storage_axis(x, axes[i]);
    const int64_t axis = axes[i] < 0 ? axes[i] + x.rank : axes[i];
    const int64_t start = clamp_index(starts[i], dims[axis]), end = clamp_index(ends[i], dims[axis]);
    if (start == 0 && end == dims[axis] && steps[i] == 1) continue;  // the whole axis
    if (steps[i] != 1) im.fail("steps " + dims_text(steps) + "; Footprint slices with step 1 only");
    if (storage < 1 || (x.view != View::nchw && x.view != View::nhwc)) {
      im.fail("slices axis " + std::to_string(axis) + " of a " + view_name(x.view) + " value " + dims_text(dims) +
              "; Footprint slices C, H or W");
    }
    if (end <= start) im.fail("the slice of axis " + std::to_string(axis) + " is empty");
    if (cut_axis >= 0) im.fail("slices more than one axis; Footprint's slice cuts one of C, H and W");
    cut_axis = storage, cut_start = start, cut_end = end;
  }
  if (cut_axis < 0) return im.alias(x);
  add_slice(im, x, cut_axis, cut_start, cut_end, 0);
}

// Split: each output that something reads becomes a slice of C, H or W.
void convert_split(Importer& im) {
  NodeAttrs a(im);
  const ValueRef x = im.value(0);
  const int64_t axis_attr = a.get_int("axis", 0);
  std::vector<int64_t> sizes = a.get_ints("split");  // an attribute before opset 13, an input from 13
  a.finish();
  if (im.opset() >= 13 && im.has_input(1)) sizes = im.constant_ints(1, "split");
  const int storage = im.storage_axis(x, axis_attr);
  const int64_t axis = axis_attr < 0 ? axis_attr + x.rank : axis_attr;
  const std::vector<int64_t> dims = im.onnx_dims(x);
  if (storage < 1 || (x.view != View::nchw && x.view != View::nhwc)) {
    im.fail_attr("axis", std::to_string(axis_attr), "Footprint splits along C, H or W of an NCHW or channels-last value");
  }
  const int n_out = im.node().output_size();
  if (sizes.empty()) {
    if (dims[axis] % n_out != 0) {
      im.fail("splits " + std::to_string(dims[axis]) + " into " + std::to_string(n_out) + " equal parts");
    }
    sizes.assign(n_out, dims[axis] / n_out);
  }
  if (static_cast<int>(sizes.size()) != n_out ||
      std::accumulate(sizes.begin(), sizes.end(), int64_t{0}) != dims[axis] ||
      std::any_of(sizes.begin(), sizes.end(), [](int64_t s) { return s < 1; })) {
    im.fail("split sizes " + dims_text(sizes) + " do not cut " + std::to_string(dims[axis]) + " into " +
            std::to_string(n_out) + " parts");
  }
  int64_t offset = 0;
  for (int k = 0; k < n_out; ++k) {
    const std::string& out = im.node().output(k);
    const bool read = !out.empty() && (!im.consumers(out).empty() || im.is_graph_output(out));
    if (read) {
      if (sizes[k] == dims[axis]) {
        im.alias(x, k);
      } else {
        add_slice(im, x, storage, offset, offset + sizes[k], k);
      }
    }
    offset += sizes[k];
  }
}

void convert_shape(Importer& im) {
  NodeAttrs a(im);
  const int64_t start_attr = a.get_int("start", 0);
  const bool has_end = a.has("end");
  const int64_t end_attr = a.get_int("end", 0);
  a.finish();
  const std::vector<int64_t> dims = im.onnx_dims(im.value(0));
  const auto rank = static_cast<int64_t>(dims.size());
  const int64_t start = clamp_index(start_attr, rank), end = has_end ? clamp_index(end_attr, rank) : rank;
  std::vector<int64_t> part(dims.begin() + start, dims.begin() + std::max(start, end));
  const auto n = static_cast<int64_t>(part.size());
  im.set_constant(0, ConstTensor::of_ints({n}, std::move(part)));
}

// Resize (opsets 10 to 17): inputs X, roi, scales, sizes (opset 10: X, scales).
void convert_resize(Importer& im) {
  NodeAttrs a(im);
  const std::string mode = a.get_string("mode", "nearest");
  // Opset 10 had no coordinate modes; its nearest and linear were asymmetric.
  const std::string coordinates =
      a.get_string("coordinate_transformation_mode", im.opset() >= 11 ? "half_pixel" : "asymmetric");
  const std::string nearest_mode = a.get_string("nearest_mode", im.opset() >= 11 ? "round_prefer_floor" : "floor");
  a.ignore("cubic_coeff_a");  // cubic is refused below
  a.ignore("extrapolation_value");  // only used by tf_crop_and_resize, refused below
  if (a.get_int("exclude_outside", 0) != 0) im.fail_attr("exclude_outside", "1", "only for cubic, which is not supported");
  a.finish();
  const ValueRef x = im.activation(0);
  if (x.rank != 4) im.fail("input has rank " + std::to_string(x.rank) + "; Footprint resizes [N, C, H, W]");
  std::vector<float> scales;
  std::vector<int64_t> sizes;
  const int scales_input = im.opset() >= 11 ? 2 : 1;
  if (im.has_input(scales_input) && im.constant(scales_input, "scales")->n_elems() > 0) {
    scales = im.constant_floats(scales_input, "scales");
  }
  if (im.opset() >= 11 && im.has_input(3)) sizes = im.constant_ints(3, "sizes");
  if (scales.empty() == sizes.empty()) im.fail("give either scales or sizes");
  add_upsample(im, x, mode, coordinates, nearest_mode, scales, sizes);
}

// Upsample (opsets 7 to 9, deprecated since): scales as an attribute (7) or an input (9).
void convert_upsample(Importer& im) {
  NodeAttrs a(im);
  const std::string mode = a.get_string("mode", "nearest");
  std::vector<float> scales = a.get_floats("scales");
  a.finish();
  if (im.has_input(1)) scales = im.constant_floats(1, "scales");
  const ValueRef x = im.activation(0);
  if (x.rank != 4) im.fail("input has rank " + std::to_string(x.rank) + "; Footprint resizes [N, C, H, W]");
  if (mode != "nearest") {
    im.fail_attr("mode", mode, "Upsample's linear mode maps coordinates asymmetrically, unlike PyTorch's bilinear; "
                               "supported: nearest (or export Resize, opset 11 and later)");
  }
  add_upsample(im, x, mode, "asymmetric", "floor", scales, {});
}

}  // namespace footprint
