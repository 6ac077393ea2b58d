// ONNX graphs that are not chains: a ResNet basic block with a projection shortcut, an Inception
// block (four branches, one Concat), a DenseNet-style growing concat, N-ary Sum, several graph
// outputs (the first not the last layer) and branches no output needs. Each imported net is
// compared with the same net written by hand (wiring and values).
#include <gtest/gtest.h>

#include <set>

#include "import/import_testing.hpp"

namespace footprint {
namespace {

using testing::expect_close;
using testing::import_built;
using testing::import_error;
using testing::ops_of;
using testing::random_values;
using testing::run_model;
using testing::run_with;

// prefix + i (GCC 12 warns, wrongly, about "literal" + std::to_string(i)).
std::string numbered(const char* prefix, int i) {
  std::string name = prefix;
  name += std::to_string(i);
  return name;
}

TEST(OnnxGraph, ResNetBasicBlockWithProjection) {
  ModelBuilder b;
  b.input("x", {1, 4, 8, 8});
  b.conv("x", "conv_a", 4, 8, 3, 1, 1, /*stride=*/2);
  b.node("Relu", {"conv_a"}, "relu_a");
  b.conv("relu_a", "conv_b", 8, 8, 3, 1, 3);
  b.conv("x", "proj", 4, 8, 1, 0, 5, /*stride=*/2);
  b.node("Add", {"conv_b", "proj"}, "sum");
  b.node("Relu", {"sum"}, "out");
  b.output("out");
  OnnxModel m = import_built(b);
  EXPECT_EQ(ops_of(m.net), (std::vector<std::string>{"conv", "relu", "conv", "conv", "add", "relu"}));
  EXPECT_EQ(m.net.node(3).spec.inputs, (std::vector<std::string>{"input"}));
  EXPECT_EQ(m.net.node(4).spec.inputs, (std::vector<std::string>{"conv_b", "proj"}));

  Net ref(Shape{4, 8, 8});
  ref << conv(8, {.k = 3, .stride = 2, .pad = 1}) << relu() << conv(8, {.k = 3, .pad = 1, .name = "b"})
      << conv(8, {.k = 1, .stride = 2, .name = "p"}).from({"input"}) << add_of({"b", "p"}) << relu();
  const std::vector<float> x = random_values(4 * 8 * 8, 3);
  expect_close(run_model(m, x), run_with(ref, m.weights.tensors, x));
}

TEST(OnnxGraph, InceptionBlockFourBranchesOneConcat) {
  ModelBuilder b;
  b.input("x", {1, 8, 6, 6});
  b.conv("x", "b1", 8, 4, 1, 0, 1);
  b.conv("x", "b2_reduce", 8, 3, 1, 0, 3);
  b.node("Relu", {"b2_reduce"}, "b2_relu");
  b.conv("b2_relu", "b2", 3, 5, 3, 1, 5);
  b.conv("x", "b3_reduce", 8, 2, 1, 0, 7);
  b.conv("b3_reduce", "b3", 2, 3, 5, 2, 9);
  auto& pool = b.node("MaxPool", {"x"}, "b4_pool");
  ModelBuilder::ints(pool, "kernel_shape", {3, 3});
  ModelBuilder::ints(pool, "pads", {1, 1, 1, 1});
  b.conv("b4_pool", "b4", 8, 2, 1, 0, 11);
  ModelBuilder::integer(b.node("Concat", {"b1", "b2", "b3", "b4"}, "cat"), "axis", 1);
  b.output("cat");
  OnnxModel m = import_built(b);
  EXPECT_EQ(m.net.output_shape(), (Shape{14, 6, 6}));
  EXPECT_EQ(m.net.nodes().back().spec.op, "concat");
  EXPECT_EQ(m.net.nodes().back().spec.inputs, (std::vector<std::string>{"b1", "b2", "b3", "b4"}));

  Net ref(Shape{8, 6, 6});
  ref << conv(4, {.k = 1, .name = "b1"}) << conv(3, {.k = 1}).from({"input"}) << relu()
      << conv(5, {.k = 3, .pad = 1, .name = "b2"}) << conv(2, {.k = 1}).from({"input"})
      << conv(3, {.k = 5, .pad = 2, .name = "b3"}) << maxpool(3, {.stride = 1, .pad = 1}).from({"input"})
      << conv(2, {.k = 1, .name = "b4"}) << concat_of({"b1", "b2", "b3", "b4"});
  const std::vector<float> x = random_values(8 * 6 * 6, 4);
  expect_close(run_model(m, x), run_with(ref, m.weights.tensors, x));
}

// Each layer reads the concatenation of everything before it.
TEST(OnnxGraph, DenseNetGrowingConcat) {
  ModelBuilder b;
  b.input("x", {1, 3, 6, 6});
  b.conv("x", "c0", 3, 4, 3, 1, 1);
  std::vector<std::string> features = {"c0"};
  int64_t channels = 4;
  for (int i = 1; i <= 3; ++i) {
    const std::string cat = numbered("cat", i), layer = numbered("l", i);
    const std::string in = i == 1 ? "c0" : numbered("cat", i - 1);
    b.conv(in, layer + "_conv", channels, 2, 3, 1, 10 * i);
    b.node("Relu", {layer + "_conv"}, layer);
    features.push_back(layer);
    ModelBuilder::integer(b.node("Concat", features, cat), "axis", 1);
    channels += 2;
  }
  b.output("cat3");
  OnnxModel m = import_built(b);
  EXPECT_EQ(m.net.output_shape(), (Shape{10, 6, 6}));
  EXPECT_EQ(m.net.nodes().back().spec.inputs, (std::vector<std::string>{"c0", "l1", "l2", "l3"}));

  Net ref(Shape{3, 6, 6});
  ref << conv(4, {.k = 3, .pad = 1, .name = "c0"}) << conv(2, {.k = 3, .pad = 1}) << relu("l1")
      << concat_of({"c0", "l1"}, "cat1") << conv(2, {.k = 3, .pad = 1}) << relu("l2")
      << concat_of({"c0", "l1", "l2"}, "cat2") << conv(2, {.k = 3, .pad = 1}) << relu("l3")
      << concat_of({"c0", "l1", "l2", "l3"});
  const std::vector<float> x = random_values(3 * 6 * 6, 5);
  expect_close(run_model(m, x), run_with(ref, m.weights.tensors, x));
}

TEST(OnnxGraph, SumOfThreeValuesIsOneAdd) {
  ModelBuilder b;
  b.input("x", {1, 2, 5, 5});
  for (int i = 0; i < 3; ++i) b.conv("x", numbered("c", i), 2, 3, 3, 1, 7 * i + 1);
  b.node("Sum", {"c0", "c1", "c2"}, "sum");
  b.output("sum");
  OnnxModel m = import_built(b);
  EXPECT_EQ(ops_of(m.net), (std::vector<std::string>{"conv", "conv", "conv", "add"}));
  EXPECT_EQ(m.net.nodes().back().spec.inputs, (std::vector<std::string>{"c0", "c1", "c2"}));
  Net ref(Shape{2, 5, 5});
  for (int i = 0; i < 3; ++i) ref << conv(3, {.k = 3, .pad = 1, .name = numbered("c", i)}).from({"input"});
  ref << add_of({"c0", "c1", "c2"});
  const std::vector<float> x = random_values(2 * 5 * 5, 6);
  expect_close(run_model(m, x), run_with(ref, m.weights.tensors, x));
}

// Two graph outputs, the first an inner value; a branch that no output needs is left out.
TEST(OnnxGraph, SeveralOutputsAndUnusedBranches) {
  ModelBuilder b;
  b.input("x", {1, 2, 6, 6});
  b.conv("x", "a", 2, 4, 3, 1, 1);
  b.node("Relu", {"a"}, "r");
  b.conv("r", "unused", 4, 4, 1, 0, 3);  // read by nothing
  b.conv("r", "head", 4, 3, 1, 0, 5);
  b.output("r");
  b.output("head");
  OnnxModel m = import_built(b);
  EXPECT_EQ(ops_of(m.net), (std::vector<std::string>{"conv", "relu", "conv"}));
  EXPECT_EQ(m.output_names, (std::vector<std::string>{"r", "head"}));
  EXPECT_EQ(m.output_name, "r");
  ASSERT_EQ(m.net.outputs().size(), 2u);
  EXPECT_EQ(m.net.value_name(m.net.outputs()[0]), "r");
  EXPECT_EQ(m.net.value_name(m.net.outputs()[1]), "head");
  EXPECT_NE(m.net.to_text().find("output r,head"), std::string::npos) << m.net.to_text();

  Net ref(Shape{2, 6, 6});
  ref << conv(4, {.k = 3, .pad = 1}) << relu("r") << conv(3, {.k = 1, .name = "head"});
  ref.set_outputs({"r", "head"});
  const std::vector<float> x = random_values(2 * 6 * 6, 7);
  expect_close(run_model(m, x, 1, 0), run_with(ref, m.weights.tensors, x, 1, 0));
  expect_close(run_model(m, x, 1, 1), run_with(ref, m.weights.tensors, x, 1, 1));
}

TEST(OnnxGraph, OutputsMustBeDistinctComputedNchwValues) {
  {
    ModelBuilder b;
    b.input("x", {1, 2, 4, 4});
    b.conv("x", "a", 2, 2, 1, 0, 1);
    b.node("Identity", {"a"}, "a2");
    b.output("a");
    b.output("a2");
    EXPECT_NE(import_error(b).find("the graph outputs 'a' and 'a2' are the same value"), std::string::npos)
        << import_error(b);
  }
  {
    ModelBuilder b;
    b.input("x", {1, 2, 4, 4});
    b.node("Identity", {"x"}, "y");
    b.output("y");
    EXPECT_NE(import_error(b).find("the graph output 'y' is the graph input itself"), std::string::npos)
        << import_error(b);
  }
  {
    ModelBuilder b;
    b.input("x", {1, 2, 4, 4});
    b.conv("x", "a", 2, 2, 1, 0, 1);
    ModelBuilder::ints(b.node("Transpose", {"a"}, "t"), "perm", {0, 2, 3, 1});
    b.output("t");
    EXPECT_NE(import_error(b).find("the graph output 't' is a channels-last (NHWC) view"), std::string::npos)
        << import_error(b);
  }
  {
    ModelBuilder b;
    b.input("x", {1, 2, 4, 4});
    b.floats("k", {1}, {2.0f});
    b.conv("x", "a", 2, 2, 1, 0, 1);
    b.output("k");
    EXPECT_NE(import_error(b).find("the graph output 'k' is a constant"), std::string::npos) << import_error(b);
  }
}

// The op table: attribute-free element-wise ops come from layer_list.def, the rest have
// converters; an op in both would be converted two ways.
TEST(OnnxGraph, OpTableHalvesAreDisjoint) {
  const std::vector<std::string> converters = onnx_converter_ops(), layers = onnx_layer_list_ops();
  const std::set<std::string> converter_set(converters.begin(), converters.end());
  EXPECT_EQ(converter_set.size(), converters.size()) << "an op is listed twice among the converters";
  for (const std::string& op : layers) EXPECT_EQ(converter_set.count(op), 0u) << op << " is in both halves";
  EXPECT_NE(std::find(layers.begin(), layers.end(), "Relu"), layers.end());
  const std::vector<std::string> all = onnx_supported_ops();
  EXPECT_EQ(all.size(), converters.size() + layers.size() + 1);  // and Constant
}

}  // namespace
}  // namespace footprint
