// ONNX models (opsets 7 to 17) as Footprint nets: the graph becomes a Net (any DAG of the ops in
// onnx_supported_ops(), several outputs included), its initializers the parameters. Shape
// arithmetic on constants is folded at import, so a graph with symbolic H and W becomes static
// once the caller gives the input size. And the way back: export_onnx writes a net and its
// weights as an ONNX model (opset 13) that ONNX Runtime runs and import_onnx reads back as the
// same net. Link the footprint_onnx CMake target.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "footprint/model_io.hpp"
#include "footprint/net.hpp"
#include "footprint/runtime.hpp"

namespace footprint {

struct OnnxImportOptions {
  enum class Weights {
    in_memory,  // OnnxModel::weights holds every parameter
    deferred,   // left in the file until OnnxModel::restore_weights() converts each one straight
                // into a runtime's parameter: the process never holds the weights twice
    none,       // the architecture alone (plan needs no weights); initializers are never read
  };
  Weights weights = Weights::in_memory;
  // Resolves the graph input's symbolic dimensions (torch.onnx dynamic_axes) as C x H x W; a 0
  // leaves that dimension to the model. Dimensions the model fixes keep their value (a caller
  // may still resize the imported net, Net::with_input_shape, when its layers allow). Without
  // it, a symbolic C, H or W is a ParseError naming the dimension.
  std::optional<Shape> input_shape{};
};

struct OnnxDeferredWeights;  // the parameters' sources in the file (src/import/onnx/importer.hpp)

struct OnnxModel {
  Net net;                    // no loss: add one (net << loss(...)) to train
  SavedModel weights{};       // Weights::in_memory: "<layer>.weight", "<layer>.bias", ...
  int64_t batch = 1;          // the graph input's N when fixed, else 1
  std::string input_name{};   // the graph's input value name
  std::string output_name{};  // the graph's first output (Net::outputs()[0])
  std::vector<std::string> output_names{};          // every graph output, as Net::outputs()
  std::shared_ptr<OnnxDeferredWeights> deferred{};  // Weights::deferred

  // Writes the parameters into a runtime planned for `net`: from `weights`, or (deferred) from
  // the file, one tensor at a time into its destination, after which the sources are released.
  // IoError naming the tensor when the runtime's parameters differ.
  void restore_weights(Runtime& runtime);
};

// Throws IoError for a missing, truncated or corrupt file and ParseError for a model that uses
// an op, attribute or graph shape Footprint cannot express (naming the node, op and attribute).
[[nodiscard]] OnnxModel import_onnx(const std::string& path, const OnnxImportOptions& options = {});

// True when path ends in .onnx or its first bytes look like an ONNX ModelProto (an ir_version
// field); false for .net text.
[[nodiscard]] bool looks_like_onnx(const std::string& path);

// The ONNX op types the importer reads, in its table's order (Constant included).
[[nodiscard]] std::vector<std::string> onnx_supported_ops();

// Writes the net's inference graph as an ONNX model, opset 13, IR version 7: graph input "input"
// [N, C, H, W] with a symbolic batch N; each of Net::outputs() a graph output named after its
// layer ([N, C, H, W], or [N, F] after fc and flatten); every parameter an initializer. The loss
// is left out (a net trained with softmax_xent writes logits), batchnorm uses its running
// statistics and dropout is ONNX's Dropout, an identity at inference. Layers opset 13 has no op
// for are written as the nodes the importer fuses back (layernorm, hardswish, silu, gelu).
// The file is written atomically (PATH.tmp, then renamed over PATH).
// `weights` holds every parameter by its full name ("conv1.weight"), as save_model, load_model
// and import_onnx name them; `source` names where the net came from in messages.
// ParseError naming the layer for one without an ONNX form (a layer added by register_layer);
// IoError for a weight that is missing or has the wrong size, or a file that cannot be written.
void export_onnx(const Net& net, const SavedModel& weights, const std::string& path,
                 const std::string& source = "net");
// The same with a runtime's parameters (Runtime::parameters()).
void export_onnx(const Runtime& runtime, const std::string& path, const std::string& source = "net");

// The layer ops export_onnx writes, each with the ONNX nodes it becomes ("fc": "Gemm ...").
struct OnnxExportForm {
  std::string op{};
  std::string onnx_nodes{};
};
[[nodiscard]] std::vector<OnnxExportForm> onnx_export_forms();

}  // namespace footprint
