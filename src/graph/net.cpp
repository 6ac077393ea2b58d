// Net: validates each layer as it is added, infers its output shape and names it.
#include "footprint/net.hpp"

#include <algorithm>

#include "footprint/error.hpp"
#include "layers/layer.hpp"

namespace footprint {

const char* loss_name(LossKind kind) {
  switch (kind) {
    case LossKind::none: return "none";
    case LossKind::mse: return "mse";
    case LossKind::softmax_xent: return "softmax_xent";
  }
  return "?";
}

namespace {

// Above this a tensor cannot be planned without overflowing byte counts (2^40 floats = 4 TiB).
constexpr int64_t kMaxElems = int64_t{1} << 40;

bool too_large(const Shape& s) {  // divisions, so the check itself cannot overflow
  return s.c > kMaxElems || s.h > kMaxElems / s.c || s.w > kMaxElems / (s.c * s.h);
}

}  // namespace

Net::Net(Shape input_shape) : input_shape_(input_shape) {
  if (input_shape.c < 1 || input_shape.h < 1 || input_shape.w < 1) {
    throw ShapeError("input shape " + input_shape.str() + ": every dimension must be at least 1");
  }
  if (too_large(input_shape)) {
    throw ShapeError("input shape " + input_shape.str() + ": more than 2^40 values per sample");
  }
}

Net& Net::add(const LayerSpec& spec_in) {
  if (spec_in.op == "loss") {
    if (spec_in.arg == "mse") {
      loss_ = LossKind::mse;
    } else if (spec_in.arg == "softmax_xent") {
      loss_ = LossKind::softmax_xent;
    } else {
      throw ParseError("loss: unknown kind '" + spec_in.arg + "'; expected mse or softmax_xent");
    }
    if (!spec_in.attrs.empty()) throw ParseError("loss: takes no options");
    return *this;
  }
  if (loss_ != LossKind::none) {
    throw ParseError(spec_in.op + ": layers cannot follow the loss");
  }
  const int index = n_layers();
  Node node;
  node.spec = spec_in;
  if (node.spec.name.empty()) node.spec.name = spec_in.op + std::to_string(index);
  const std::string& name = node.spec.name;
  if (find_layer(name) >= 0) {
    throw ParseError(spec_in.op + ": name '" + name + "' is already used by layer " +
                     std::to_string(find_layer(name)));
  }
  node.layer = make_layer(node.spec);
  node.inputs.push_back(index);  // the previous value: the net input for layer 0
  if (node.layer->n_inputs() == 2) {
    const int from = find_layer(spec_in.arg);
    if (from < 0) {
      throw ParseError(spec_in.op + ": no earlier layer is named '" + spec_in.arg + "'");
    }
    if (from == index - 1) {
      throw ParseError(spec_in.op + ": '" + spec_in.arg +
                       "' is the previous layer already; name a layer further back");
    }
    node.inputs.push_back(from + 1);
  }
  std::vector<Shape> in_shapes;
  for (int value : node.inputs) in_shapes.push_back(value_shape(value));
  try {
    node.out_shape = node.layer->infer_shape(in_shapes);
    if (too_large(node.out_shape)) {
      throw ShapeError("output " + node.out_shape.str() + " has more than 2^40 values per sample");
    }
  } catch (const ShapeError& e) {
    std::string from;
    for (size_t i = 0; i < node.inputs.size(); ++i) {
      const int v = node.inputs[i];
      from += (i ? " and " : "") +
              (v == 0 ? "the input" : "'" + nodes_[v - 1].spec.name + "' (layer " +
                                          std::to_string(v - 1) + ")") +
              " gives " + in_shapes[i].str();
    }
    throw ShapeError(spec_in.op + " '" + name + "' (layer " + std::to_string(index) +
                     "): " + e.what() + "; " + from);
  }
  nodes_.push_back(std::move(node));
  return *this;
}

Shape Net::output_shape() const {
  return nodes_.empty() ? input_shape_ : nodes_.back().out_shape;
}

Shape Net::value_shape(int value) const {
  return value == 0 ? input_shape_ : nodes_.at(value - 1).out_shape;
}

int Net::find_layer(const std::string& name) const {
  for (int i = 0; i < n_layers(); ++i)
    if (nodes_[i].spec.name == name) return i;
  return -1;
}

int64_t Net::n_params() const {
  int64_t total = 0;
  for (const auto& node : nodes_) {
    std::vector<Shape> in;
    for (int v : node.inputs) in.push_back(value_shape(v));
    for (const auto& p : node.layer->params(in))
      if (p.trainable) total += p.n_elems;
  }
  return total;
}

std::string Net::to_text() const {
  std::string text = "input " + std::to_string(input_shape_.c) + " " +
                     std::to_string(input_shape_.h) + " " + std::to_string(input_shape_.w) + "\n";
  for (const auto& node : nodes_) {
    text += node.spec.op;
    if (!node.spec.arg.empty()) text += " " + node.spec.arg;
    for (const auto& [key, value] : node.spec.attrs) text += " " + key + "=" + value;
    text += " name=" + node.spec.name + "\n";
  }
  if (loss_ != LossKind::none) text += std::string("loss ") + loss_name(loss_) + "\n";
  return text;
}

}  // namespace footprint
