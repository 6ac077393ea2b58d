// The importer's protobuf-level entry points, for tests that build or patch a ModelProto in
// memory (the conformance run turns a node test's extra inputs into initializers).
#pragma once

#include <onnx/onnx_pb.h>

#include <string>
#include <vector>

#include "footprint/onnx.hpp"

namespace footprint {

// Parses path into model, streaming from the file (no second copy of its bytes). IoError for a
// missing, empty, truncated or corrupt file.
void read_onnx_model(const std::string& path, onnx::ModelProto& model);

// Converts a parsed model. Initializers' bytes are released as they are converted, so the
// weights are never held twice; model is left without them.
[[nodiscard]] OnnxModel import_onnx_model(onnx::ModelProto& model, const std::string& source,
                                          const OnnxImportOptions& options = {});

// A float32 tensor's values (raw_data or float_data); IoError naming `what` for another data
// type, external data, or a size that disagrees with its dims.
[[nodiscard]] std::vector<float> onnx_tensor_floats(const onnx::TensorProto& tensor,
                                                    const std::string& what);

}  // namespace footprint
