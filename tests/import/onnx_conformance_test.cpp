// Runs the ONNX backend node tests Debian ships (libonnx-testdata) through the importer: every
// test whose ops are all in the importer's table is imported, planned and run, and its outputs
// compared with the expected ones (rtol 1e-4, atol 1e-5). Prints the passes per op and, for every
// test it cannot run, why; a test of a supported op that imports must match. A test's inputs
// after the first become initializers (its weights), so a second data input reads as a constant.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "footprint/error.hpp"
#include "footprint/onnx.hpp"
#include "footprint/plan.hpp"
#include "footprint/runtime.hpp"
#include "import/onnx/onnx_importer.hpp"

namespace footprint {
namespace {

namespace fs = std::filesystem;

const char* const kTestData = "/usr/share/libonnx-testdata/data";

// The tests expected to pass, by name, so that a change making one fail (or another pass) shows.
const std::vector<std::string> kNodePasses = {
    "test_averagepool_2d_ceil", "test_averagepool_2d_default", "test_averagepool_2d_pads",
    "test_averagepool_2d_pads_count_include_pad", "test_averagepool_2d_precomputed_pads",
    "test_averagepool_2d_precomputed_pads_count_include_pad", "test_averagepool_2d_precomputed_same_upper",
    "test_averagepool_2d_precomputed_strides", "test_averagepool_2d_same_lower",
    "test_averagepool_2d_same_upper", "test_averagepool_2d_strides", "test_basic_conv_with_padding",
    "test_basic_conv_without_padding", "test_batchnorm_epsilon", "test_batchnorm_example", "test_clip",
    "test_clip_default_inbounds", "test_clip_default_max", "test_clip_default_min", "test_clip_example",
    "test_clip_inbounds", "test_clip_outbounds", "test_clip_splitbounds", "test_constant_pad",
    "test_conv_with_autopad_same", "test_conv_with_strides_and_asymmetric_padding",
    "test_conv_with_strides_no_padding", "test_conv_with_strides_padding", "test_convtranspose",
    "test_convtranspose_autopad_same", "test_convtranspose_dilations", "test_convtranspose_kernel_shape",
    "test_convtranspose_output_shape", "test_convtranspose_pad", "test_convtranspose_pads",
    "test_convtranspose_with_kernel", "test_dropout_default", "test_dropout_default_old",
    "test_dropout_default_ratio", "test_dropout_random_old", "test_flatten_axis1",
    "test_flatten_default_axis", "test_flatten_negative_axis3", "test_gemm_alpha", "test_gemm_beta",
    "test_gemm_default_no_bias", "test_gemm_default_scalar_bias", "test_gemm_default_single_elem_vector_bias",
    "test_gemm_default_vector_bias", "test_gemm_default_zero_bias", "test_gemm_transposeB",
    "test_globalaveragepool", "test_globalaveragepool_precomputed", "test_hardsigmoid",
    "test_hardsigmoid_default", "test_hardsigmoid_example", "test_hardswish", "test_hardswish_expanded",
    "test_leakyrelu", "test_leakyrelu_default", "test_leakyrelu_example", "test_matmul_2d",
    "test_maxpool_2d_ceil", "test_maxpool_2d_default", "test_maxpool_2d_pads",
    "test_maxpool_2d_precomputed_pads", "test_maxpool_2d_precomputed_same_upper",
    "test_maxpool_2d_precomputed_strides", "test_maxpool_2d_same_lower", "test_maxpool_2d_same_upper",
    "test_maxpool_2d_strides", "test_relu", "test_reshape_reduced_dims", "test_resize_upsample_scales_linear",
    "test_resize_upsample_scales_linear_align_corners", "test_resize_upsample_scales_nearest", "test_sigmoid",
    "test_sigmoid_example", "test_slice_default_axes", "test_slice_default_steps",
    "test_slice_end_out_of_bounds", "test_slice_neg", "test_slice_negative_axes", "test_softmax_axis_1",
    "test_softmax_example", "test_softmax_large_number", "test_split_equal_parts_2d",
    "test_split_variable_parts_2d", "test_tanh", "test_tanh_example", "test_upsample_nearest",
};
const std::vector<std::string> kPytorchConvertedPasses = {
    "test_AvgPool2d", "test_AvgPool2d_stride", "test_BatchNorm1d_3d_input_eval", "test_BatchNorm2d_eval",
    "test_BatchNorm2d_momentum_eval", "test_ConstantPad2d", "test_Conv2d", "test_Conv2d_depthwise",
    "test_Conv2d_depthwise_padded", "test_Conv2d_depthwise_strided", "test_Conv2d_depthwise_with_multiplier",
    "test_Conv2d_dilated", "test_Conv2d_groups", "test_Conv2d_groups_thnn", "test_Conv2d_no_bias",
    "test_Conv2d_padding", "test_Conv2d_strided", "test_ConvTranspose2d", "test_ConvTranspose2d_no_bias",
    "test_GLU", "test_GLU_dim", "test_LeakyReLU", "test_LeakyReLU_with_negval", "test_Linear",
    "test_MaxPool2d", "test_ReLU", "test_ReflectionPad2d", "test_ReplicationPad2d", "test_Sigmoid",
    "test_Softmax", "test_Tanh", "test_ZeroPad2d", "test_softmax_lastdim",
};
const std::vector<std::string> kPytorchOperatorPasses = {
    "test_operator_clip", "test_operator_conv", "test_operator_convtranspose", "test_operator_flatten",
    "test_operator_mm", "test_operator_pad",
};

onnx::TensorProto read_tensor(const fs::path& path) {
  onnx::TensorProto t;
  std::ifstream in(path, std::ios::binary);
  if (!in || !t.ParseFromIstream(&in)) throw IoError(path.string() + ": not a TensorProto");
  return t;
}

std::vector<fs::path> numbered(const fs::path& dir, const std::string& prefix) {
  std::vector<fs::path> files;
  for (int i = 0;; ++i) {
    fs::path p = dir / (prefix + std::to_string(i) + ".pb");
    if (!fs::exists(p)) break;
    files.push_back(p);
  }
  return files;
}

// "" when the data set matches, else what differs.
std::string run_data_set(const fs::path& model_path, const fs::path& data_dir) {
  onnx::ModelProto model;
  read_onnx_model(model_path.string(), model);
  const std::vector<fs::path> inputs = numbered(data_dir, "input_");
  const std::vector<fs::path> outputs = numbered(data_dir, "output_");
  if (inputs.empty()) throw ParseError("the test has no input; Footprint nets take one");
  // The node tests pass weights (Conv's W, Gemm's B, ...) as graph inputs; the first input is
  // the data and the others become initializers, which is how real models carry them.
  std::set<std::string> initializers;
  for (const auto& t : model.graph().initializer()) initializers.insert(t.name());
  std::vector<std::string> graph_inputs;
  for (const auto& in : model.graph().input())
    if (!initializers.count(in.name())) graph_inputs.push_back(in.name());
  if (graph_inputs.size() != inputs.size()) {
    return "the model has " + std::to_string(graph_inputs.size()) + " inputs, the data set " +
           std::to_string(inputs.size());
  }
  onnx::TensorProto x = read_tensor(inputs[0]);
  for (size_t i = 1; i < inputs.size(); ++i) {
    onnx::TensorProto t = read_tensor(inputs[i]);
    t.set_name(graph_inputs[i]);
    *model.mutable_graph()->add_initializer() = std::move(t);
  }
  OnnxModel m = import_onnx_model(model, model_path.string());
  const std::vector<float> x_values = onnx_tensor_floats(x, inputs[0].string());
  const int batch = x.dims_size() > 0 ? static_cast<int>(x.dims(0)) : 1;
  if (static_cast<int64_t>(x_values.size()) != batch * m.net.input_shape().n_elems()) {
    return "input has " + std::to_string(x_values.size()) + " values, the net takes " +
           std::to_string(batch) + " x " + m.net.input_shape().str();
  }
  const Plan p = plan(m.net, {.batch = batch, .mode = Mode::infer, .threads = 1});
  Runtime runtime(m.net, p);
  restore_parameters(m.weights, runtime);
  std::copy(x_values.begin(), x_values.end(), runtime.input());
  runtime.forward(batch, /*training=*/false);
  if (outputs.size() != m.net.outputs().size()) {
    return std::to_string(outputs.size()) + " expected outputs, the net has " + std::to_string(m.net.outputs().size());
  }
  for (size_t k = 0; k < outputs.size(); ++k) {
    const onnx::TensorProto y = read_tensor(outputs[k]);
    const std::vector<float> want = onnx_tensor_floats(y, outputs[k].string());
    const int64_t n_out = batch * m.net.value_shape(m.net.outputs()[k]).n_elems();
    if (static_cast<int64_t>(want.size()) != n_out) {
      return "output " + std::to_string(k) + " has " + std::to_string(n_out) + " values, expected " +
             std::to_string(want.size());
    }
    const float* got = runtime.output(static_cast<int>(k));
    for (int64_t i = 0; i < n_out; ++i) {
      if (!(std::fabs(got[i] - want[i]) <= 1e-5f + 1e-4f * std::fabs(want[i]))) {
        return "output " + std::to_string(k) + "[" + std::to_string(i) + "] = " + std::to_string(got[i]) +
               ", expected " + std::to_string(want[i]);
      }
    }
  }
  return "";
}

// Runs every test under `root` whose ops are all supported; returns the names of those that passed.
std::vector<std::string> run_suite(const fs::path& root) {
  const char* kNodeTests = root.c_str();
  const std::vector<std::string> table = onnx_supported_ops();
  const std::set<std::string> supported(table.begin(), table.end());
  std::vector<fs::path> dirs;
  for (const auto& entry : fs::directory_iterator(kNodeTests)) dirs.push_back(entry.path());
  std::sort(dirs.begin(), dirs.end());

  std::map<std::string, int> passed_by_op, unsupported_by_op;
  std::map<std::string, int> other_ops;  // tests left out because an op is outside the table
  std::vector<std::string> cannot_run, failures;
  std::vector<std::string> passed_names;
  for (const fs::path& dir : dirs) {
    onnx::ModelProto model;
    std::set<std::string> ops, outside;
    try {
      read_onnx_model((dir / "model.onnx").string(), model);
    } catch (const Error& e) {
      cannot_run.push_back(dir.filename().string() + ": " + e.what());
      continue;
    }
    for (const auto& node : model.graph().node()) {
      if (node.op_type() == "Constant") continue;
      ops.insert(node.op_type());
      if (!supported.count(node.op_type())) outside.insert(node.op_type());
    }
    if (!outside.empty()) {
      for (const auto& op : outside) ++other_ops[op];
      continue;
    }
    const std::string name = dir.filename().string();
    const std::string op = ops.size() == 1 ? *ops.begin() : "(several)";
    std::string problem;
    bool ran = false;
    try {
      for (const auto& data : fs::directory_iterator(dir)) {
        if (!data.is_directory()) continue;
        const std::string diff = run_data_set(dir / "model.onnx", data.path());
        ran = true;
        if (!diff.empty()) problem = data.path().filename().string() + ": " + diff;
      }
    } catch (const ParseError& e) {  // the importer (or the data) refuses it: a deliberate gap
      cannot_run.push_back(name + ": " + e.what());
      ++unsupported_by_op[op];
      continue;
    } catch (const Error& e) {
      problem = e.what();
    }
    if (!problem.empty() || !ran) {
      failures.push_back(name + ": " + (ran ? problem : "no test data set"));
      continue;
    }
    passed_names.push_back(name);
    ++passed_by_op[op];
  }

  std::printf("%s: tests passed, per op (%zu in all):\n", kNodeTests, passed_names.size());
  for (const std::string& op : table) {
    std::printf("  %-20s %3d passed, %3d not expressible\n", op.c_str(), passed_by_op[op], unsupported_by_op[op]);
  }
  if (passed_by_op.count("(several)")) std::printf("  %-20s %3d passed\n", "(several ops)", passed_by_op["(several)"]);
  std::printf("\nTests of supported ops that Footprint cannot express (%zu), and why:\n", cannot_run.size());
  for (const auto& line : cannot_run) std::printf("  %s\n", line.c_str());
  int outside_total = 0;
  std::string outside_list;
  for (const auto& [op, n] : other_ops) outside_total += n, outside_list += " " + op + "(" + std::to_string(n) + ")";
  std::printf("\nNot run because they use ops outside the importer's table (count per op):%s\n",
              outside_list.c_str());
  for (const auto& f : failures) ADD_FAILURE() << f;
  return passed_names;
}

// A list's names, one per line, for a failure message that shows what changed.
std::string lines(const std::vector<std::string>& names) {
  std::string text;
  for (const std::string& n : names) text += "  \"" + n + "\",\n";
  return text;
}

TEST(OnnxConformance, NodeTestsOfSupportedOps) {
  if (!fs::exists(kTestData)) GTEST_SKIP() << kTestData << " is missing: install libonnx-testdata";
  const std::vector<std::string> passed = run_suite(fs::path(kTestData) / "node");
  EXPECT_EQ(passed, kNodePasses) << "passed now:\n" << lines(passed);
}

// PyTorch's exports of single modules: weights as initializers, as in real models.
TEST(OnnxConformance, PytorchConvertedTestsOfSupportedOps) {
  if (!fs::exists(kTestData)) GTEST_SKIP() << kTestData << " is missing: install libonnx-testdata";
  const std::vector<std::string> converted = run_suite(fs::path(kTestData) / "pytorch-converted");
  EXPECT_EQ(converted, kPytorchConvertedPasses) << "passed now:\n" << lines(converted);
  const std::vector<std::string> operators = run_suite(fs::path(kTestData) / "pytorch-operator");
  EXPECT_EQ(operators, kPytorchOperatorPasses) << "passed now:\n" << lines(operators);
}

}  // namespace
}  // namespace footprint
