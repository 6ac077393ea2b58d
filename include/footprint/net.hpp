// A network as a graph: an input, layers in an order where every layer comes after the values it
// reads (by default the previous layer's output; any earlier value by name), one or more named
// outputs, and a loss on the first output. Built in C++ with operator<<, or parsed from a .net
// file; values are named after the layer that writes them, and the net input is "input".
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "footprint/shape.hpp"

namespace footprint {

class Layer;  // footprint/layer.hpp: what a layer implements (register_layer adds one)

// key=value options exactly as written in a .net file, e.g. {"k": "3", "pad": "1"}.
using Attributes = std::map<std::string, std::string>;

// One line of a .net file: op, positional argument, options, inputs and its name.
struct LayerSpec {
  std::string op{};        // "conv", "tanh", "loss", ...
  std::string arg{};       // positional argument: conv/fc width, loss kind (add/concat: a source)
  Attributes attrs{};      // key=value options (without name= and in=)
  std::string name{};      // empty: "<op><index>" is given when added
  // Values read, by name ("input" is the net input). Empty: the previous value (and, for the
  // old "add FROM" / "concat FROM" form, the value FROM). Net::add writes the resolved list.
  std::vector<std::string> inputs{};

  // The same layer reading these values: conv(64, {.k = 1, .stride = 2}).from({"x"}).
  [[nodiscard]] LayerSpec from(std::vector<std::string> values) const {
    LayerSpec spec = *this;
    spec.inputs = std::move(values);
    return spec;
  }
};

// The name of the net input among value names.
inline constexpr const char* kInputName = "input";

enum class LossKind { none, mse, softmax_xent };

// Builders that read like a .net file: net << conv(6, {.k = 3, .pad = 1}) << tanh() << avgpool(2);
// Every member has a default ({} for strings), so a designated initializer may name only some
// of them without a -Wmissing-field-initializers warning (-Wextra) in users' code.
struct ConvParams {
  int k = 1;
  int stride = 1;
  int pad = 0;
  int dilation = 1;
  int groups = 1;
  bool bias = true;
  std::string name{};
};
struct PoolParams {
  int stride = 0;  // 0: equal to the window
  int pad = 0;
  std::string name{};
};
LayerSpec conv(int out_c, const ConvParams& params);
LayerSpec maxpool(int k, const PoolParams& params = {});
LayerSpec avgpool(int k, const PoolParams& params = {});
LayerSpec globalavgpool(const std::string& name = "");
LayerSpec fc(int out_features, bool bias = true, const std::string& name = "");
LayerSpec relu(const std::string& name = "");
LayerSpec leakyrelu(float slope = 0.01f, const std::string& name = "");
LayerSpec tanh(const std::string& name = "");
LayerSpec sigmoid(const std::string& name = "");
LayerSpec softmax(const std::string& name = "");
LayerSpec batchnorm(float eps = 1e-5f, float momentum = 0.1f, const std::string& name = "");
LayerSpec dropout(float p = 0.5f, const std::string& name = "");
LayerSpec add(const std::string& from, const std::string& name = "");
LayerSpec concat(const std::string& from, const std::string& name = "");
LayerSpec loss(LossKind kind);
// Any layer by its .net keyword, e.g. layer("hardswish") or layer("clip", {{"max", "6"}}): what
// layers without a builder of their own (and layers registered by users) are built with.
LayerSpec layer(const std::string& op, Attributes attrs = {}, const std::string& name = "");
// Joins of any number of values: add_of({"a", "proj"}), concat_of({"b1", "b2", "b3", "b4"}).
LayerSpec add_of(std::vector<std::string> inputs, const std::string& name = "");
LayerSpec concat_of(std::vector<std::string> inputs, const std::string& name = "");

class Net {
 public:
  struct Node {
    LayerSpec spec;                      // as written; spec.name always set
    // The layer object make_layer(spec) built: its validated options and its math, through the
    // interface of footprint/layer.hpp (op(), infer_shape, describe, forward, backward). Shared
    // between copies of a net; plans and runtimes call it, users rarely need to.
    std::shared_ptr<const Layer> layer;
    std::vector<int> inputs;             // value ids: 0 is the net input, i + 1 is layer i's output
    Shape out_shape;
  };

  explicit Net(Shape input_shape);

  // Validates the spec and infers its output shape; throws ParseError or ShapeError naming the
  // layer. A "loss" spec sets the loss instead of adding a layer.
  Net& operator<<(const LayerSpec& spec) { return add(spec); }
  Net& add(const LayerSpec& spec);

  [[nodiscard]] const Shape& input_shape() const { return input_shape_; }
  [[nodiscard]] int n_layers() const { return static_cast<int>(nodes_.size()); }
  [[nodiscard]] const Node& node(int layer) const { return nodes_.at(layer); }
  [[nodiscard]] const std::vector<Node>& nodes() const { return nodes_; }
  [[nodiscard]] LossKind loss_kind() const { return loss_; }
  // Shape of the first output (the one the loss reads).
  [[nodiscard]] Shape output_shape() const;
  // Shape of a value id (0: input, i + 1: layer i's output).
  [[nodiscard]] Shape value_shape(int value) const;
  // Shapes of the values layer i reads, in its input order.
  [[nodiscard]] std::vector<Shape> input_shapes(int layer) const;
  // Number of values: the input and one per layer.
  [[nodiscard]] int n_values() const { return n_layers() + 1; }
  // "input" or the layer's name.
  [[nodiscard]] const std::string& value_name(int value) const;
  // "the input" or "'conv3' (layer 3)", for messages.
  [[nodiscard]] std::string value_label(int value) const;
  // -1 when no layer has that name.
  [[nodiscard]] int find_layer(const std::string& name) const;
  // Value id of a name ("input" or a layer's name), -1 when there is none.
  [[nodiscard]] int find_value(const std::string& name) const;

  // The net's outputs, as value ids; by default the last layer's output alone. The loss (and
  // Runtime::output()) use the first.
  [[nodiscard]] const std::vector<int>& outputs() const { return outputs_; }
  // Marks these values (by name) as the outputs, in this order; throws ParseError for a name
  // that is not a value.
  void set_outputs(const std::vector<std::string>& names);

  // Layers that read each value, in layer order (a layer reading it twice appears twice).
  [[nodiscard]] std::vector<std::vector<int>> consumers() const;

  // The same layers on an input of another shape (ShapeError when a layer does not take it).
  [[nodiscard]] Net with_input_shape(Shape shape) const;

  // A 64-bit hash of the net's text (to_text()): plans record it, so a runtime can refuse a
  // plan made for another net.
  [[nodiscard]] uint64_t fingerprint() const;
  // Total trainable parameters (what frameworks call the parameter count).
  [[nodiscard]] int64_t n_params() const;

  // The net as .net text; parse_net(to_text()) rebuilds an identical net.
  [[nodiscard]] std::string to_text() const;

 private:
  Shape input_shape_;
  std::vector<Node> nodes_;
  static void check_name(const std::string& op, const std::string& name);

  std::vector<int> outputs_;       // value ids
  bool outputs_set_ = false;        // false: outputs_ follows the last layer
  LossKind loss_ = LossKind::none;
};

// Parses .net text; errors read "FILE:LINE: ...". source_name is used in messages only.
Net parse_net(const std::string& text, const std::string& source_name);
// Reads and parses a .net file; IoError when it cannot be read.
Net load_net_file(const std::string& path);

const char* loss_name(LossKind kind);

}  // namespace footprint
