// Net: validates each layer as it is added, resolves the values it reads, infers its output
// shape and names it.
#include "footprint/net.hpp"

#include <algorithm>
#include <cctype>

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

Net::Net(Shape input_shape) : input_shape_(input_shape), outputs_{0} {
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
    if (!spec_in.attrs.empty() || !spec_in.inputs.empty()) {
      throw ParseError("loss: takes no options (it reads the net's first output)");
    }
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
  check_name(spec_in.op, name);
  if (name == kInputName) {
    throw ParseError(spec_in.op + ": name '" + name + "' is reserved for the net input");
  }
  if (find_layer(name) >= 0) {
    throw ParseError(spec_in.op + ": name '" + name + "' is already used by layer " +
                     std::to_string(find_layer(name)));
  }
  node.layer = make_layer(node.spec);
  const Arity arity = node.layer->arity();
  std::vector<std::string>& inputs = node.spec.inputs;
  const std::string previous = value_name(index);  // the net input for layer 0
  if (arity.min >= 2 && !node.spec.arg.empty()) {
    // The first form of joins: "add FROM" reads the previous value and FROM.
    if (!inputs.empty()) {
      throw ParseError(spec_in.op + ": give the values to join either as in=... or as one "
                       "source, not both");
    }
    inputs = {previous, node.spec.arg};
    node.spec.arg.clear();
  }
  if (inputs.empty()) {
    if (arity.min >= 2) {
      throw ParseError(spec_in.op + ": needs at least " + std::to_string(arity.min) +
                       " inputs, e.g. in=a,b (names of earlier layers, or 'input')");
    }
    inputs = {previous};
  }
  if (static_cast<int>(inputs.size()) < arity.min || static_cast<int>(inputs.size()) > arity.max) {
    throw ParseError(spec_in.op + ": reads " + std::to_string(inputs.size()) + " value" +
                     (inputs.size() == 1 ? "" : "s") + "; it takes " +
                     (arity.max == arity.min ? std::to_string(arity.min)
                      : arity.max >= kAnyNumber ? std::to_string(arity.min) + " or more"
                                                : std::to_string(arity.min) + " to " +
                                                      std::to_string(arity.max)));
  }
  for (const std::string& input : inputs) {
    const int value = find_value(input);
    if (value < 0) {
      throw ParseError(spec_in.op + ": no earlier layer is named '" + input +
                       "' (a layer reads values written above it; the net input is '" +
                       kInputName + "')");
    }
    node.inputs.push_back(value);
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
      from += (i ? " and " : "") + value_label(node.inputs[i]) + " gives " + in_shapes[i].str();
    }
    throw ShapeError(spec_in.op + " '" + name + "' (layer " + std::to_string(index) +
                     "): " + e.what() + "; " + from);
  }
  nodes_.push_back(std::move(node));
  if (!outputs_set_) outputs_ = {n_layers()};
  return *this;
}

void Net::check_name(const std::string& op, const std::string& name) {
  for (char ch : name) {
    if (ch == ',' || ch == '=' || ch == '#' || std::isspace(static_cast<unsigned char>(ch))) {
      throw ParseError(op + ": name '" + name +
                       "': names may not contain spaces, ',', '=' or '#' (they are read in lists)");
    }
  }
}

Shape Net::output_shape() const { return value_shape(outputs_.at(0)); }

Shape Net::value_shape(int value) const {
  return value == 0 ? input_shape_ : nodes_.at(value - 1).out_shape;
}

std::vector<Shape> Net::input_shapes(int layer) const {
  std::vector<Shape> shapes;
  for (int v : nodes_.at(layer).inputs) shapes.push_back(value_shape(v));
  return shapes;
}

const std::string& Net::value_name(int value) const {
  static const std::string input = kInputName;
  return value == 0 ? input : nodes_.at(value - 1).spec.name;
}

std::string Net::value_label(int value) const {
  return value == 0 ? "the input"
                    : "'" + nodes_.at(value - 1).spec.name + "' (layer " +
                          std::to_string(value - 1) + ")";
}

int Net::find_layer(const std::string& name) const {
  for (int i = 0; i < n_layers(); ++i)
    if (nodes_[i].spec.name == name) return i;
  return -1;
}

int Net::find_value(const std::string& name) const {
  if (name == kInputName) return 0;
  const int layer = find_layer(name);
  return layer < 0 ? -1 : layer + 1;
}

void Net::set_outputs(const std::vector<std::string>& names) {
  if (names.empty()) throw ParseError("output: name at least one value");
  std::vector<int> outputs;
  for (const std::string& name : names) {
    const int value = find_value(name);
    if (value < 0) throw ParseError("output: no layer is named '" + name + "'");
    if (std::find(outputs.begin(), outputs.end(), value) != outputs.end()) {
      throw ParseError("output: '" + name + "' is named twice");
    }
    outputs.push_back(value);
  }
  outputs_ = std::move(outputs);
  outputs_set_ = true;
}

std::vector<std::vector<int>> Net::consumers() const {
  std::vector<std::vector<int>> readers(n_values());
  for (int i = 0; i < n_layers(); ++i)
    for (int v : nodes_[i].inputs) readers[v].push_back(i);
  return readers;
}

int64_t Net::n_params() const {
  int64_t total = 0;
  for (int i = 0; i < n_layers(); ++i) {
    for (const auto& p : nodes_[i].layer->params(input_shapes(i)))
      if (p.trainable) total += p.n_elems;
  }
  return total;
}

Net Net::with_input_shape(Shape shape) const {
  Net net(shape);
  for (const Node& node : nodes_) net.add(node.spec);
  if (outputs_set_) {
    std::vector<std::string> names;
    for (int v : outputs_) names.push_back(value_name(v));
    net.set_outputs(names);
  }
  if (loss_ != LossKind::none) net.add(loss(loss_));
  return net;
}

std::string Net::to_text() const {
  std::string text = "input " + std::to_string(input_shape_.c) + " " +
                     std::to_string(input_shape_.h) + " " + std::to_string(input_shape_.w) + "\n";
  for (int i = 0; i < n_layers(); ++i) {
    const LayerSpec& spec = nodes_[i].spec;
    text += spec.op;
    if (!spec.arg.empty()) text += " " + spec.arg;
    for (const auto& [key, value] : spec.attrs) text += " " + key + "=" + value;
    // in= only where the layer reads something other than the previous value.
    if (spec.inputs != std::vector<std::string>{value_name(i)}) {
      text += " in=";
      for (size_t k = 0; k < spec.inputs.size(); ++k) text += (k ? "," : "") + spec.inputs[k];
    }
    text += " name=" + spec.name + "\n";
  }
  if (outputs_set_) {
    text += "output";
    for (size_t k = 0; k < outputs_.size(); ++k) text += (k ? "," : " ") + value_name(outputs_[k]);
    text += "\n";
  }
  if (loss_ != LossKind::none) text += std::string("loss ") + loss_name(loss_) + "\n";
  return text;
}

uint64_t Net::fingerprint() const {
  uint64_t hash = 14695981039346656037ull;  // FNV-1a
  for (char ch : to_text()) hash = (hash ^ static_cast<unsigned char>(ch)) * 1099511628211ull;
  return hash;
}

}  // namespace footprint
