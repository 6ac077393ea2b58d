// Symbolic input dimensions and shape arithmetic: a graph input with a symbolic H and W is
// resolved from the size the caller gives (or refused, naming the dimension and the flag), and
// Shape, Gather, Unsqueeze, Squeeze, Concat, Slice, Cast, Add, Sub, Mul, Div, ConstantOfShape and
// Range on constants are computed at import, so the graph becomes static.
#include <gtest/gtest.h>

#include <functional>

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

// x [N, 3, H, W] -> conv -> global average pool -> Reshape to a target computed from the pool's
// Shape through every folded op -> Gemm.
ModelBuilder dynamic_classifier() {
  ModelBuilder b;
  b.symbolic_input("x", {1, 3, 0, 0}, {"N", "", "H", "W"});
  b.conv("x", "conv", 3, 4, 3, 1, 1);
  b.node("GlobalAveragePool", {"conv"}, "gap");
  b.node("Shape", {"gap"}, "s");                                   // [1, 4, 1, 1]
  b.int64s("one", {}, {1});
  b.node("Gather", {"s", "one"}, "c");                             // 4
  b.floats("two_f", {}, {2.0f});
  ModelBuilder::integer(b.node("Cast", {"two_f"}, "two"), "to", onnx::TensorProto::INT64);
  b.node("Mul", {"c", "two"}, "c2");                               // 8
  b.node("Div", {"c2", "two"}, "c3");                              // 4
  b.node("Add", {"c3", "two"}, "c4");                              // 6
  b.node("Sub", {"c4", "two"}, "c5");                              // 4
  b.int64s("axes0", {1}, {0});
  b.node("Unsqueeze", {"c5", "axes0"}, "cu");                      // [4]
  b.int64s("zero_s", {}, {0});
  b.int64s("one_s", {}, {1});
  b.node("Range", {"zero_s", "one_s", "one_s"}, "r");              // [0]
  b.node("Gather", {"s", "r"}, "n");                               // [1]
  b.node("Shape", {"r"}, "r_shape");                               // [1]
  auto& fill = b.node("ConstantOfShape", {"r_shape"}, "ones");     // [1] of int64 1
  auto* value = fill.add_attribute();
  value->set_name("value");
  value->set_type(onnx::AttributeProto::TENSOR);
  value->mutable_t()->set_data_type(onnx::TensorProto::INT64);
  value->mutable_t()->add_dims(1);
  value->mutable_t()->add_int64_data(1);
  b.node("Mul", {"n", "ones"}, "n2");                              // [1]
  b.int64s("start", {1}, {0});
  b.int64s("end", {1}, {1});
  b.node("Slice", {"s", "start", "end"}, "batch");                 // [1]
  b.node("Unsqueeze", {"batch", "axes0"}, "batch_2d");             // [1, 1]
  b.node("Squeeze", {"batch_2d", "axes0"}, "batch_1d");            // [1]
  b.node("Sub", {"batch_1d", "n2"}, "zero");                       // [0]
  b.node("Add", {"n2", "zero"}, "n3");                             // [1]
  ModelBuilder::integer(b.node("Concat", {"n3", "cu"}, "target"), "axis", 0);  // [1, 4]
  b.node("Reshape", {"gap", "target"}, "flat");
  b.weight("fc.W", {5, 4}, 9);
  b.weight("fc.B", {5}, 10, 0.1f);
  ModelBuilder::integer(b.node("Gemm", {"flat", "fc.W", "fc.B"}, "logits"), "transB", 1);
  b.output("logits");
  return b;
}

TEST(OnnxFold, SymbolicInputNeedsTheSizeAndNamesTheFlag) {
  ModelBuilder b = dynamic_classifier();
  const std::string message = import_error(b);
  EXPECT_NE(message.find("input 'x' dimension 2 (H) is the symbolic 'H'"), std::string::npos) << message;
  EXPECT_NE(message.find("--size WxH"), std::string::npos) << message;
  EXPECT_NE(message.find("OnnxImportOptions::input_shape"), std::string::npos) << message;
}

TEST(OnnxFold, ShapeArithmeticBecomesStatic) {
  ModelBuilder b = dynamic_classifier();
  // Channels 0: the model's own (3).
  OnnxModel m = import_built(b, {.input_shape = Shape{.c = 0, .h = 7, .w = 9}});
  EXPECT_EQ(m.net.input_shape(), (Shape{3, 7, 9}));
  // The reshape to [N, 4] of a [N, 4, 1, 1] value moves nothing: no layer for it.
  EXPECT_EQ(ops_of(m.net), (std::vector<std::string>{"conv", "globalavgpool", "fc"}));
  Net ref(Shape{3, 7, 9});
  ref << conv(4, {.k = 3, .pad = 1}) << globalavgpool() << fc(5);
  const std::vector<float> x = random_values(2 * 3 * 7 * 9, 11);
  expect_close(run_model(m, x, 2), run_with(ref, m.weights.tensors, x, 2));

  // Another size: the same graph, folded for it.
  ModelBuilder again = dynamic_classifier();
  EXPECT_EQ(import_built(again, {.input_shape = Shape{3, 32, 20}}).net.input_shape(), (Shape{3, 32, 20}));
}

// Dimensions the model fixes keep their value; the caller's shape only fills symbolic ones.
TEST(OnnxFold, FixedDimensionsWin) {
  ModelBuilder b;
  b.input("x", {1, 3, 8, 8});
  b.conv("x", "conv", 3, 2, 3, 1, 1);
  b.output("conv");
  EXPECT_EQ(import_built(b, {.input_shape = Shape{3, 16, 16}}).net.input_shape(), (Shape{3, 8, 8}));
}

TEST(OnnxFold, FoldingErrorsNameTheNode) {
  auto with = [](const std::function<void(ModelBuilder&)>& add) {
    ModelBuilder b;
    b.input("x", {1, 2, 4, 4});
    b.conv("x", "conv", 2, 2, 1, 0, 1);
    add(b);
    b.output("conv");
    return import_error(b);
  };
  std::string message = with([](ModelBuilder& b) {
    b.int64s("a", {1}, {4});
    b.int64s("z", {1}, {0});
    b.node("Div", {"a", "z"}, "q");
  });
  EXPECT_NE(message.find("node 'q' (Div, node 1): divides by zero"), std::string::npos) << message;
  message = with([](ModelBuilder& b) {
    b.int64s("a", {2}, {4, 5});
    b.int64s("i", {}, {2});
    b.node("Gather", {"a", "i"}, "g");
  });
  EXPECT_NE(message.find("node 'g' (Gather, node 1): index 2 is out of range for [2]"), std::string::npos) << message;
  message = with([](ModelBuilder& b) {
    b.int64s("i", {}, {0});
    b.node("Gather", {"conv", "i"}, "g");
  });
  EXPECT_NE(message.find("Gather is imported only on constants (shape arithmetic, folded at import), but input 0 "
                         "('conv') is computed by the graph"),
            std::string::npos)
      << message;
  message = with([](ModelBuilder& b) {
    b.int64s("s", {1}, {1 << 30});
    b.node("ConstantOfShape", {"s"}, "big");
  });
  EXPECT_NE(message.find("computes a constant of shape [1073741824]"), std::string::npos) << message;
  message = with([](ModelBuilder& b) {
    b.int64s("a", {2}, {1, 2});
    b.int64s("b", {3}, {1, 2, 3});
    b.node("Add", {"a", "b"}, "sum");
  });
  EXPECT_NE(message.find("shapes [2] and [3] do not broadcast"), std::string::npos) << message;
  message = with([](ModelBuilder& b) {
    b.floats("f", {1}, {1.0f});
    b.node("Relu", {"f"}, "r");
  });
  EXPECT_NE(message.find("every input is a constant, but Footprint computes Relu only on values"), std::string::npos)
      << message;
  message = with([](ModelBuilder& b) {
    b.int64s("a", {2}, {1, 2});
    ModelBuilder::integer(b.node("Cast", {"a"}, "t"), "to", onnx::TensorProto::STRING);
    });
  EXPECT_NE(message.find("attribute to=8: Footprint casts constants to numbers only"), std::string::npos) << message;
}

}  // namespace
}  // namespace footprint
