// A network: an input shape, layers in order (each reading the previous one, or named earlier
// ones for add/concat) and a loss. Built in C++ with operator<<, or parsed from a .net file.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "footprint/shape.hpp"

namespace footprint {

class Layer;  // defined in src/layers/layer.hpp; users only see LayerSpec

// key=value options exactly as written in a .net file, e.g. {"k": "3", "pad": "1"}.
using Attributes = std::map<std::string, std::string>;

// One line of a .net file: op, positional argument, options, and its name.
struct LayerSpec {
  std::string op;          // "conv", "tanh", "loss", ...
  std::string arg;         // positional argument: conv/fc width, add/concat source, loss kind
  Attributes attrs;        // key=value options (without name=)
  std::string name;        // empty: "<op><index>" is given when added
};

enum class LossKind { none, mse, softmax_xent };

// Builders that read like a .net file: net << conv(6, {.k = 3, .pad = 1}) << tanh() << avgpool(2);
struct ConvParams {
  int k = 1;
  int stride = 1;
  int pad = 0;
  int dilation = 1;
  int groups = 1;
  bool bias = true;
  std::string name;
};
struct PoolParams {
  int stride = 0;  // 0: equal to the window
  int pad = 0;
  std::string name;
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

class Net {
 public:
  struct Node {
    LayerSpec spec;                      // as written; spec.name always set
    std::shared_ptr<const Layer> layer;  // validated parameters and the math
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
  [[nodiscard]] Shape output_shape() const;
  // Shape of a value id (0: input, i + 1: layer i's output).
  [[nodiscard]] Shape value_shape(int value) const;
  // -1 when no layer has that name.
  [[nodiscard]] int find_layer(const std::string& name) const;
  // Total trainable parameters (what frameworks call the parameter count).
  [[nodiscard]] int64_t n_params() const;

  // The net as .net text; parse_net(to_text()) rebuilds an identical net.
  [[nodiscard]] std::string to_text() const;

 private:
  Shape input_shape_;
  std::vector<Node> nodes_;
  LossKind loss_ = LossKind::none;
};

// Parses .net text; errors read "FILE:LINE: ...". source_name is used in messages only.
Net parse_net(const std::string& text, const std::string& source_name);
// Reads and parses a .net file; IoError when it cannot be read.
Net load_net_file(const std::string& path);

const char* loss_name(LossKind kind);

}  // namespace footprint
