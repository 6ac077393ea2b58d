// The one export table: every Footprint layer op the exporter writes, and the ONNX nodes it
// becomes (op_table.cpp). The mirror of src/import/onnx/op_table.hpp.
#pragma once

#include <string>
#include <vector>

namespace footprint::onnx_export {

class Exporter;
using Emitter = void (*)(Exporter&);

struct ExportEntry {
  std::string op;         // the .net keyword
  Emitter emit = nullptr;
  std::string onnx_form;  // the nodes it becomes, for --help and messages: "Flatten, Gemm"
};

// Rows with an emitter of their own, then layer_list.def's 1:1 ops (third column).
[[nodiscard]] const std::vector<ExportEntry>& export_table();
// nullptr when the op is not in the table.
[[nodiscard]] const ExportEntry* find_export(const std::string& op);
// "conv, convtranspose, ...", for messages.
[[nodiscard]] std::string export_ops_text();

}  // namespace footprint::onnx_export
