// Each op the importer maps onto the newer layers: Clip, HardSigmoid, HardSwish, Mul, Sub and Div
// (of two values, and of a value and a constant: folded into the conv before it or an affine
// layer), ReduceMean over H and W, Transpose views with LayerNormalization and MatMul over the
// channels, the channel shuffle, Slice and Split, Pad (and its fold into AveragePool), Resize and
// Upsample, ConvTranspose. Each imported net's output is checked against values computed here.
#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>

#include "import/import_testing.hpp"

namespace footprint {
namespace {

using testing::expect_close;
using testing::import_built;
using testing::ops_of;
using testing::random_values;
using testing::run_model;
using testing::run_with;

constexpr int64_t C = 4, H = 5, W = 6;

// x [1, 4, 5, 6] -> conv 'c' (3x3, pad 1): the value the cases read.
ModelBuilder with_conv(int opset = 13) {
  ModelBuilder b(opset);
  b.input("x", {1, C, H, W});
  b.conv("x", "c", C, C, 3, 1, 1);
  return b;
}

std::vector<float> input_values(int64_t n = C * H * W) { return random_values(n, 17, 2.0f); }

// The conv's output alone: the reference each case transforms by hand.
std::vector<float> conv_output(const std::vector<float>& x) {
  ModelBuilder b = with_conv();
  b.output("c");
  OnnxModel m = import_built(b);
  return run_model(m, x);
}

std::vector<float> map(const std::vector<float>& v, float (*f)(float)) {
  std::vector<float> out(v.size());
  for (size_t i = 0; i < v.size(); ++i) out[i] = f(v[i]);
  return out;
}

const LayerSpec& last_spec(const OnnxModel& m) { return m.net.nodes().back().spec; }

TEST(OnnxOps, ClipFromInputsAndAttributes) {
  const std::vector<float> x = input_values(), c = conv_output(x);
  {
    ModelBuilder b = with_conv();
    b.floats("lo", {}, {-0.5f});
    b.floats("hi", {}, {0.25f});
    b.node("Clip", {"c", "lo", "hi"}, "y");
    b.output("y");
    OnnxModel m = import_built(b);
    EXPECT_EQ(last_spec(m).op, "clip");
    expect_close(run_model(m, x), map(c, [](float v) { return std::clamp(v, -0.5f, 0.25f); }));
  }
  {  // no max: unbounded above
    ModelBuilder b = with_conv();
    b.floats("lo", {}, {0.0f});
    b.node("Clip", {"c", "lo"}, "y");
    b.output("y");
    OnnxModel m = import_built(b);
    expect_close(run_model(m, x), map(c, [](float v) { return std::max(v, 0.0f); }));
  }
  {  // opset 6: attributes
    ModelBuilder b = with_conv(6);
    auto& n = b.node("Clip", {"c"}, "y");
    ModelBuilder::real(n, "min", -1.0f);
    ModelBuilder::real(n, "max", 1.0f);
    b.output("y");
    OnnxModel m = import_built(b);
    expect_close(run_model(m, x), map(c, [](float v) { return std::clamp(v, -1.0f, 1.0f); }));
  }
}

TEST(OnnxOps, HardSigmoidAndHardSwish) {
  const std::vector<float> x = input_values(), c = conv_output(x);
  {
    ModelBuilder b = with_conv();
    auto& n = b.node("HardSigmoid", {"c"}, "y");
    ModelBuilder::real(n, "alpha", 0.3f);
    ModelBuilder::real(n, "beta", 0.4f);
    b.output("y");
    OnnxModel m = import_built(b);
    EXPECT_EQ(last_spec(m).op, "hardsigmoid");
    expect_close(run_model(m, x), map(c, [](float v) { return std::clamp(0.3f * v + 0.4f, 0.0f, 1.0f); }));
  }
  {
    ModelBuilder b = with_conv(14);
    b.node("HardSwish", {"c"}, "y");
    b.output("y");
    OnnxModel m = import_built(b);
    EXPECT_EQ(last_spec(m).op, "hardswish");
    expect_close(run_model(m, x), map(c, [](float v) { return v * std::clamp(v + 3.0f, 0.0f, 6.0f) / 6.0f; }));
  }
}

// Squeeze-and-excitation: a global average pool, two 1x1 convs, a sigmoid, and the [N, C, 1, 1]
// scale multiplied into [N, C, H, W].
TEST(OnnxOps, SqueezeExcitationMultipliesBroadcast) {
  ModelBuilder b = with_conv();
  b.node("Relu", {"c"}, "r");
  b.node("GlobalAveragePool", {"r"}, "pool");
  b.conv("pool", "squeeze", C, 2, 1, 0, 3);
  b.node("Relu", {"squeeze"}, "squeeze_relu");
  b.conv("squeeze_relu", "excite", 2, C, 1, 0, 5);
  b.node("Sigmoid", {"excite"}, "scale");
  b.node("Mul", {"r", "scale"}, "y");
  b.output("y");
  OnnxModel m = import_built(b);
  EXPECT_EQ(ops_of(m.net), (std::vector<std::string>{"conv", "relu", "globalavgpool", "conv", "relu", "conv", "sigmoid", "mul"}));
  Net ref(Shape{C, H, W});
  ref << conv(C, {.k = 3, .pad = 1}) << relu("r") << globalavgpool() << conv(2, {.k = 1}) << relu() << conv(C, {.k = 1})
      << sigmoid("s") << layer("mul").from({"r", "s"});
  const std::vector<float> x = input_values();
  expect_close(run_model(m, x), run_with(ref, m.weights.tensors, x));
}

TEST(OnnxOps, SubAndDivOfTwoValues) {
  const std::vector<float> x = input_values(), c = conv_output(x);
  for (const char* op : {"Sub", "Div"}) {
    ModelBuilder b = with_conv();
    b.node("Sigmoid", {"c"}, "s");
    b.node(op, {"c", "s"}, "y");
    b.output("y");
    OnnxModel m = import_built(b);
    EXPECT_EQ(last_spec(m).op, std::string(op) == "Sub" ? "sub" : "div");
    std::vector<float> want(c.size());
    for (size_t i = 0; i < c.size(); ++i) {
      const float s = 1.0f / (1.0f + std::exp(-c[i]));
      want[i] = std::string(op) == "Sub" ? c[i] - s : c[i] / s;
    }
    expect_close(run_model(m, x), want);
  }
}

// A constant per channel (or a scalar) folds into the conv that writes the value when nothing
// else reads it; otherwise it becomes an affine layer.
TEST(OnnxOps, ConstantArithmeticFoldsOrBecomesAffine) {
  const std::vector<float> x = input_values(), c = conv_output(x);
  const std::vector<float> scale = {0.5f, -2.0f, 3.0f, 0.25f}, shift = {1.0f, 2.0f, -3.0f, 0.5f};
  auto per_channel = [&](auto f) {
    std::vector<float> want(c.size());
    for (size_t i = 0; i < c.size(); ++i) want[i] = f(c[i], i / (H * W));
    return want;
  };
  {  // (conv * s + t - 1) / 2, then 3 - that: all folded into the conv
    ModelBuilder b = with_conv();
    b.floats("s", {C, 1, 1}, scale);
    b.floats("t", {C}, shift);
    b.floats("one", {}, {1.0f});
    b.floats("two", {1, 1, 1}, {2.0f});
    b.floats("three", {}, {3.0f});
    b.node("Mul", {"s", "c"}, "m");
    ModelBuilder::ints(b.node("Transpose", {"m"}, "m_nhwc"), "perm", {0, 2, 3, 1});
    b.node("Add", {"m_nhwc", "t"}, "a_nhwc");  // [C] broadcasts over the last axis: the channels
    ModelBuilder::ints(b.node("Transpose", {"a_nhwc"}, "a"), "perm", {0, 3, 1, 2});
    b.node("Sub", {"a", "one"}, "d");
    b.node("Div", {"d", "two"}, "q");
    b.node("Sub", {"three", "q"}, "y");
    b.output("y");
    OnnxModel m = import_built(b);
    EXPECT_EQ(ops_of(m.net), (std::vector<std::string>{"conv"})) << m.net.to_text();
    expect_close(run_model(m, x), per_channel([&](float v, int64_t k) { return 3.0f - (v * scale[k] + shift[k] - 1.0f) / 2.0f; }));
  }
  {  // the conv's output is also read by a Relu: the Mul cannot change the conv, so it is an affine layer
    ModelBuilder b = with_conv();
    b.floats("s", {1, C, 1, 1}, scale);
    b.node("Mul", {"c", "s"}, "m");
    b.node("Relu", {"c"}, "r");
    b.node("Add", {"m", "r"}, "y");
    b.output("y");
    OnnxModel m = import_built(b);
    EXPECT_EQ(ops_of(m.net), (std::vector<std::string>{"conv", "affine", "relu", "add"}));
    expect_close(run_model(m, x), per_channel([&](float v, int64_t k) { return v * scale[k] + std::max(v, 0.0f); }));
  }
  {  // on the graph input: an affine layer, folding the Sub into the Div after it
    ModelBuilder b;
    b.input("x", {1, C, H, W});
    b.floats("mean", {1, C, 1, 1}, shift);
    b.floats("std", {1, C, 1, 1}, {2.0f, 4.0f, 0.5f, 1.0f});
    b.node("Sub", {"x", "mean"}, "centred");
    b.node("Div", {"centred", "std"}, "y");
    b.output("y");
    OnnxModel m = import_built(b);
    EXPECT_EQ(ops_of(m.net), (std::vector<std::string>{"affine"}));
    const float std_dev[] = {2.0f, 4.0f, 0.5f, 1.0f};
    std::vector<float> want(x.size());
    for (size_t i = 0; i < x.size(); ++i) want[i] = (x[i] - shift[i / (H * W)]) / std_dev[i / (H * W)];
    expect_close(run_model(m, x), want);
  }
}

TEST(OnnxOps, ReduceMeanOverHeightAndWidth) {
  const std::vector<float> x = input_values(), c = conv_output(x);
  std::vector<float> mean(C, 0.0f);
  for (size_t i = 0; i < c.size(); ++i) mean[i / (H * W)] += c[i] / (H * W);
  for (int keep : {0, 1}) {
    ModelBuilder b = with_conv();
    auto& n = b.node("ReduceMean", {"c"}, "m");
    ModelBuilder::ints(n, "axes", {-1, 2});
    ModelBuilder::integer(n, "keepdims", keep);
    if (keep) b.node("Flatten", {"m"}, "flat");  // [N, C, 1, 1] -> [N, C]: nothing moves
    b.weight("fc.W", {3, C}, 4);
    ModelBuilder::integer(b.node("Gemm", {keep ? "flat" : "m", "fc.W"}, "y"), "transB", 1);
    b.output("m");
    b.output("y");
    OnnxModel m = import_built(b);
    EXPECT_EQ(ops_of(m.net), (std::vector<std::string>{"conv", "globalavgpool", "fc"})) << "keepdims " << keep;
    expect_close(run_model(m, x, 1, 0), mean);
  }
}

// LayerNormalization (opset 17) over the channels of a channels-last view, and MatMul over them.
TEST(OnnxOps, ChannelsLastLayerNormAndMatMul) {
  const std::vector<float> x = input_values(), c = conv_output(x);
  ModelBuilder b = with_conv(17);
  ModelBuilder::ints(b.node("Transpose", {"c"}, "t"), "perm", {0, 2, 3, 1});
  const std::vector<float> gamma = {1.0f, 2.0f, 0.5f, -1.0f}, beta = {0.1f, 0.2f, 0.3f, 0.4f};
  b.floats("gamma", {C}, gamma);
  b.floats("beta", {C}, beta);
  ModelBuilder::real(b.node("LayerNormalization", {"t", "gamma", "beta"}, "ln"), "epsilon", 1e-3f);
  const int64_t D = 3;
  const std::vector<float> weight = random_values(C * D, 5), bias = {0.5f, -0.5f, 1.0f};
  b.floats("w", {C, D}, weight);
  b.floats("bias", {D}, bias);
  b.node("MatMul", {"ln", "w"}, "mm");
  b.node("Add", {"bias", "mm"}, "lin");
  ModelBuilder::ints(b.node("Transpose", {"lin"}, "y"), "perm", {0, 3, 1, 2});
  b.output("y");
  OnnxModel m = import_built(b);
  EXPECT_EQ(ops_of(m.net), (std::vector<std::string>{"conv", "layernorm", "conv"}));
  std::vector<float> want(D * H * W);
  for (int64_t p = 0; p < H * W; ++p) {
    float mean = 0, var = 0;
    for (int64_t k = 0; k < C; ++k) mean += c[k * H * W + p] / C;
    for (int64_t k = 0; k < C; ++k) var += (c[k * H * W + p] - mean) * (c[k * H * W + p] - mean) / C;
    for (int64_t d = 0; d < D; ++d) {
      float sum = bias[d];
      for (int64_t k = 0; k < C; ++k) {
        const float n = (c[k * H * W + p] - mean) / std::sqrt(var + 1e-3f) * gamma[k] + beta[k];
        sum += n * weight[k * D + d];
      }
      want[d * H * W + p] = sum;
    }
  }
  expect_close(run_model(m, x), want, 1e-4f);
}

// ShuffleNet's channel shuffle: Reshape to [N, G, C/G, H, W], Transpose(0, 2, 1, 3, 4), Reshape
// back; and its channel split (a Slice of half the channels).
TEST(OnnxOps, ChannelShuffleAndSplit) {
  const std::vector<float> x = input_values(), c = conv_output(x);
  ModelBuilder b = with_conv();
  b.int64s("grouped", {5}, {1, 2, C / 2, H, W});
  b.node("Reshape", {"c", "grouped"}, "g");
  ModelBuilder::ints(b.node("Transpose", {"g"}, "gt"), "perm", {0, 2, 1, 3, 4});
  b.int64s("back", {4}, {1, -1, H, W});
  b.node("Reshape", {"gt", "back"}, "shuffled");
  b.int64s("start", {1}, {C / 2});
  b.int64s("end", {1}, {INT64_MAX});
  b.int64s("axis", {1}, {1});
  b.node("Slice", {"shuffled", "start", "end", "axis"}, "second_half");
  b.int64s("sizes", {2}, {1, 3});
  auto& split = b.node("Split", {"shuffled", "sizes"}, "s0");
  split.add_output("s1");
  ModelBuilder::integer(split, "axis", 1);
  b.output("shuffled");
  b.output("second_half");
  b.output("s1");
  OnnxModel m = import_built(b);
  EXPECT_EQ(ops_of(m.net), (std::vector<std::string>{"conv", "shuffle", "slice", "slice"})) << m.net.to_text();
  EXPECT_EQ(m.net.node(1).spec.attrs.at("groups"), "2");
  std::vector<float> shuffled(c.size());
  for (int64_t j = 0; j < C / 2; ++j)
    for (int64_t i = 0; i < 2; ++i)
      for (int64_t p = 0; p < H * W; ++p) shuffled[(j * 2 + i) * H * W + p] = c[(i * (C / 2) + j) * H * W + p];
  expect_close(run_model(m, x, 1, 0), shuffled);
  expect_close(run_model(m, x, 1, 1), std::vector<float>(shuffled.begin() + 2 * H * W, shuffled.end()));
  expect_close(run_model(m, x, 1, 2), std::vector<float>(shuffled.begin() + H * W, shuffled.end()));
}

TEST(OnnxOps, SliceOfHeightAndWidth) {
  const std::vector<float> x = input_values(), c = conv_output(x);
  ModelBuilder b = with_conv();
  b.int64s("start", {2}, {1, -3});
  b.int64s("end", {2}, {4, 1000});
  b.int64s("axes", {2}, {2, 0});  // axis 0 taken whole
  b.node("Slice", {"c", "start", "end", "axes"}, "rows");
  b.int64s("w_start", {1}, {-2});
  b.int64s("w_end", {1}, {W});
  b.int64s("w_axis", {1}, {-1});
  b.node("Slice", {"rows", "w_start", "w_end", "w_axis"}, "y");
  b.output("y");
  OnnxModel m = import_built(b);
  EXPECT_EQ(ops_of(m.net), (std::vector<std::string>{"conv", "slice", "slice"}));
  std::vector<float> want;
  for (int64_t k = 0; k < C; ++k)
    for (int64_t h = 1; h < 4; ++h)
      for (int64_t w = W - 2; w < W; ++w) want.push_back(c[(k * H + h) * W + w]);
  expect_close(run_model(m, x), want);
}

// A zero Pad read only by an AveragePool becomes its padding (counted, as ONNX counts it); all-zero
// pads are nothing; a reflect Pad is a pad layer.
TEST(OnnxOps, PadFoldsIntoAveragePool) {
  const std::vector<float> x = input_values(), c = conv_output(x);
  {
    ModelBuilder b = with_conv();
    b.int64s("pads", {8}, {0, 0, 1, 1, 0, 0, 1, 1});
    b.node("Pad", {"c", "pads"}, "padded");
    auto& pool = b.node("AveragePool", {"padded"}, "y");
    ModelBuilder::ints(pool, "kernel_shape", {3, 3});
    ModelBuilder::ints(pool, "strides", {1, 1});
    b.output("y");
    OnnxModel m = import_built(b);
    EXPECT_EQ(ops_of(m.net), (std::vector<std::string>{"conv", "avgpool"}));
    EXPECT_EQ(last_spec(m).attrs.at("count_include_pad"), "true");
    std::vector<float> want(c.size());
    for (int64_t k = 0; k < C; ++k)
      for (int64_t h = 0; h < H; ++h)
        for (int64_t w = 0; w < W; ++w) {
          float sum = 0;
          for (int64_t dh = -1; dh <= 1; ++dh)
            for (int64_t dw = -1; dw <= 1; ++dw) {
              const int64_t hh = h + dh, ww = w + dw;
              if (hh >= 0 && hh < H && ww >= 0 && ww < W) sum += c[(k * H + hh) * W + ww];
            }
          want[(k * H + h) * W + w] = sum / 9.0f;
        }
    expect_close(run_model(m, x), want);
  }
  {  // all zeros: the same value; reflect: a pad layer
    ModelBuilder b = with_conv();
    b.int64s("zeros", {8}, {0, 0, 0, 0, 0, 0, 0, 0});
    b.node("Pad", {"c", "zeros"}, "same");
    b.int64s("pads", {8}, {0, 0, 1, 0, 0, 0, 0, 2});
    ModelBuilder::text(b.node("Pad", {"same", "pads"}, "y"), "mode", "reflect");
    b.output("y");
    OnnxModel m = import_built(b);
    EXPECT_EQ(ops_of(m.net), (std::vector<std::string>{"conv", "pad"}));
    std::vector<float> want;
    for (int64_t k = 0; k < C; ++k)
      for (int64_t h = -1; h < H; ++h)
        for (int64_t w = 0; w < W + 2; ++w) {
          const int64_t hh = h < 0 ? -h : h, ww = w >= W ? 2 * (W - 1) - w : w;
          want.push_back(c[(k * H + hh) * W + ww]);
        }
    expect_close(run_model(m, x), want);
  }
}

TEST(OnnxOps, ResizeAndUpsample) {
  const std::vector<float> x = input_values(), c = conv_output(x);
  auto nearest = [&](int64_t scale) {
    std::vector<float> want;
    for (int64_t k = 0; k < C; ++k)
      for (int64_t h = 0; h < H * scale; ++h)
        for (int64_t w = 0; w < W * scale; ++w) want.push_back(c[(k * H + h / scale) * W + w / scale]);
    return want;
  };
  {  // PyTorch's nearest at opset 13: asymmetric coordinates, floor
    ModelBuilder b = with_conv();
    b.floats("scales", {4}, {1, 1, 2, 2});
    auto& n = b.node("Resize", {"c", "", "scales"}, "y");
    ModelBuilder::text(n, "coordinate_transformation_mode", "asymmetric");
    ModelBuilder::text(n, "mode", "nearest");
    ModelBuilder::text(n, "nearest_mode", "floor");
    b.output("y");
    OnnxModel m = import_built(b);
    EXPECT_EQ(last_spec(m).op, "upsample");
    EXPECT_EQ(last_spec(m).attrs.at("scale"), "2");
    expect_close(run_model(m, x), nearest(2));
  }
  {  // Upsample (opset 9)
    ModelBuilder b = with_conv(9);
    b.floats("scales", {4}, {1, 1, 3, 3});
    b.node("Upsample", {"c", "scales"}, "y");
    b.output("y");
    OnnxModel m = import_built(b);
    expect_close(run_model(m, x), nearest(3));
  }
  {  // bilinear, half-pixel, to given sizes
    ModelBuilder b = with_conv();
    b.int64s("sizes", {4}, {1, C, 2 * H, 2 * W});
    auto& n = b.node("Resize", {"c", "", "", "sizes"}, "y");
    ModelBuilder::text(n, "mode", "linear");
    b.output("y");
    OnnxModel m = import_built(b);
    EXPECT_EQ(last_spec(m).attrs.at("mode"), "bilinear");
    std::vector<float> want;
    auto tap = [](int64_t o, int64_t in) {
      const float src = std::max((static_cast<float>(o) + 0.5f) / 2.0f - 0.5f, 0.0f);
      const int64_t i0 = std::min<int64_t>(static_cast<int64_t>(src), in - 1);
      return std::tuple(i0, std::min(i0 + 1, in - 1), src - static_cast<float>(i0));
    };
    for (int64_t k = 0; k < C; ++k)
      for (int64_t h = 0; h < 2 * H; ++h)
        for (int64_t w = 0; w < 2 * W; ++w) {
          const auto [h0, h1, fh] = tap(h, H);
          const auto [w0, w1, fw] = tap(w, W);
          auto at = [&](int64_t hh, int64_t ww) { return c[(k * H + hh) * W + ww]; };
          want.push_back((1 - fh) * ((1 - fw) * at(h0, w0) + fw * at(h0, w1)) + fh * ((1 - fw) * at(h1, w0) + fw * at(h1, w1)));
        }
    expect_close(run_model(m, x), want);
  }
}

TEST(OnnxOps, ConvTranspose) {
  const std::vector<float> x = input_values(), c = conv_output(x);
  const int64_t out_c = 2, k = 3, stride = 2, pad = 1, output_pad = 1;
  ModelBuilder b = with_conv();
  const std::vector<float> weight = random_values(C * out_c * k * k, 8, 0.3f), bias = {0.25f, -0.5f};
  b.floats("w", {C, out_c, k, k}, weight);
  b.floats("bias", {out_c}, bias);
  auto& n = b.node("ConvTranspose", {"c", "w", "bias"}, "y");
  ModelBuilder::ints(n, "strides", {stride, stride});
  ModelBuilder::ints(n, "pads", {pad, pad, pad, pad});
  ModelBuilder::ints(n, "output_padding", {output_pad, output_pad});
  b.output("y");
  OnnxModel m = import_built(b);
  EXPECT_EQ(last_spec(m).op, "convtranspose");
  const int64_t oh = (H - 1) * stride - 2 * pad + k + output_pad, ow = (W - 1) * stride - 2 * pad + k + output_pad;
  EXPECT_EQ(m.net.output_shape(), (Shape{out_c, oh, ow}));
  std::vector<float> want(out_c * oh * ow);
  for (int64_t o = 0; o < out_c; ++o)
    for (int64_t p = 0; p < oh * ow; ++p) want[o * oh * ow + p] = bias[o];
  for (int64_t i = 0; i < C; ++i)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t w = 0; w < W; ++w)
        for (int64_t o = 0; o < out_c; ++o)
          for (int64_t kh = 0; kh < k; ++kh)
            for (int64_t kw = 0; kw < k; ++kw) {
              const int64_t y = h * stride - pad + kh, z = w * stride - pad + kw;
              if (y < 0 || y >= oh || z < 0 || z >= ow) continue;
              want[(o * oh + y) * ow + z] += c[(i * H + h) * W + w] * weight[((i * out_c + o) * k + kh) * k + kw];
            }
  expect_close(run_model(m, x), want, 1e-4f);
}

}  // namespace
}  // namespace footprint
