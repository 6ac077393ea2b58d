// The graph walk's state, shared by the converters. Every ONNX value name maps either to a
// Footprint value (the net input or a layer's output, seen through a view of its axes) or to a
// constant known at import time. Converters (convert_*.cpp, fold.cpp, fusions.cpp) read the node
// being converted through this class and add layers; the walk itself (importer.cpp) keeps names
// unique, knows who reads what, and assembles the Net and its parameters at the end.
#pragma once

#include <onnx/onnx_pb.h>

#include <array>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "footprint/model_io.hpp"
#include "footprint/net.hpp"
#include "footprint/onnx.hpp"
#include "import/onnx/const_tensor.hpp"

namespace footprint {

// How a value's ONNX axes lie over Footprint's storage, which is always C x H x W per sample.
// Views other than nchw cost nothing: they are names for the same bytes, and the ops that read
// them map their axes (a MatMul over the last axis of an nhwc view is a 1x1 conv).
enum class View {
  nchw,      // [N, C, H, W]; rank 3 [N, C, W] (H = 1); rank 2 [N, F] (F = C*H*W); rank 1 [N]
  nhwc,      // [N, H, W, C]: Transpose(0, 2, 3, 1) of an NCHW value
  grouped,   // [N, G, C/G, H, W]: a Reshape splitting the channels into G groups
  shuffled,  // [N, C/G, G, H, W]: the grouped view transposed (a channel shuffle once reshaped back)
};
const char* view_name(View view);

struct ValueRef {
  int fp_value = 0;  // 0: the net input; i + 1: layer i's output
  int rank = 4;      // ONNX rank, batch included
  View view = View::nchw;
  int64_t groups = 1;  // grouped and shuffled views: G
  // A zero Pad that the one AveragePool reading it takes as padding: top, left, bottom, right.
  std::array<int64_t, 4> pool_pad{};
  [[nodiscard]] bool has_pool_pad() const { return pool_pad != std::array<int64_t, 4>{}; }
};

// A parameter of a layer and how to write its floats: from a constant, maybe transformed by
// folds (a Mul folded into a conv scales its weights). fill runs only when weights are wanted,
// straight into their destination (a runtime's parameter, or a SavedTensor).
struct ParamSource {
  std::string name;  // "weight", "bias", ...; "<layer>.weight" once the net is final
  int64_t n_elems = 0;
  std::function<void(float* dst)> fill;
};
// A parameter read as it is from a constant (n_elems floats).
ParamSource param_from(const std::string& name, std::shared_ptr<const ConstTensor> tensor);
// A parameter of given values.
ParamSource param_values(const std::string& name, std::vector<float> values);

struct PendingLayer {
  LayerSpec spec;
  std::vector<ParamSource> params;  // in the order the layer declares them
};

// The weights an import left in the file (OnnxImportOptions::Weights::deferred).
struct OnnxDeferredWeights {
  std::vector<ParamSource> params;  // full names: "<layer>.<param>"
};

// A float as .net text, exactly (9 significant digits).
std::string float_text(float value);

class Importer {
 public:
  Importer(onnx::ModelProto& model, std::string source, const OnnxImportOptions& options,
           std::shared_ptr<const OnnxFile> file = nullptr,
           const std::unordered_map<const onnx::TensorProto*, FileRange>* deferred = nullptr);
  OnnxModel run();

  // --- the node being converted ---
  [[nodiscard]] const onnx::NodeProto& node() const { return *node_; }
  [[nodiscard]] int node_index() const { return node_index_; }
  [[nodiscard]] int64_t opset() const { return opset_; }
  [[nodiscard]] std::string where() const;
  [[noreturn]] void fail(const std::string& what) const;
  [[noreturn]] void fail_attr(const std::string& attr, const std::string& value, const std::string& rule) const;
  // Inputs given, trailing empty names ("not given") left out.
  [[nodiscard]] int n_inputs() const;
  [[nodiscard]] bool has_input(int i) const { return i < node_->input_size() && !node_->input(i).empty(); }
  [[nodiscard]] const std::string& input_name(int i) const;
  // Refuses outputs past the first that something reads (masks, indices, statistics).
  void only_first_output_used() const;

  // --- constants ---
  [[nodiscard]] bool is_constant(int i) const { return constants_.count(input_name(i)) > 0; }
  // Input i as a constant; fails naming `role` when the graph computes it.
  [[nodiscard]] std::shared_ptr<const ConstTensor> constant(int i, const std::string& role) const;
  [[nodiscard]] std::vector<int64_t> constant_ints(int i, const std::string& role) const;
  [[nodiscard]] std::vector<float> constant_floats(int i, const std::string& role) const;
  // A single number (a tensor of one element) as float.
  [[nodiscard]] float constant_scalar(int i, const std::string& role) const;
  // A constant by value name, nullptr when the name is not a constant (for fusions).
  [[nodiscard]] std::shared_ptr<const ConstTensor> constant_named(const std::string& name) const;
  // Output k of the node is known at import time.
  void set_constant(int k, std::shared_ptr<const ConstTensor> tensor);

  // --- values ---
  // Input i as a value of the graph, in any view.
  [[nodiscard]] ValueRef value(int i) const;
  // Input i as an NCHW value (what convolutions, pools and most layers read); fails naming the
  // view otherwise.
  [[nodiscard]] ValueRef activation(int i) const;
  [[nodiscard]] ValueRef value_named(const std::string& name) const;
  [[nodiscard]] bool is_value(const std::string& name) const { return values_.count(name) > 0; }
  [[nodiscard]] Shape shape(const ValueRef& v) const;
  // The ONNX dims of a value, batch first (the model's batch, 1 when symbolic).
  [[nodiscard]] std::vector<int64_t> onnx_dims(const ValueRef& v) const;
  // Which of Footprint's axes ONNX axis `axis` of v is: 0 batch, 1 C, 2 H, 3 W, -1 none (the
  // group axes of a grouped view). Negative axes count from the end; fails when out of range.
  [[nodiscard]] int storage_axis(const ValueRef& v, int64_t axis) const;
  [[nodiscard]] int64_t batch() const { return batch_; }
  [[nodiscard]] const std::string& fp_name(int fp_value) const;  // "input" or the layer's name

  // Output k of the node is the same value as v (Identity, Dropout at inference, ...).
  void alias(const ValueRef& v, int k = 0);
  // The ONNX value `name` (a later node's output, for fusions) is v.
  void bind(const std::string& name, const ValueRef& v) { set_value(name, v); }
  // Appends a layer reading `inputs`; output k of the node becomes its output, seen as `out`
  // (rank and view; fp_value is set here; k < 0: no output of the node, see bind). name_from:
  // the node name the layer is named after
  // ("": the node being converted).
  ValueRef add_layer(LayerSpec spec, const std::vector<ValueRef>& inputs, std::vector<ParamSource> params,
                     ValueRef out, int k = 0, const std::string& name_from = "");
  // The layer that writes v, when the node being converted is the last thing to read v (no
  // layer has read it, no later node or graph output reads any of its names), so a constant
  // may be folded into its parameters; else nullptr (also for the net input).
  [[nodiscard]] PendingLayer* sole_reader_producer(const ValueRef& v);

  // --- the graph around the node (fusions) ---
  // Nodes that read a value, by index; graph outputs are not nodes (see is_graph_output).
  [[nodiscard]] const std::vector<int>& consumers(const std::string& value) const;
  [[nodiscard]] bool is_graph_output(const std::string& value) const { return graph_outputs_.count(value) > 0; }
  [[nodiscard]] const onnx::NodeProto& graph_node(int index) const { return model_.graph().node(index); }
  // A later node is converted here, as part of the current one: the walk skips it.
  void absorb(int index) { absorbed_.insert(index); }

 private:
  void read_opset();
  void collect_constants();
  void register_constant_node(const onnx::NodeProto& n, int index);
  void read_graph_input();
  void convert_node();
  std::string unique_name(const std::string& from);
  void set_value(const std::string& name, const ValueRef& v);
  OnnxModel finish();

  onnx::ModelProto& model_;
  std::string source_;
  OnnxImportOptions options_;
  std::shared_ptr<const OnnxFile> file_;
  const std::unordered_map<const onnx::TensorProto*, FileRange>* deferred_;
  int64_t opset_ = 0;
  int64_t batch_ = 1;
  std::string input_name_;
  Shape input_shape_;
  std::map<std::string, std::shared_ptr<const ConstTensor>> constants_;
  std::map<std::string, ValueRef> values_;
  std::map<int, std::vector<std::string>> names_of_;  // fp value -> the ONNX names it goes by
  std::map<int, int> layer_reads_;                    // fp value -> layers that read it
  std::map<std::string, std::vector<int>> consumers_;
  std::set<std::string> graph_outputs_;
  std::set<int> absorbed_;
  std::set<std::string> names_;
  std::vector<PendingLayer> layers_;
  std::optional<Net> running_;  // the layers so far, for shapes and validation
  const onnx::NodeProto* node_ = nullptr;
  int node_index_ = 0;
};

}  // namespace footprint
