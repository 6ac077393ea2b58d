// ONNX models (opsets 7 to 17) as Footprint nets: the graph becomes a Net, its initializers the
// parameters, ready for restore_parameters(). Link the footprint_onnx CMake target.
#pragma once

#include <string>
#include <vector>

#include "footprint/model_io.hpp"
#include "footprint/net.hpp"

namespace footprint {

struct OnnxImportOptions {
  // false: read only the architecture (plan needs no weights); the initializers' bytes are still
  // parsed but never converted, so memory stays about the file's size.
  bool weights = true;
};

struct OnnxModel {
  Net net;                  // no loss: add one (net << loss(...)) to train
  SavedModel weights;       // "<layer>.weight", "<layer>.bias", "<layer>.running_mean", ...
  int64_t batch = 1;        // the graph input's N when fixed, else 1
  std::string input_name;   // the graph's input and output value names
  std::string output_name;
};

// Throws IoError for a missing, truncated or corrupt file and ParseError for a model that uses
// an op, attribute or graph shape Footprint cannot express (naming the node, op and attribute).
[[nodiscard]] OnnxModel import_onnx(const std::string& path, const OnnxImportOptions& options = {});

// True when path ends in .onnx or its first bytes look like an ONNX ModelProto (an ir_version
// field); false for .net text.
[[nodiscard]] bool looks_like_onnx(const std::string& path);

// The ONNX op types the importer maps, in its table's order.
[[nodiscard]] std::vector<std::string> onnx_supported_ops();

}  // namespace footprint
