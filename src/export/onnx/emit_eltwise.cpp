// Element-wise layers: layer_list.def's 1:1 activations, activations with attributes, the ones
// opset 13 has no op for (hardswish, silu, gelu: written as the nodes the importer's fusions
// read back as one layer), arithmetic between values (NumPy broadcasting lines up once both are
// [N, C, H, W]) and the per-channel affine.
#include "export/onnx/emitters.hpp"
#include "export/onnx/exporter.hpp"
#include "layers/attr_reader.hpp"

namespace footprint::onnx_export {
namespace {

void binary(Exporter& ex, const char* onnx_op) {
  const std::vector<Value> in = ex.inputs_same_rank();
  ex.add_node(onnx_op, {in[0].name, in[1].name}, ex.output());
  ex.set_output_rank(in[0].rank);
}

// The float constants of src/layers/gelu.cpp, so the decomposition rounds as the layer does.
constexpr float kSqrtHalf = 0.70710678118654752f;     // 1 / sqrt(2)
constexpr float kSqrt2OverPi = 0.79788456080286536f;  // sqrt(2 / pi)
constexpr float kCubic = 0.044715f;

}  // namespace

void emit_one_to_one(Exporter& ex) {
  std::string onnx_op;
#define FP_LAYER(Class, keyword, onnx) \
  if (ex.spec().op == keyword) onnx_op = onnx;
#include "layers/layer_list.def"
#undef FP_LAYER
  ex.add_node(onnx_op, {ex.input(0).name}, ex.output());
}

void emit_leakyrelu(Exporter& ex) {
  AttrReader r(ex.spec());
  set_float(ex.add_node("LeakyRelu", {ex.input(0).name}, ex.output()), "alpha", r.get_float("slope", 0.01f));
}

void emit_clip(Exporter& ex) {
  AttrReader r(ex.spec());
  const float low = r.get_float("min", 0.0f), high = r.get_float("max", 6.0f);
  const std::string min = ex.scalar("min", low), max = ex.scalar("max", high);
  ex.add_node("Clip", {ex.input(0).name, min, max}, ex.output());
}

void emit_hardsigmoid(Exporter& ex) {
  AttrReader r(ex.spec());
  onnx::NodeProto& n = ex.add_node("HardSigmoid", {ex.input(0).name}, ex.output());
  set_float(n, "alpha", r.get_float("alpha", 0.2f));
  set_float(n, "beta", r.get_float("beta", 0.5f));
}

// x * HardSigmoid(x) with PyTorch's alpha 1/6 (HardSwish itself is opset 14).
void emit_hardswish(Exporter& ex) {
  const std::string x = ex.input(0).name, gate = ex.temp("hardsigmoid");
  onnx::NodeProto& n = ex.add_node("HardSigmoid", {x}, gate);
  set_float(n, "alpha", 1.0f / 6.0f);
  set_float(n, "beta", 0.5f);
  ex.add_node("Mul", {x, gate}, ex.output());
}

void emit_silu(Exporter& ex) {
  const std::string x = ex.input(0).name, gate = ex.temp("sigmoid");
  ex.add_node("Sigmoid", {x}, gate);
  ex.add_node("Mul", {x, gate}, ex.output());
}

// erf: x * (1 + Erf(x / sqrt(2))) * 0.5, the form torch.onnx writes and the importer fuses.
// tanh (no fusion reads it back; the importer takes it as separate layers): in the layer's
// order of operations, 0.5 x (1 + Tanh(sqrt(2/pi) (x + ((0.044715 x) x) x))).
void emit_gelu(Exporter& ex) {
  AttrReader r(ex.spec());
  const bool tanh_form = r.get_choice("approximate", "none", {"none", "tanh"}) == "tanh";
  const std::string x = ex.input(0).name;
  if (!tanh_form) {
    const std::string scaled = ex.temp("scaled"), erf = ex.temp("erf"), plus_one = ex.temp("plus_one");
    const std::string times_x = ex.temp("times_x");
    ex.add_node("Mul", {x, ex.scalar("sqrt_half", kSqrtHalf)}, scaled);
    ex.add_node("Erf", {scaled}, erf);
    ex.add_node("Add", {erf, ex.scalar("one", 1.0f)}, plus_one);
    ex.add_node("Mul", {x, plus_one}, times_x);
    ex.add_node("Mul", {times_x, ex.scalar("half", 0.5f)}, ex.output());
    return;
  }
  const std::string c1 = ex.temp("cubic1"), c2 = ex.temp("cubic2"), c3 = ex.temp("cubic3"), inner = ex.temp("inner");
  const std::string u = ex.temp("u"), t = ex.temp("tanh"), plus_one = ex.temp("plus_one"), half_x = ex.temp("half_x");
  ex.add_node("Mul", {x, ex.scalar("kappa", kCubic)}, c1);
  ex.add_node("Mul", {c1, x}, c2);
  ex.add_node("Mul", {c2, x}, c3);
  ex.add_node("Add", {x, c3}, inner);
  ex.add_node("Mul", {inner, ex.scalar("sqrt_2_over_pi", kSqrt2OverPi)}, u);
  ex.add_node("Tanh", {u}, t);
  ex.add_node("Add", {t, ex.scalar("one", 1.0f)}, plus_one);
  ex.add_node("Mul", {x, ex.scalar("half", 0.5f)}, half_x);
  ex.add_node("Mul", {half_x, plus_one}, ex.output());
}

// Over the channels at each position: axis 1 of [N, C, H, W] and of [N, C] alike (opset 13
// normalises that one axis).
void emit_softmax(Exporter& ex) {
  set_int(ex.add_node("Softmax", {ex.input(0).name}, ex.output()), "axis", 1);
}

// Dropout with its ratio, which runs as an identity at inference (no training_mode input) and
// imports back as the dropout layer, so a re-imported net trains as the original did.
void emit_dropout(Exporter& ex) {
  AttrReader r(ex.spec());
  ex.add_node("Dropout", {ex.input(0).name, ex.scalar("ratio", r.get_float("p", 0.5f))}, ex.output());
}

void emit_mul(Exporter& ex) { binary(ex, "Mul"); }
void emit_sub(Exporter& ex) { binary(ex, "Sub"); }
void emit_div(Exporter& ex) { binary(ex, "Div"); }

// weight[c] * x + bias[c]: Mul and Add by constants of one value per channel, which the
// importer folds into the conv or fc before them, or reads back as an affine layer.
void emit_affine(Exporter& ex) {
  AttrReader r(ex.spec());
  const bool bias = r.get_bool("bias", true);
  const Value x = ex.input(0);
  const std::vector<int64_t> dims = Exporter::per_channel_dims(ex.in_shape(0).c, x.rank);
  const std::string scaled = bias ? ex.temp("scaled") : ex.output();
  ex.add_node("Mul", {x.name, ex.weight("weight", dims)}, scaled);
  if (bias) ex.add_node("Add", {scaled, ex.weight("bias", dims)}, ex.output());
}

}  // namespace footprint::onnx_export
