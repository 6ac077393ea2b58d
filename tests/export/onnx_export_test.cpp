// The exporter against the importer: every test net (export_nets.hpp), with random weights,
// written as ONNX and read back computes the same outputs, bit for bit where the importer reads
// each layer back as itself; the file's form (opset, IR version, symbolic batch, initializers);
// the table's coverage of layer_list.def; and the refusals (a registered layer, missing or
// mis-sized weights, an unwritable path), which leave any previous file as it was.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>

#include "export/onnx/op_table.hpp"
#include "export/export_nets.hpp"
#include "footprint/error.hpp"
#include "footprint/layer.hpp"
#include "footprint/onnx.hpp"
#include "import/onnx/onnx_importer.hpp"

namespace {

using namespace footprint;
using namespace footprint::testing;

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() /
          ("footprint_export_" + std::to_string(getpid()) + "_" + name))
      .string();
}

// The layers' ops, leaving out the flatten the importer makes of the Flatten before an fc's Gemm
// (free: it runs in place).
std::vector<std::string> ops_of(const Net& net) {
  std::vector<std::string> ops;
  for (const auto& node : net.nodes()) {
    const std::string& name = node.spec.name;
    const bool before_fc = node.spec.op == "flatten" && name.size() > 8 && name.compare(name.size() - 8, 8, ".flatten") == 0;
    if (!before_fc) ops.push_back(node.spec.op);
  }
  return ops;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

struct Exported {
  Net net{Shape{}};
  std::string path;
  std::vector<float> input;
  std::vector<std::vector<float>> outputs;  // Footprint's, on `input`
};

constexpr int kBatch = 3;

// The case's net with random weights, run on a random batch and exported.
Exported export_case(const ExportCase& c, const std::string& path) {
  Exported e{.net = parse_net(c.net_text, c.name + ".net"), .path = path};
  const Plan p = plan(e.net, {.batch = kBatch, .mode = Mode::infer, .threads = 2});
  Runtime runtime(e.net, p, /*seed=*/7);
  randomise_parameters(runtime, /*seed=*/100);
  e.input = uniform_values(kBatch * e.net.input_shape().n_elems(), 5);
  std::copy(e.input.begin(), e.input.end(), runtime.input());
  runtime.forward(kBatch, /*training=*/false);
  e.outputs = outputs_of(runtime, kBatch);
  export_onnx(runtime, path, c.name);
  return e;
}

TEST(OnnxExport, ReimportedNetsComputeTheSameOutputs) {
  for (const ExportCase& c : export_cases()) {
    SCOPED_TRACE(c.name);
    const std::string path = temp_path(c.name + ".onnx");
    const Exported e = export_case(c, path);
    OnnxModel m = import_onnx(path);
    std::filesystem::remove(path);
    ASSERT_EQ(m.net.outputs().size(), e.net.outputs().size()) << m.net.to_text();
    if (c.same_layers) {
      EXPECT_EQ(ops_of(m.net), ops_of(e.net)) << m.net.to_text();
    }
    const Plan p = plan(m.net, {.batch = kBatch, .mode = Mode::infer, .threads = 2});
    Runtime runtime(m.net, p);
    m.restore_weights(runtime);
    std::copy(e.input.begin(), e.input.end(), runtime.input());
    runtime.forward(kBatch, /*training=*/false);
    const std::vector<std::vector<float>> got = outputs_of(runtime, kBatch);
    for (size_t k = 0; k < got.size(); ++k) {
      const std::string name = e.net.value_name(e.net.outputs()[k]);
      ASSERT_EQ(got[k].size(), e.outputs[k].size()) << name;
      const Difference d = difference(got[k], e.outputs[k]);
      std::printf("re-import %-16s %-8s max |diff| %.3g, max |y| %.3g\n", c.name.c_str(), name.c_str(), d.max_abs,
                  d.max_ref);
      if (c.bit_identical) {
        EXPECT_EQ(d.max_abs, 0.0) << name << ": the importer reads every layer back as itself";
      } else {
        EXPECT_LE(d.relative(), 1e-6) << name << ": max |diff| " << d.max_abs << ", max |y| " << d.max_ref;
      }
    }
  }
}

TEST(OnnxExport, WritesOpset13WithASymbolicBatchAndEveryParameterAsAnInitializer) {
  const ExportCase lenet = export_cases()[5];
  ASSERT_EQ(lenet.name, "lenet");
  const std::string path = temp_path("form.onnx");
  const Net net = parse_net(lenet.net_text, "lenet.net");
  const Plan p = plan(net, {.batch = 1, .mode = Mode::infer, .threads = 1});
  Runtime runtime(net, p, 3);
  export_onnx(runtime, path);
  onnx::ModelProto model;
  read_onnx_model(path, model);
  std::filesystem::remove(path);
  EXPECT_EQ(model.ir_version(), 7);
  ASSERT_EQ(model.opset_import_size(), 1);
  EXPECT_EQ(model.opset_import(0).domain(), "");
  EXPECT_EQ(model.opset_import(0).version(), 13);
  EXPECT_EQ(model.producer_name(), "footprint");
  const onnx::GraphProto& g = model.graph();
  ASSERT_EQ(g.input_size(), 1);
  EXPECT_EQ(g.input(0).name(), "input");
  const auto& in_dims = g.input(0).type().tensor_type().shape().dim();
  ASSERT_EQ(in_dims.size(), 4);
  EXPECT_EQ(in_dims[0].dim_param(), "N");
  EXPECT_EQ(in_dims[1].dim_value(), 1);
  EXPECT_EQ(in_dims[2].dim_value(), 28);
  EXPECT_EQ(in_dims[3].dim_value(), 28);
  ASSERT_EQ(g.output_size(), 1);
  EXPECT_EQ(g.output(0).name(), "fc10");
  const auto& out_dims = g.output(0).type().tensor_type().shape().dim();
  ASSERT_EQ(out_dims.size(), 2);
  EXPECT_EQ(out_dims[0].dim_param(), "N");
  EXPECT_EQ(out_dims[1].dim_value(), 10);
  // One initializer per parameter, its bytes the runtime's.
  ASSERT_EQ(g.initializer_size(), static_cast<int>(runtime.parameters().size()));
  for (const ParamView& param : runtime.parameters()) {
    SCOPED_TRACE(param.name);
    const onnx::TensorProto* t = nullptr;
    for (const auto& init : g.initializer())
      if (init.name() == param.name) t = &init;
    ASSERT_NE(t, nullptr);
    EXPECT_EQ(t->data_type(), onnx::TensorProto::FLOAT);
    ASSERT_EQ(t->raw_data().size(), sizeof(float) * static_cast<size_t>(param.n_elems));
    EXPECT_EQ(std::memcmp(t->raw_data().data(), param.data, t->raw_data().size()), 0);
  }
  // The last node of each layer carries its name, so an importer names the layer the same.
  std::set<std::string> node_names;
  for (const auto& n : g.node()) node_names.insert(n.name());
  for (const auto& node : net.nodes()) EXPECT_EQ(node_names.count(node.spec.name), 1u) << node.spec.name;
}

TEST(OnnxExport, UsesOnlyOpset13OpsAndKeepsTheImportersFusions) {
  // Ops that came after opset 13 must not appear: their opset-13 forms are decompositions.
  const std::set<std::string> later = {"HardSwish", "LayerNormalization", "Gelu", "Mish"};
  for (const ExportCase& c : export_cases()) {
    SCOPED_TRACE(c.name);
    const std::string path = temp_path(c.name + "_ops.onnx");
    (void)export_case(c, path);
    onnx::ModelProto model;
    read_onnx_model(path, model);
    std::filesystem::remove(path);
    for (const auto& n : model.graph().node()) EXPECT_EQ(later.count(n.op_type()), 0u) << n.name() << " " << n.op_type();
  }
}

TEST(OnnxExport, TheTableHasEveryLayerAndTheTestNetsUseEveryLayer) {
  std::set<std::string> used;
  for (const ExportCase& c : export_cases()) {
    const Net net = parse_net(c.net_text, c.name);
    for (const auto& node : net.nodes()) used.insert(node.spec.op);
  }
  std::vector<std::string> keywords;
#define FP_LAYER(Class, keyword, onnx) keywords.push_back(keyword);
#include "layers/layer_list.def"
#undef FP_LAYER
  for (const std::string& op : keywords) {
    EXPECT_NE(onnx_export::find_export(op), nullptr) << op << " has no row in src/export/onnx/op_table.cpp";
    EXPECT_EQ(used.count(op), 1u) << op << " is in no net of tests/export/export_nets.hpp";
  }
  EXPECT_EQ(onnx_export_forms().size(), keywords.size());
}

// A layer of the user's own, as examples/consumer registers one: y = x * x.
class Square final : public Layer {
 public:
  std::string_view op() const override { return "square"; }
  Shape infer_shape(std::span<const Shape> in) const override { return in[0]; }
  LayerNeeds describe(const PlanContext&) const override { return {}; }
  void forward(const StepArgs& a) const override {
    for (int64_t i = 0; i < a.batch * a.out_shape.n_elems(); ++i) a.dst[i] = a.src[0][i] * a.src[0][i];
  }
  void backward(const StepArgs&) const override {}
};

TEST(OnnxExport, RefusesARegisteredLayerNamingItAndLeavesThePreviousFile) {
  register_layer("square", [](const LayerSpec&) -> std::unique_ptr<Layer> { return std::make_unique<Square>(); });
  Net net{Shape{2, 4, 4}};
  net << conv(3, {.k = 3, .pad = 1, .name = "c"}) << layer("square", {}, "sq") << relu("r");
  const Plan p = plan(net, {.batch = 1, .mode = Mode::infer, .threads = 1});
  Runtime runtime(net, p);
  const std::string path = temp_path("refused.onnx");
  {
    std::ofstream(path) << "the previous file";
  }
  const std::string message = error_of([&] { export_onnx(runtime, path, "mine.net"); });
  EXPECT_NE(message.find("mine.net: layer 'sq' (square, layer 1): op 'square' has no ONNX form"), std::string::npos)
      << message;
  EXPECT_NE(message.find("register_layer"), std::string::npos) << message;
  EXPECT_NE(message.find("exportable ops: conv, convtranspose,"), std::string::npos) << message;
  EXPECT_EQ(read_text(path), "the previous file");
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
  std::filesystem::remove(path);
}

TEST(OnnxExport, MissingOrMisSizedWeightsAreIoErrorsNamingTheTensor) {
  Net net{Shape{2, 4, 4}};
  net << conv(3, {.k = 3, .name = "c"}) << fc(5, true, "f");
  const std::string path = temp_path("weights.onnx");
  SavedModel none;
  EXPECT_EQ(error_of([&] { export_onnx(net, none, path, "m.fpm"); }), "m.fpm: the weights have no 'c.weight'");
  SavedModel short_bias;
  short_bias.tensors = {{.name = "c.weight", .data = std::vector<float>(54)}, {.name = "c.bias", .data = {1.0f}}};
  EXPECT_EQ(error_of([&] { export_onnx(net, short_bias, path, "m.fpm"); }),
            "m.fpm: 'c.bias' has 1 values; layer 'c' needs 3");
  EXPECT_FALSE(std::filesystem::exists(path));
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
}

TEST(OnnxExport, RefusesANetWithoutLayers) {
  const std::string path = temp_path("empty.onnx");
  EXPECT_EQ(error_of([&] { export_onnx(Net{Shape{1, 2, 2}}, SavedModel{}, path, "empty.net"); }),
            "empty.net: the net has no layers; there is nothing to export");
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST(OnnxExport, AnUnwritablePathIsAnIoError) {
  Net net{Shape{1, 2, 2}};
  net << relu("r");
  const std::string message =
      error_of([&] { export_onnx(net, SavedModel{}, "/nonexistent-dir/model.onnx"); });
  EXPECT_NE(message.find("exporting ONNX model /nonexistent-dir/model.onnx"), std::string::npos) << message;
}

// ONNX's own checker (Python's onnx package, with shape inference) accepts every exported model,
// declared output shapes included. Skipped where that package is missing.
TEST(OnnxExport, PassesTheOnnxChecker) {
  const std::string python = std::filesystem::exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
  // onnx.checker, not onnx: libonnx-testdata's files alone make `import onnx` succeed.
  if (std::system((python + " -c 'import onnx.checker' >/dev/null 2>&1").c_str()) != 0) {
    GTEST_SKIP() << "no Python onnx package (" << python << ")";
  }
  std::string files;
  std::vector<std::string> paths;
  for (const ExportCase& c : export_cases()) {
    paths.push_back(temp_path(c.name + "_checked.onnx"));
    (void)export_case(c, paths.back());
    files += " " + paths.back();
  }
  const std::string command = python +
                              " -c 'import onnx, sys\n"
                              "for p in sys.argv[1:]: onnx.checker.check_model(onnx.load(p), full_check=True)'" +
                              files;
  EXPECT_EQ(std::system(command.c_str()), 0) << command;
  for (const std::string& p : paths) std::filesystem::remove(p);
}

}  // namespace
