// Element-wise ops: layer_list.def's 1:1 activations, activations with attributes (LeakyRelu,
// Clip, HardSigmoid, Softmax, Dropout), and Mul, Sub, Div: of a value by a constant (one value
// per channel, or a scalar: folded into the layer before, else an affine layer) or of two values
// (the mul, sub and div layers, broadcasting per axis).
#include <cfloat>

#include "import/onnx/converters.hpp"
#include "import/onnx/importer.hpp"
#include "import/onnx/node_attrs.hpp"
#include "import/onnx/per_channel.hpp"

namespace footprint {
namespace {

// Two values of the graph, combined by a layer that broadcasts per C, H, W axis: the views
// must agree so that ONNX's axes and Footprint's line up.
void binary_of_values(Importer& im, const char* op) {
  const ValueRef a = im.value(0), b = im.value(1);
  if (a.view != b.view || a.rank != b.rank || (a.view != View::nchw && a.view != View::nhwc)) {
    im.fail("combines '" + im.input_name(0) + "' (rank " + std::to_string(a.rank) + ", " + view_name(a.view) + ") and '" +
            im.input_name(1) + "' (rank " + std::to_string(b.rank) + ", " + view_name(b.view) +
            "); Footprint's " + op + " takes two values of the same rank, both NCHW or both channels-last");
  }
  im.add_layer({.op = op}, {a, b}, {}, a);
}

enum class Arith { add, sub, mul, div };

// A value and a constant: per channel, folded or an affine layer.
void arith_with_constant(Importer& im, Arith arith) {
  const bool constant_first = im.is_constant(0);
  const int xi = constant_first ? 1 : 0, ci = constant_first ? 0 : 1;
  const ValueRef x = im.value(xi);
  const auto c = im.constant(ci, "the constant operand");
  static const char* const kVerb[] = {"adds", "subtracts", "multiplies by", "divides by"};
  const auto values = per_channel_values(im, x, *c);
  if (!values) {
    im.fail(std::string(kVerb[static_cast<int>(arith)]) + " the constant '" + im.input_name(ci) + "' of shape " +
            dims_text(c->dims()) + ", which is not one value per channel of '" + im.input_name(xi) + "' " +
            dims_text(im.onnx_dims(x)) + " (nor a scalar); only those fold into the layer before or become an affine layer");
  }
  std::vector<float> v = *values;
  switch (arith) {
    case Arith::add: return apply_per_channel(im, x, {}, v);
    case Arith::mul: return apply_per_channel(im, x, v, {});
    case Arith::sub:
      if (!constant_first) {
        for (float& f : v) f = -f;
        return apply_per_channel(im, x, {}, v);
      }
      return apply_per_channel(im, x, std::vector<float>(v.size(), -1.0f), v);  // c - x
    case Arith::div:
      if (constant_first) {
        im.fail("divides the constant '" + im.input_name(ci) + "' by a value; Footprint divides values by constants "
                "(or by values), not constants by values");
      }
      for (float& f : v) {
        if (f == 0.0f) im.fail("divides by the constant '" + im.input_name(ci) + "', which has a zero");
        f = 1.0f / f;
      }
      return apply_per_channel(im, x, v, {});
  }
}

void convert_arith(Importer& im, Arith arith, const char* op) {
  NodeAttrs(im).finish();
  if (im.n_inputs() != 2) im.fail("expected 2 inputs, found " + std::to_string(im.n_inputs()));
  if (im.is_constant(0) || im.is_constant(1)) return arith_with_constant(im, arith);
  binary_of_values(im, op);
}

}  // namespace

void convert_add_constant(Importer& im) { arith_with_constant(im, Arith::add); }

void convert_one_to_one(Importer& im) {
  NodeAttrs(im).finish();
  const std::string& onnx_op = im.node().op_type();
  std::string keyword;
#define FP_LAYER(Class, key, onnx) \
  if (onnx_op == onnx) keyword = key;
#include "layers/layer_list.def"
#undef FP_LAYER
  const ValueRef x = im.value(0);
  im.add_layer({.op = keyword}, {x}, {}, x);
}

void convert_leakyrelu(Importer& im) {
  NodeAttrs a(im);
  const float alpha = a.get_float("alpha", 0.01f);
  a.finish();
  if (alpha < 0.0f) im.fail_attr("alpha", float_text(alpha), "Footprint's leakyrelu needs a slope >= 0");
  const ValueRef x = im.value(0);
  im.add_layer({.op = "leakyrelu", .attrs = {{"slope", float_text(alpha)}}}, {x}, {}, x);
}

// Clip: min and max are attributes before opset 11 and optional inputs from 11 (absent: no
// bound, written as the largest float since .net numbers are finite).
void convert_clip(Importer& im) {
  NodeAttrs a(im);
  float low = -FLT_MAX, high = FLT_MAX;
  if (im.opset() < 11) {
    low = a.get_float("min", low);
    high = a.get_float("max", high);
  }
  a.finish();
  if (im.opset() >= 11) {
    if (im.has_input(1)) low = im.constant_scalar(1, "min");
    if (im.has_input(2)) high = im.constant_scalar(2, "max");
  }
  if (!(low <= high)) im.fail("min " + float_text(low) + " is above max " + float_text(high));
  const ValueRef x = im.value(0);
  im.add_layer({.op = "clip", .attrs = {{"min", float_text(low)}, {"max", float_text(high)}}}, {x}, {}, x);
}

void convert_hardsigmoid(Importer& im) {
  NodeAttrs a(im);
  const float alpha = a.get_float("alpha", 0.2f), beta = a.get_float("beta", 0.5f);
  a.finish();
  const ValueRef x = im.value(0);
  im.add_layer({.op = "hardsigmoid", .attrs = {{"alpha", float_text(alpha)}, {"beta", float_text(beta)}}}, {x}, {}, x);
}

void convert_softmax(Importer& im) {
  NodeAttrs a(im);
  const ValueRef x = im.value(0);
  // Opset 13 normalises over one axis (default -1); earlier opsets over all axes from `axis`
  // on (default 1). Footprint's softmax is over the channels at each position.
  const int64_t fallback = im.opset() >= 13 ? -1 : 1;
  const int64_t axis = a.get_int("axis", fallback);
  a.finish();
  const int storage = im.storage_axis(x, axis);
  const Shape in = im.shape(x);
  const int64_t last = axis < 0 ? axis + x.rank : axis;
  const bool nothing_after = last == x.rank - 1 || (in.h == 1 && in.w == 1) || x.rank == 2;
  if (storage != 1 || (im.opset() < 13 && !nothing_after)) {
    im.fail_attr("axis", std::to_string(axis),
                 "Footprint's softmax is over the channels" +
                     std::string(im.opset() < 13 ? " with nothing after them" : "") + " of a rank-" +
                     std::to_string(x.rank) + " " + view_name(x.view) + " input");
  }
  im.add_layer({.op = "softmax"}, {x}, {}, x);
}

void convert_dropout(Importer& im) {
  NodeAttrs a(im);
  float ratio = a.get_float("ratio", 0.5f);  // an attribute before opset 12, an input from 12
  a.ignore("is_test");
  a.ignore("seed");  // Footprint draws masks from its own seed
  a.finish();
  im.only_first_output_used();
  const ValueRef x = im.value(0);
  if (im.has_input(1)) ratio = im.constant_scalar(1, "ratio");
  if (im.has_input(2) && im.constant_ints(2, "training_mode") != std::vector<int64_t>{0}) {
    im.fail("training_mode is true; import the inference graph (Footprint trains it itself)");
  }
  if (ratio < 0.0f || ratio >= 1.0f) im.fail("ratio " + float_text(ratio) + " is not in [0, 1)");
  // Identity at inference, as in ONNX; a real dropout once the imported net is trained.
  im.add_layer({.op = "dropout", .attrs = {{"p", float_text(ratio)}}}, {x}, {}, x);
}

void convert_mul(Importer& im) { convert_arith(im, Arith::mul, "mul"); }
void convert_sub(Importer& im) { convert_arith(im, Arith::sub, "sub"); }
void convert_div(Importer& im) { convert_arith(im, Arith::div, "div"); }

void convert_only_in_fusion(Importer& im) {
  const std::string& op = im.node().op_type();
  const char* pattern =
      op == "Erf" ? "GELU, x * 0.5 * (1 + Erf(x / sqrt(2)))"
                  : "a LayerNorm over the channels, (x - mean) / Sqrt(mean((x - mean) Pow 2) + eps) [* gamma + beta]";
  im.fail(op + " is imported only as part of " + pattern + ", whose intermediate values nothing else reads");
}

}  // namespace footprint
