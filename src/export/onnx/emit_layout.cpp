// Reshapes, slices and resizing: flatten, shuffle (ShuffleNet's Reshape, Transpose, Reshape, as
// the importer reads it), slice and upsample (Resize). Reshapes keep the batch with a 0, so the
// graph takes any batch.
#include "export/onnx/emitters.hpp"
#include "export/onnx/exporter.hpp"
#include "layers/attr_reader.hpp"

namespace footprint::onnx_export {

void emit_flatten(Exporter& ex) {
  set_int(ex.add_node("Flatten", {ex.input(0).name}, ex.output()), "axis", 1);
  ex.set_output_rank(2);
}

// Output channel j * G + i = input channel i * (C / G) + j: [N, G, C/G, H, W], swap the two
// channel axes, back to [N, C, H, W].
void emit_shuffle(Exporter& ex) {
  AttrReader r(ex.spec());
  const int64_t groups = r.get_int("groups", 0, 1, "");
  const Shape s = ex.in_shape(0);
  const std::string grouped = ex.temp("grouped"), swapped = ex.temp("swapped");
  ex.add_node("Reshape", {ex.input4(0).name, ex.constant_ints("grouped_shape", {5}, {0, groups, s.c / groups, s.h, s.w})},
              grouped);
  set_ints(ex.add_node("Transpose", {grouped}, swapped), "perm", {0, 2, 1, 3, 4});
  ex.add_node("Reshape", {swapped, ex.constant_ints("shape", {4}, {0, s.c, s.h, s.w})}, ex.output());
  ex.set_output_rank(4);
}

void emit_slice(Exporter& ex) {
  AttrReader r(ex.spec());
  const int64_t start = r.get_int("start", 0, 0, ""), end = r.get_int("end", 1, 1, "");
  const char axis = r.get_choice("axis", "c", {"c", "h", "w"})[0];
  // A channel slice of [N, F] is axis 1 as it is; H and W need the value as [N, C, H, W].
  const Value x = axis == 'c' ? ex.input(0) : ex.input4(0);
  const int64_t onnx_axis = axis == 'c' ? 1 : axis == 'h' ? 2 : 3;
  ex.add_node("Slice", {x.name, ex.constant_ints("starts", {1}, {start}), ex.constant_ints("ends", {1}, {end}),
                        ex.constant_ints("axes", {1}, {onnx_axis})},
              ex.output());
  ex.set_output_rank(x.rank);
}

// Resize by whole factors as scales [1, 1, sh, sw]; to another size as sizes [N, C, OH, OW], N
// taken from the input's shape at run time (the importer folds that arithmetic). nearest is
// PyTorch's (asymmetric, floor); bilinear half_pixel (PyTorch's align_corners=False, whose
// clamping at 0 ONNX's linear mode does too) or align_corners.
void emit_upsample(Exporter& ex) {
  AttrReader r(ex.spec());
  const bool bilinear = r.get_choice("mode", "nearest", {"nearest", "bilinear"}) == "bilinear";
  const bool align_corners = r.get_bool("align_corners", false);
  const Value x = ex.input4(0);
  const Shape in = ex.in_shape(0), out = ex.out_shape();
  std::vector<std::string> inputs = {x.name, ""};
  if (out.h % in.h == 0 && out.w % in.w == 0) {
    inputs.push_back(ex.constant_floats("scales", {4}, {1.0f, 1.0f, static_cast<float>(out.h / in.h),
                                                         static_cast<float>(out.w / in.w)}));
  } else {
    const std::string shape = ex.temp("input_shape"), batch = ex.temp("batch"), sizes = ex.temp("sizes");
    ex.add_node("Shape", {x.name}, shape);
    ex.add_node("Slice", {shape, ex.constant_ints("batch_start", {1}, {0}), ex.constant_ints("batch_end", {1}, {1})},
                batch);
    set_int(ex.add_node("Concat", {batch, ex.constant_ints("chw", {3}, {out.c, out.h, out.w})}, sizes), "axis", 0);
    inputs.push_back("");
    inputs.push_back(sizes);
  }
  onnx::NodeProto& n = ex.add_node("Resize", inputs, ex.output());
  set_string(n, "mode", bilinear ? "linear" : "nearest");
  set_string(n, "coordinate_transformation_mode",
             !bilinear ? "asymmetric" : align_corners ? "align_corners" : "half_pixel");
  if (!bilinear) set_string(n, "nearest_mode", "floor");
  ex.set_output_rank(4);
}

}  // namespace footprint::onnx_export
