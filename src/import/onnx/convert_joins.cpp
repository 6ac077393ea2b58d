// Values combined: Add (of two values: the add layer; of a value and a constant: a per-channel
// shift, folded where it can be), Sum (any number of values) and Concat (any number of values
// along the channels; on constants it is shape arithmetic, fold.cpp).
#include "import/onnx/converters.hpp"
#include "import/onnx/importer.hpp"
#include "import/onnx/node_attrs.hpp"

namespace footprint {
namespace {

// Every input as a value of the graph, all in the same view and rank (so their axes agree).
std::vector<ValueRef> same_view_values(Importer& im, const char* what) {
  if (im.n_inputs() == 0) im.fail(std::string("has no inputs; Footprint ") + what + " one value or more");
  std::vector<ValueRef> values;
  for (int i = 0; i < im.n_inputs(); ++i) {
    if (im.is_constant(i)) {
      im.fail("input " + std::to_string(i) + " ('" + im.input_name(i) + "') is a constant; Footprint " + what +
              " values computed by the graph only");
    }
    values.push_back(im.value(i));
    const ValueRef& v = values.back();
    if (v.view != values[0].view || v.rank != values[0].rank || (v.view != View::nchw && v.view != View::nhwc)) {
      im.fail("input " + std::to_string(i) + " ('" + im.input_name(i) + "') is a rank-" + std::to_string(v.rank) + " " +
              view_name(v.view) + " value and input 0 a rank-" + std::to_string(values[0].rank) + " " +
              view_name(values[0].view) + " one; Footprint " + what + " values of one rank, all NCHW or all channels-last");
    }
  }
  return values;
}

void add_of_values(Importer& im) {
  const std::vector<ValueRef> values = same_view_values(im, "adds");
  if (values.size() == 1) return im.alias(values[0]);
  im.add_layer({.op = "add"}, values, {}, values[0]);
}

}  // namespace

void convert_add(Importer& im) {
  NodeAttrs(im).finish();
  if (im.n_inputs() != 2) im.fail("expected 2 inputs, found " + std::to_string(im.n_inputs()));
  if (im.is_constant(0) || im.is_constant(1)) return convert_add_constant(im);
  add_of_values(im);
}

void convert_sum(Importer& im) {
  NodeAttrs(im).finish();
  add_of_values(im);
}

void convert_concat(Importer& im) {
  NodeAttrs a(im);
  const int64_t axis = a.get_int("axis", 1);  // required from opset 4; 1 was the old default
  a.finish();
  const std::vector<ValueRef> values = same_view_values(im, "concatenates");
  if (im.storage_axis(values[0], axis) != 1) {
    im.fail_attr("axis", std::to_string(axis), std::string("Footprint concatenates along the channels only (axis ") +
                                                   (values[0].view == View::nhwc ? "3 of a channels-last" : "1 of an NCHW") +
                                                   " value)");
  }
  if (values.size() == 1) return im.alias(values[0]);
  im.add_layer({.op = "concat"}, values, {}, values[0]);
}

}  // namespace footprint
