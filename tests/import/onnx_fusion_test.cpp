// Fusions: Sigmoid(x) * x -> silu, HardSigmoid(x) * x with alpha 1/6 -> hardswish, GELU's erf
// decomposition -> gelu, and the LayerNorm decomposition torch.onnx writes at opset 13 ->
// layernorm. Each fused net's output equals the unfused one (the same model with an
// intermediate value made a graph output, which blocks the fusion) or values computed here.
#include <gtest/gtest.h>

#include <cmath>

#include "import/import_testing.hpp"

namespace footprint {
namespace {

using testing::expect_close;
using testing::import_built;
using testing::import_error;
using testing::ops_of;
using testing::random_values;
using testing::run_model;

constexpr int64_t C = 4, H = 3, W = 5;

ModelBuilder with_conv() {
  ModelBuilder b;
  b.input("x", {1, C, H, W});
  b.conv("x", "c", C, C, 3, 1, 1);
  return b;
}

std::vector<float> input_values() { return random_values(C * H * W, 23, 2.0f); }

std::vector<float> conv_output(const std::vector<float>& x) {
  ModelBuilder b = with_conv();
  b.output("c");
  OnnxModel m = import_built(b);
  return run_model(m, x);
}

// f(c) * c, with f's output also a graph output when `blocked` (so nothing fuses).
ModelBuilder times_input(const char* op, float alpha, bool blocked) {
  ModelBuilder b = with_conv();
  auto& f = b.node(op, {"c"}, "f");
  if (alpha != 0.0f) ModelBuilder::real(f, "alpha", alpha);
  b.node("Mul", {"f", "c"}, "y");
  b.output("y");
  if (blocked) b.output("f");
  return b;
}

TEST(OnnxFusion, SigmoidTimesInputIsSilu) {
  const std::vector<float> x = input_values();
  ModelBuilder fused_model = times_input("Sigmoid", 0.0f, false), plain_model = times_input("Sigmoid", 0.0f, true);
  OnnxModel fused = import_built(fused_model), plain = import_built(plain_model);
  EXPECT_EQ(ops_of(fused.net), (std::vector<std::string>{"conv", "silu"}));
  EXPECT_EQ(ops_of(plain.net), (std::vector<std::string>{"conv", "sigmoid", "mul"}));
  EXPECT_EQ(fused.net.nodes().back().spec.name, "y");  // named after the node whose output it is
  expect_close(run_model(fused, x), run_model(plain, x));
}

TEST(OnnxFusion, HardSigmoidTimesInputIsHardSwishOnlyWithPyTorchsAlpha) {
  const std::vector<float> x = input_values();
  ModelBuilder fused_model = times_input("HardSigmoid", 1.0f / 6.0f, false);
  ModelBuilder plain_model = times_input("HardSigmoid", 1.0f / 6.0f, true);
  OnnxModel fused = import_built(fused_model), plain = import_built(plain_model);
  EXPECT_EQ(ops_of(fused.net), (std::vector<std::string>{"conv", "hardswish"}));
  EXPECT_EQ(ops_of(plain.net), (std::vector<std::string>{"conv", "hardsigmoid", "mul"}));
  expect_close(run_model(fused, x), run_model(plain, x));
  // ONNX's default alpha 0.2 is another function: not fused.
  ModelBuilder other = times_input("HardSigmoid", 0.2f, false);
  EXPECT_EQ(ops_of(import_built(other).net), (std::vector<std::string>{"conv", "hardsigmoid", "mul"}));
}

// x * 0.5 * (1 + erf(x / sqrt(2))), as torch.onnx writes it (half_last) or with 0.5 * (1 + erf)
// first; `blocked_at` makes that value a graph output.
ModelBuilder gelu_model(bool half_last, const std::string& blocked_at = "") {
  ModelBuilder b = with_conv();
  b.scalar("sqrt2", std::sqrt(2.0f));
  b.node("Div", {"c", "sqrt2"}, "d");
  b.node("Erf", {"d"}, "e");
  b.scalar("one", 1.0f);
  b.node("Add", {"e", "one"}, "a");
  b.scalar("half", 0.5f);
  if (half_last) {
    b.node("Mul", {"c", "a"}, "m");
    b.node("Mul", {"m", "half"}, "y");
  } else {
    b.node("Mul", {"half", "a"}, "h");
    b.node("Mul", {"h", "c"}, "y");
  }
  b.output("y");
  if (!blocked_at.empty()) b.output(blocked_at);
  return b;
}

TEST(OnnxFusion, ErfDecompositionIsGelu) {
  const std::vector<float> x = input_values(), c = conv_output(x);
  std::vector<float> want(c.size());
  for (size_t i = 0; i < c.size(); ++i) want[i] = 0.5f * c[i] * (1.0f + std::erf(c[i] / std::sqrt(2.0f)));
  for (bool half_last : {true, false}) {
    ModelBuilder b = gelu_model(half_last);
    OnnxModel m = import_built(b);
    EXPECT_EQ(ops_of(m.net), (std::vector<std::string>{"conv", "gelu"})) << "half_last " << half_last;
    expect_close(run_model(m, x), want);
  }
  // An intermediate value read elsewhere: no fusion, and Erf alone is refused by name.
  ModelBuilder blocked = gelu_model(true, "a");
  const std::string message = import_error(blocked);
  EXPECT_NE(message.find("node 'e' (Erf"), std::string::npos) << message;
  EXPECT_NE(message.find("Erf is imported only as part of GELU"), std::string::npos) << message;
}

// LayerNorm over `axis` as torch.onnx writes it: ReduceMean, Sub, Pow, ReduceMean, Add, Sqrt, Div,
// then Mul by gamma and Add of beta (when given).
void layernorm_decomposed(ModelBuilder& b, const std::string& x, const std::string& out, int64_t axis,
                          const std::string& gamma, const std::string& beta) {
  ModelBuilder::ints(b.node("ReduceMean", {x}, out + "_mean"), "axes", {axis});
  b.node("Sub", {x, out + "_mean"}, out + "_d");
  b.scalar(out + "_two", 2.0f);
  b.node("Pow", {out + "_d", out + "_two"}, out + "_sq");
  ModelBuilder::ints(b.node("ReduceMean", {out + "_sq"}, out + "_var"), "axes", {axis});
  b.scalar(out + "_eps", 1e-6f);
  b.node("Add", {out + "_var", out + "_eps"}, out + "_ve");
  b.node("Sqrt", {out + "_ve"}, out + "_std");
  const std::string normed = gamma.empty() ? out : out + "_n";
  b.node("Div", {out + "_d", out + "_std"}, normed);
  if (gamma.empty()) return;
  const std::string scaled = beta.empty() ? out : out + "_g";
  b.node("Mul", {normed, gamma}, scaled);
  if (!beta.empty()) b.node("Add", {scaled, beta}, out);
}

// Per position, the channels normalised (biased variance, eps 1e-6) and scaled.
std::vector<float> layernorm_of(const std::vector<float>& c, const std::vector<float>& gamma, const std::vector<float>& beta) {
  std::vector<float> out(c.size());
  for (int64_t p = 0; p < H * W; ++p) {
    double mean = 0, var = 0;
    for (int64_t k = 0; k < C; ++k) mean += c[k * H * W + p] / C;
    for (int64_t k = 0; k < C; ++k) var += (c[k * H * W + p] - mean) * (c[k * H * W + p] - mean) / C;
    for (int64_t k = 0; k < C; ++k) {
      out[k * H * W + p] = static_cast<float>((c[k * H * W + p] - mean) / std::sqrt(var + 1e-6) * gamma[k] + beta[k]);
    }
  }
  return out;
}

TEST(OnnxFusion, LayerNormDecompositionOverTheChannels) {
  const std::vector<float> x = input_values(), c = conv_output(x);
  const std::vector<float> gamma = {1.0f, -2.0f, 0.5f, 3.0f}, beta = {0.0f, 1.0f, -1.0f, 0.25f};
  {  // channels-last, as ConvNeXt's LayerNorm2d: Transpose, over axis -1, Transpose back
    ModelBuilder b = with_conv();
    ModelBuilder::ints(b.node("Transpose", {"c"}, "t"), "perm", {0, 2, 3, 1});
    b.floats("gamma", {C}, gamma);
    b.floats("beta", {C}, beta);
    layernorm_decomposed(b, "t", "ln", -1, "gamma", "beta");
    ModelBuilder::ints(b.node("Transpose", {"ln"}, "y"), "perm", {0, 3, 1, 2});
    b.output("y");
    OnnxModel m = import_built(b);
    EXPECT_EQ(ops_of(m.net), (std::vector<std::string>{"conv", "layernorm"}));
    EXPECT_EQ(m.net.nodes().back().spec.attrs.at("eps"), "9.99999997e-07");
    expect_close(run_model(m, x), layernorm_of(c, gamma, beta), 1e-4f);
  }
  {  // NCHW, over axis 1, gamma and beta [C, 1, 1]
    ModelBuilder b = with_conv();
    b.floats("gamma", {C, 1, 1}, gamma);
    b.floats("beta", {C, 1, 1}, beta);
    layernorm_decomposed(b, "c", "y", 1, "gamma", "beta");
    b.output("y");
    OnnxModel m = import_built(b);
    EXPECT_EQ(ops_of(m.net), (std::vector<std::string>{"conv", "layernorm"}));
    expect_close(run_model(m, x), layernorm_of(c, gamma, beta), 1e-4f);
  }
  {  // without gamma and beta
    ModelBuilder b = with_conv();
    layernorm_decomposed(b, "c", "y", 1, "", "");
    b.output("y");
    OnnxModel m = import_built(b);
    EXPECT_EQ(ops_of(m.net), (std::vector<std::string>{"conv", "layernorm"}));
    expect_close(run_model(m, x), layernorm_of(c, std::vector<float>(C, 1.0f), std::vector<float>(C, 0.0f)), 1e-4f);
  }
}

TEST(OnnxFusion, LayerNormDecompositionElsewhereIsRefusedByName) {
  {  // over H: not a layernorm
    ModelBuilder b = with_conv();
    layernorm_decomposed(b, "c", "y", 2, "", "");
    b.output("y");
    const std::string message = import_error(b);
    EXPECT_NE(message.find("node 'y_mean' (ReduceMean"), std::string::npos) << message;
    EXPECT_NE(message.find("the mean over the channels only inside a LayerNorm"), std::string::npos) << message;
  }
  {  // the centred value read elsewhere
    ModelBuilder b = with_conv();
    layernorm_decomposed(b, "c", "y", 1, "", "");
    b.output("y");
    b.output("y_d");
    const std::string message = import_error(b);
    EXPECT_NE(message.find("node 'y_mean' (ReduceMean"), std::string::npos) << message;
  }
}

// A ConvNeXt block: depthwise conv, LayerNorm over the channels of the channels-last view, two
// Linear layers (MatMul + Add) around a GELU, back to NCHW, a layer scale and the residual. The
// layer scale folds into the second Linear's conv; nothing else is left of the 20-odd nodes.
TEST(OnnxFusion, ConvNextBlockIsSixLayers) {
  ModelBuilder b = with_conv();
  b.conv("c", "dw", C, C, 7, 3, 7, 1, /*group=*/C);
  ModelBuilder::ints(b.node("Transpose", {"dw"}, "t"), "perm", {0, 2, 3, 1});
  b.weight("gamma", {C}, 2);
  b.weight("beta", {C}, 3);
  layernorm_decomposed(b, "t", "ln", -1, "gamma", "beta");
  b.weight("w1", {C, 4 * C}, 4);
  b.weight("b1", {4 * C}, 5);
  b.node("MatMul", {"ln", "w1"}, "mm1");
  b.node("Add", {"b1", "mm1"}, "lin1");
  b.scalar("sqrt2", std::sqrt(2.0f));
  b.node("Div", {"lin1", "sqrt2"}, "gd");
  b.node("Erf", {"gd"}, "ge");
  b.scalar("one", 1.0f);
  b.node("Add", {"ge", "one"}, "ga");
  b.node("Mul", {"lin1", "ga"}, "gm");
  b.scalar("half", 0.5f);
  b.node("Mul", {"gm", "half"}, "gelu");
  b.weight("w2", {4 * C, C}, 6);
  b.weight("b2", {C}, 7);
  b.node("MatMul", {"gelu", "w2"}, "mm2");
  b.node("Add", {"b2", "mm2"}, "lin2");
  ModelBuilder::ints(b.node("Transpose", {"lin2"}, "back"), "perm", {0, 3, 1, 2});
  b.weight("layer_scale", {C, 1, 1}, 8);
  b.node("Mul", {"layer_scale", "back"}, "scaled");
  b.node("Add", {"scaled", "c"}, "y");
  b.output("y");
  OnnxModel m = import_built(b);
  EXPECT_EQ(ops_of(m.net), (std::vector<std::string>{"conv", "conv", "layernorm", "conv", "gelu", "conv", "add"}));
  const std::vector<float> y = run_model(m, input_values());
  for (float v : y) ASSERT_TRUE(std::isfinite(v));
}

}  // namespace
}  // namespace footprint
