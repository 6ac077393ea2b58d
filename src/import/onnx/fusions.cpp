// Fusions: each pattern is matched forward from its first node, following values that exactly
// one node reads. The fused layer is added at the first node (every input of the pattern is
// available there: its value x and constants known before the walk) and named after the last.
#include "import/onnx/fusions.hpp"

#include <cmath>

#include "import/onnx/importer.hpp"
#include "import/onnx/per_channel.hpp"

namespace footprint {
namespace {

using Node = onnx::NodeProto;

// The node that alone reads `value`, when its type is op; nullptr when value has other readers
// or is a graph output.
const Node* sole_reader(Importer& im, const std::string& value, const char* op, int& index) {
  if (im.is_graph_output(value)) return nullptr;
  const std::vector<int>& readers = im.consumers(value);
  if (readers.size() != 1) return nullptr;
  const Node& n = im.graph_node(readers[0]);
  if (n.op_type() != op || !(n.domain().empty() || n.domain() == "ai.onnx") || n.output_size() != 1) return nullptr;
  index = readers[0];
  return &n;
}

// The other input of a node of two inputs that reads `one` once; "" otherwise.
std::string other_input(const Node& n, const std::string& one) {
  if (n.input_size() != 2 || n.attribute_size() != 0) return "";
  if (n.input(0) == one && n.input(1) != one) return n.input(1);
  if (n.input(1) == one && n.input(0) != one) return n.input(0);
  return "";
}

// A constant of one element close to `want`.
bool is_number(Importer& im, const std::string& name, double want) {
  const auto t = im.constant_named(name);
  if (!t || t->n_elems() != 1) return false;
  const double v = t->floats()[0];
  return std::fabs(v - want) <= 1e-5 * std::max(1.0, std::fabs(want));
}

// Two names for the same value of the graph.
bool same_value(Importer& im, const std::string& a, const std::string& b) {
  if (!im.is_value(a) || !im.is_value(b)) return false;
  if (a == b) return true;
  const ValueRef va = im.value_named(a), vb = im.value_named(b);
  return va.fp_value == vb.fp_value && va.view == vb.view && va.rank == vb.rank && !va.has_pool_pad() &&
         !vb.has_pool_pad();
}

// Adds the fused layer reading x, as the value of `last`'s output; the walk skips `covered`.
void emit(Importer& im, LayerSpec spec, const ValueRef& x, std::vector<ParamSource> params,
          const std::vector<int>& covered, const Node& last) {
  const ValueRef out = im.add_layer(std::move(spec), {x}, std::move(params), x, /*k=*/-1,
                                    last.name().empty() ? last.output(0) : last.name());
  im.bind(last.output(0), out);
  for (int index : covered) im.absorb(index);
}

// f(x) * x, where f is the node being converted (Sigmoid or HardSigmoid).
bool times_input(Importer& im, const char* op) {
  const Node& f = im.node();
  if (f.input_size() != 1 || !im.is_value(f.input(0))) return false;
  int mul_index = 0;
  const Node* mul = sole_reader(im, f.output(0), "Mul", mul_index);
  if (!mul || !same_value(im, other_input(*mul, f.output(0)), f.input(0))) return false;
  const ValueRef x = im.value(0);
  if (x.has_pool_pad()) return false;
  emit(im, {.op = op}, x, {}, {mul_index}, *mul);
  return true;
}

bool try_silu(Importer& im) { return im.node().attribute_size() == 0 && times_input(im, "silu"); }

bool try_hardswish(Importer& im) {
  float alpha = 0.2f, beta = 0.5f;
  for (const auto& a : im.node().attribute()) {
    if (a.name() == "alpha" && a.type() == onnx::AttributeProto::FLOAT) {
      alpha = a.f();
    } else if (a.name() == "beta" && a.type() == onnx::AttributeProto::FLOAT) {
      beta = a.f();
    } else {
      return false;
    }
  }
  // PyTorch's hardswish is x * relu6(x + 3) / 6: HardSigmoid with alpha 1/6 and beta 1/2.
  if (std::fabs(alpha - 1.0 / 6.0) > 1e-6 || std::fabs(beta - 0.5) > 1e-6) return false;
  return times_input(im, "hardswish");
}

// x / sqrt(2) (or x * (1 / sqrt(2))) -> Erf -> + 1 -> then * x and * 0.5 in either order.
bool try_gelu(Importer& im) {
  const Node& root = im.node();
  if (root.input_size() != 2 || root.attribute_size() != 0) return false;
  std::string x_name;
  if (root.op_type() == "Div" && is_number(im, root.input(1), std::sqrt(2.0))) {
    x_name = root.input(0);
  } else if (root.op_type() == "Mul") {
    for (int i = 0; i < 2; ++i)
      if (is_number(im, root.input(1 - i), std::sqrt(0.5))) x_name = root.input(i);
  }
  if (x_name.empty() || !im.is_value(x_name)) return false;
  int erf_index = 0, add_index = 0, mul1_index = 0, mul2_index = 0;
  const Node* erf = sole_reader(im, root.output(0), "Erf", erf_index);
  if (!erf || erf->attribute_size() != 0) return false;
  const Node* add = sole_reader(im, erf->output(0), "Add", add_index);
  if (!add || !is_number(im, other_input(*add, erf->output(0)), 1.0)) return false;
  const Node* mul1 = sole_reader(im, add->output(0), "Mul", mul1_index);
  if (!mul1) return false;
  const std::string first = other_input(*mul1, add->output(0));
  const Node* mul2 = sole_reader(im, mul1->output(0), "Mul", mul2_index);
  if (!mul2) return false;
  const std::string second = other_input(*mul2, mul1->output(0));
  const bool x_then_half = same_value(im, first, x_name) && is_number(im, second, 0.5);
  const bool half_then_x = is_number(im, first, 0.5) && same_value(im, second, x_name);
  if (!x_then_half && !half_then_x) return false;
  const ValueRef x = im.value_named(x_name);
  if (x.has_pool_pad()) return false;
  emit(im, {.op = "gelu"}, x, {}, {erf_index, add_index, mul1_index, mul2_index}, *mul2);
  return true;
}

// The single axis a ReduceMean with keepdims=1 reduces, or nullopt.
std::optional<int64_t> mean_axis(const Node& n) {
  std::optional<int64_t> axis;
  for (const auto& a : n.attribute()) {
    if (a.name() == "axes" && a.ints_size() == 1) {
      axis = a.ints(0);
    } else if (a.name() == "keepdims" && a.i() == 1) {
    } else {
      return std::nullopt;
    }
  }
  return axis;
}

// (x - mean(x)) / sqrt(mean((x - mean(x))^2) + eps) [* gamma] [+ beta], means over the channels.
bool try_layernorm(Importer& im) {
  const Node& root = im.node();
  const std::optional<int64_t> axis = mean_axis(root);
  if (!axis || root.input_size() != 1 || !im.is_value(root.input(0))) return false;
  const ValueRef x = im.value(0);
  if (*axis < -x.rank || *axis >= x.rank || im.storage_axis(x, *axis) != 1 || x.has_pool_pad()) return false;
  const std::string& x_name = root.input(0);
  int sub_i = 0, pow_i = -1, mean2_i = 0, add_i = 0, sqrt_i = 0, div_i = -1;
  const Node* sub = sole_reader(im, root.output(0), "Sub", sub_i);
  if (!sub || sub->input_size() != 2 || sub->input(1) != root.output(0) || !same_value(im, sub->input(0), x_name)) {
    return false;
  }
  // The centred value feeds exactly the Pow and the Div.
  const std::string& centred = sub->output(0);
  if (im.is_graph_output(centred) || im.consumers(centred).size() != 2) return false;
  for (int reader : im.consumers(centred)) {
    const Node& n = im.graph_node(reader);
    if (n.op_type() == "Pow" && n.input_size() == 2 && n.input(0) == centred) pow_i = reader;
    if (n.op_type() == "Div" && n.input_size() == 2 && n.input(0) == centred) div_i = reader;
  }
  if (pow_i < 0 || div_i < 0) return false;
  const Node& pow = im.graph_node(pow_i);
  if (pow.attribute_size() != 0 || !is_number(im, pow.input(1), 2.0)) return false;
  const Node* mean2 = sole_reader(im, pow.output(0), "ReduceMean", mean2_i);
  if (!mean2 || mean_axis(*mean2) != axis) return false;
  const Node* add = sole_reader(im, mean2->output(0), "Add", add_i);
  if (!add) return false;
  const auto eps = im.constant_named(other_input(*add, mean2->output(0)));
  if (!eps || eps->n_elems() != 1) return false;
  const Node* sqrt = sole_reader(im, add->output(0), "Sqrt", sqrt_i);
  int div_check = 0;
  if (!sqrt || sqrt->attribute_size() != 0 || sole_reader(im, sqrt->output(0), "Div", div_check) == nullptr ||
      div_check != div_i) {
    return false;
  }
  const Node& div = im.graph_node(div_i);
  if (div.attribute_size() != 0 || div.input(1) != sqrt->output(0)) return false;
  std::vector<int> covered = {sub_i, pow_i, mean2_i, add_i, sqrt_i, div_i};
  const Node* last = &div;
  const int64_t channels = im.shape(x).c;
  std::vector<float> gamma(channels, 1.0f), beta(channels, 0.0f);
  // gamma and beta, when they follow as constants per channel.
  int index = 0;
  if (const Node* mul = sole_reader(im, last->output(0), "Mul", index)) {
    const auto c = im.constant_named(other_input(*mul, last->output(0)));
    if (const auto values = c ? per_channel_values(im, x, *c) : std::nullopt) {
      gamma = *values, last = mul, covered.push_back(index);
    }
  }
  if (const Node* shift = sole_reader(im, last->output(0), "Add", index)) {
    const auto c = im.constant_named(other_input(*shift, last->output(0)));
    if (const auto values = c ? per_channel_values(im, x, *c) : std::nullopt) {
      beta = *values, last = shift, covered.push_back(index);
    }
  }
  std::vector<ParamSource> params = {param_values("weight", std::move(gamma)), param_values("bias", std::move(beta))};
  emit(im, {.op = "layernorm", .attrs = {{"eps", float_text(eps->floats()[0])}}}, x, std::move(params), covered, *last);
  return true;
}

}  // namespace

bool try_fusion(Importer& im) {
  const std::string& op = im.node().op_type();
  if (op == "Sigmoid") return try_silu(im);
  if (op == "HardSigmoid") return try_hardswish(im);
  if (op == "Div" || op == "Mul") return try_gelu(im);
  if (op == "ReduceMean") return try_layernorm(im);
  return false;
}

}  // namespace footprint
