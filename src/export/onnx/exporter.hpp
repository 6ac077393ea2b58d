// The layer walk's state, shared by the emitters. Every Footprint value (the net input, each
// layer's output) becomes an ONNX value of the same name, [N, C, H, W] (rank 4) or, after fc
// and flatten, [N, F] (rank 2). Emitters (emit_*.cpp) read the layer being exported through this
// class and append nodes whose last output is the layer's value; the walk (exporter.cpp) keeps
// names unique, turns parameters into initializers and assembles the graph's input and outputs.
// The mirror of src/import/onnx/importer.hpp.
#pragma once

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "footprint/net.hpp"

namespace footprint::onnx_export {

// The ONNX form written: opset 13 (Resize; Clip, Pad, Slice and Dropout take their settings as
// inputs; no HardSwish, LayerNormalization or Gelu yet) and IR version 7, which came with it.
constexpr int64_t kOpset = 13;
constexpr int64_t kIrVersion = 7;

// A parameter's floats by its full name ("conv1.weight"); an empty span when there is none.
using WeightLookup = std::function<std::span<const float>(const std::string& name)>;

// An ONNX value: its name and rank (4: [N, C, H, W]; 2: [N, F] with F = C, as fc writes it).
struct Value {
  std::string name;
  int rank = 4;
};

class Exporter {
 public:
  // source: what the net came from, for messages ("model.fpm").
  Exporter(const Net& net, WeightLookup weights, std::string source);
  // Builds the whole model; ParseError naming the layer for one with no ONNX form, IoError
  // naming a parameter that is missing or has the wrong size.
  [[nodiscard]] onnx::ModelProto run();

  // --- the layer being exported ---
  [[nodiscard]] const Net::Node& node() const { return net_.node(layer_); }
  [[nodiscard]] const LayerSpec& spec() const { return node().spec; }
  [[nodiscard]] int layer_index() const { return layer_; }
  // "layer 'conv1' (conv, layer 0)", for messages.
  [[nodiscard]] std::string where() const;
  [[noreturn]] void fail(const std::string& what) const;
  [[nodiscard]] int n_inputs() const { return static_cast<int>(node().inputs.size()); }
  [[nodiscard]] Shape in_shape(int i) const { return net_.value_shape(node().inputs.at(i)); }
  [[nodiscard]] Shape out_shape() const { return node().out_shape; }
  // Input i as it is, or as [N, C, H, W] (a [N, F] value reshaped to [N, F, 1, 1] once, the
  // reshape shared by every later reader).
  [[nodiscard]] Value input(int i) const;
  [[nodiscard]] Value input4(int i);
  // Every input at one rank: as they are when they agree, else all as rank 4 (so that NumPy
  // broadcasting lines up C, H and W).
  [[nodiscard]] std::vector<Value> inputs_same_rank();

  // --- what the emitters write ---
  // The layer's value: the name the last node must write. set_output_rank: when it is not the
  // rank of input 0 (fc and flatten write [N, F]; windows always [N, C, H, W]).
  [[nodiscard]] const std::string& output() const { return spec().name; }
  void set_output_rank(int rank) { out_rank_ = rank; }
  // A fresh value name for a node inside the layer: "<layer>.<part>" (made unique).
  [[nodiscard]] std::string temp(const std::string& part);
  // Appends a node; its name is its first output's. Returns it for attributes.
  onnx::NodeProto& add_node(const std::string& op_type, const std::vector<std::string>& inputs,
                            const std::string& output);
  // The layer's parameter `param` ("weight") as an initializer of these dims (their product is
  // the parameter's size); returns the initializer's name.
  [[nodiscard]] std::string weight(const std::string& param, const std::vector<int64_t>& dims);
  // Constants as initializers, named "<layer>.<part>".
  [[nodiscard]] std::string constant_floats(const std::string& part, const std::vector<int64_t>& dims,
                                            const std::vector<float>& values);
  [[nodiscard]] std::string constant_ints(const std::string& part, const std::vector<int64_t>& dims,
                                          const std::vector<int64_t>& values);
  [[nodiscard]] std::string scalar(const std::string& part, float value) {
    return constant_floats(part, {}, {value});
  }
  // Dims of a per-channel constant that broadcasts over a value of this rank: [C, 1, 1] or [C].
  [[nodiscard]] static std::vector<int64_t> per_channel_dims(int64_t channels, int rank);

 private:
  void add_graph_input();
  void add_graph_outputs();
  void export_layer();
  std::string unique(const std::string& base);
  onnx::TensorProto& add_initializer(const std::string& name, const std::vector<int64_t>& dims);
  void add_ints(const std::string& name, const std::vector<int64_t>& dims, const std::vector<int64_t>& values);

  const Net& net_;
  WeightLookup weights_;
  std::string source_;
  onnx::ModelProto model_;
  onnx::GraphProto* graph_ = nullptr;
  int layer_ = 0;
  int out_rank_ = 4;
  std::vector<int> ranks_;              // per value id: 4 or 2
  std::map<int, std::string> as_rank4_; // value id -> its [N, F, 1, 1] reshape
  std::set<std::string> names_;         // every value, node and initializer name so far
};

// Attributes on a node.
void set_int(onnx::NodeProto& node, const std::string& name, int64_t value);
void set_float(onnx::NodeProto& node, const std::string& name, float value);
void set_string(onnx::NodeProto& node, const std::string& name, const std::string& value);
void set_ints(onnx::NodeProto& node, const std::string& name, const std::vector<int64_t>& values);

}  // namespace footprint::onnx_export
