// The one op table: every ONNX op type the importer reads, and how (op_table.cpp).
#pragma once

#include <string>
#include <vector>

namespace footprint {

class Importer;
using Converter = void (*)(Importer&);

struct OpEntry {
  std::string onnx_op;
  Converter convert = nullptr;  // some input is computed by the graph
  Converter fold = nullptr;     // every input is a constant: the outputs are computed at import
};

// nullptr when the op is not in the table.
[[nodiscard]] const OpEntry* find_op(const std::string& onnx_op);
// "Conv, MaxPool, ..., Constant", for messages.
[[nodiscard]] std::string supported_ops_text();

}  // namespace footprint
