// The importer's protobuf-level entry points, for tests that build or patch a ModelProto in
// memory (the conformance run turns a node test's extra inputs into initializers), and the two
// halves of its op table.
#pragma once

#include <onnx/onnx_pb.h>

#include <string>
#include <vector>

#include "footprint/onnx.hpp"

namespace footprint {

// Parses the whole of path into model (every initializer's bytes in memory). IoError for a
// missing, empty, truncated or corrupt file.
void read_onnx_model(const std::string& path, onnx::ModelProto& model);

// Converts a parsed model (its initializers are read as they are; the model is not changed).
[[nodiscard]] OnnxModel import_onnx_model(onnx::ModelProto& model, const std::string& source,
                                          const OnnxImportOptions& options = {});

// A float tensor's values (raw_data or the typed fields, float16 and double converted); IoError
// or ParseError naming `what` for another data type, external data, or sizes that disagree.
[[nodiscard]] std::vector<float> onnx_tensor_floats(const onnx::TensorProto& tensor, const std::string& what);

// The op table's two halves: ops with a converter of their own, and ops mapped 1:1 onto a layer
// by layer_list.def's third column. No op is in both.
[[nodiscard]] std::vector<std::string> onnx_converter_ops();
[[nodiscard]] std::vector<std::string> onnx_layer_list_ops();

}  // namespace footprint
