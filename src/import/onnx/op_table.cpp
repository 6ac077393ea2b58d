// The one op table. Element-wise ops that map 1:1 onto a layer come from layer_list.def's third
// column (a new activation needs no line here); every other op has a row below: a converter for
// when the graph computes an input, and a folder for when every input is a constant (shape
// arithmetic, computed at import). Fusions (fusions.cpp) look at a node before this table does.
#include "import/onnx/op_table.hpp"

#include <string>
#include <vector>

#include "import/onnx/converters.hpp"
#include "import/onnx/onnx_importer.hpp"

namespace footprint {
namespace {

// Ops with converters of their own, in the order `supported ops` messages list them.
const std::vector<OpEntry>& converter_table() {
  static const std::vector<OpEntry> table = {
      {"Conv", convert_conv},
      {"ConvTranspose", convert_conv_transpose},
      {"MaxPool", convert_maxpool},
      {"AveragePool", convert_averagepool},
      {"GlobalAveragePool", convert_globalaveragepool},
      {"Pad", convert_pad},
      {"LeakyRelu", convert_leakyrelu},
      {"Clip", convert_clip},
      {"HardSigmoid", convert_hardsigmoid},
      {"Softmax", convert_softmax},
      {"Dropout", convert_dropout},
      {"Add", convert_add, fold_add},
      {"Sub", convert_sub, fold_sub},
      {"Mul", convert_mul, fold_mul},
      {"Div", convert_div, fold_div},
      {"Sum", convert_sum},
      {"Concat", convert_concat, fold_concat},
      {"Erf", convert_only_in_fusion},
      {"Pow", convert_only_in_fusion},
      {"Sqrt", convert_only_in_fusion},
      {"BatchNormalization", convert_batchnorm},
      {"LayerNormalization", convert_layernorm},
      {"ReduceMean", convert_reducemean},
      {"Gemm", convert_gemm},
      {"MatMul", convert_matmul},
      {"Identity", convert_identity, fold_identity},
      {"Flatten", convert_flatten},
      {"Reshape", convert_reshape, fold_reshape},
      {"Squeeze", convert_squeeze, fold_squeeze},
      {"Unsqueeze", convert_unsqueeze, fold_unsqueeze},
      {"Transpose", convert_transpose},
      {"Slice", convert_slice, fold_slice},
      {"Split", convert_split},
      {"Resize", convert_resize},
      {"Upsample", convert_upsample},
      {"Shape", convert_shape, fold_shape},
      {"Gather", nullptr, fold_gather},
      {"Cast", nullptr, fold_cast},
      {"ConstantOfShape", nullptr, fold_constant_of_shape},
      {"Range", nullptr, fold_range},
  };
  return table;
}

// layer_list.def's third column: ONNX ops that are one attribute-free element-wise layer.
const std::vector<OpEntry>& layer_list_table() {
  static const std::vector<OpEntry> table = [] {
    std::vector<OpEntry> rows;
#define FP_LAYER(Class, keyword, onnx) \
  if (std::string(onnx).size() > 0) rows.push_back({onnx, convert_one_to_one});
#include "layers/layer_list.def"
#undef FP_LAYER
    return rows;
  }();
  return table;
}

}  // namespace

const OpEntry* find_op(const std::string& onnx_op) {
  for (const auto* table : {&converter_table(), &layer_list_table()}) {
    for (const OpEntry& e : *table)
      if (e.onnx_op == onnx_op) return &e;
  }
  return nullptr;
}

std::string supported_ops_text() {
  std::string list;
  for (const std::string& op : onnx_supported_ops()) list += (list.empty() ? "" : ", ") + op;
  return list;
}

std::vector<std::string> onnx_converter_ops() {
  std::vector<std::string> ops;
  for (const OpEntry& e : converter_table()) ops.push_back(e.onnx_op);
  return ops;
}

std::vector<std::string> onnx_layer_list_ops() {
  std::vector<std::string> ops;
  for (const OpEntry& e : layer_list_table()) ops.push_back(e.onnx_op);
  return ops;
}

std::vector<std::string> onnx_supported_ops() {
  std::vector<std::string> ops = onnx_converter_ops();
  for (const std::string& op : onnx_layer_list_ops()) ops.push_back(op);
  ops.emplace_back("Constant");
  return ops;
}

}  // namespace footprint
