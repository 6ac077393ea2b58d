// The one export table. Layers that are one attribute-free ONNX op come from layer_list.def's
// third column (a new activation needs no line here); every other layer has a row below, whose
// emitter writes the nodes the importer reads back as that layer (its converters, or for the
// decompositions opset 13 needs, its fusions). A layer missing here cannot be exported.
#include "export/onnx/op_table.hpp"

#include "export/onnx/emitters.hpp"

namespace footprint::onnx_export {

const std::vector<ExportEntry>& export_table() {
  static const std::vector<ExportEntry> table = [] {
    std::vector<ExportEntry> rows = {
        {"conv", emit_conv, "Conv"},
        {"convtranspose", emit_conv_transpose, "ConvTranspose"},
        {"maxpool", emit_maxpool, "MaxPool"},
        {"avgpool", emit_avgpool, "AveragePool"},
        {"globalavgpool", emit_globalavgpool, "GlobalAveragePool"},
        {"pad", emit_pad, "Pad"},
        {"fc", emit_fc, "Gemm (transB=1), after a Flatten when its input is [N, C, H, W]"},
        {"leakyrelu", emit_leakyrelu, "LeakyRelu"},
        {"clip", emit_clip, "Clip"},
        {"hardsigmoid", emit_hardsigmoid, "HardSigmoid"},
        // HardSwish is opset 14; layer_list.def's 1:1 column names it, so this row comes first.
        {"hardswish", emit_hardswish, "HardSigmoid (alpha 1/6), Mul"},
        {"silu", emit_silu, "Sigmoid, Mul"},
        {"gelu", emit_gelu, "Mul, Erf, Add, Mul, Mul (erf); Mul, Mul, Mul, Add, Mul, Tanh, Add, Mul, Mul (tanh)"},
        {"softmax", emit_softmax, "Softmax (axis 1)"},
        {"dropout", emit_dropout, "Dropout (an identity at inference)"},
        {"mul", emit_mul, "Mul"},
        {"sub", emit_sub, "Sub"},
        {"div", emit_div, "Div"},
        {"affine", emit_affine, "Mul, Add (by [C, 1, 1] constants)"},
        {"add", emit_add, "Add (two inputs), Sum (more)"},
        {"concat", emit_concat, "Concat (axis 1)"},
        {"flatten", emit_flatten, "Flatten"},
        {"shuffle", emit_shuffle, "Reshape, Transpose, Reshape"},
        {"slice", emit_slice, "Slice"},
        {"upsample", emit_upsample, "Resize"},
        {"batchnorm", emit_batchnorm, "BatchNormalization (running statistics)"},
        {"layernorm", emit_layernorm, "ReduceMean, Sub, Pow, ReduceMean, Add, Sqrt, Div, Mul, Add"},
    };
    auto listed = [&](const std::string& op) {
      for (const ExportEntry& e : rows)
        if (e.op == op) return true;
      return false;
    };
#define FP_LAYER(Class, keyword, onnx) \
  if (std::string(onnx).size() > 0 && !listed(keyword)) rows.push_back({keyword, emit_one_to_one, onnx});
#include "layers/layer_list.def"
#undef FP_LAYER
    return rows;
  }();
  return table;
}

const ExportEntry* find_export(const std::string& op) {
  for (const ExportEntry& e : export_table())
    if (e.op == op) return &e;
  return nullptr;
}

std::string export_ops_text() {
  std::string list;
  for (const ExportEntry& e : export_table()) list += (list.empty() ? "" : ", ") + e.op;
  return list;
}

}  // namespace footprint::onnx_export
