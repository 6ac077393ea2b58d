// Every refusal of the importer names the node, the op and what is wrong, and says what is
// supported. One case per refusal path: a small model whose node 'bad' breaks one rule.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>

#include "import/import_testing.hpp"

namespace footprint {
namespace {

using testing::import_error;

struct RefusalCase {
  const char* name;
  std::function<void(ModelBuilder&)> build;  // adds nodes after the base model; 'bad' is the output
  std::vector<std::string> expect;           // substrings of the message
  int opset = 13;
};

// x [1, 4, 6, 6] -> conv 'c' (4 -> 4, 1x1): a value with a producer for the cases to read.
void base(ModelBuilder& b) {
  b.input("x", {1, 4, 6, 6});
  b.conv("x", "c", 4, 4, 1, 0, 1);
}

onnx::NodeProto& node(ModelBuilder& b, const std::string& op, std::vector<std::string> inputs) {
  return b.node(op, std::move(inputs), "bad");
}

void transpose_to_nhwc(ModelBuilder& b, const std::string& in, const std::string& out) {
  ModelBuilder::ints(b.node("Transpose", {in}, out), "perm", {0, 2, 3, 1});
}

const std::vector<RefusalCase>& cases() {
  using B = ModelBuilder;
  static const std::vector<RefusalCase> all = {
      // --- Conv ---
      {"conv 1-D", [](B& b) {
         b.input("x", {1, 4, 6});
         b.weight("w", {4, 4, 3}, 1);
         node(b, "Conv", {"x", "w"});
       }, {"(Conv", "input has rank 3; only 2-D convolutions over [N, C, H, W] are supported"}},
      {"conv W rank", [](B& b) { base(b); b.weight("w", {4, 4, 3}, 1); node(b, "Conv", {"c", "w"}); },
       {"W has shape [4, 4, 3]; expected [M, C/group, kH, kW]"}},
      {"conv groups", [](B& b) { base(b); b.weight("w", {4, 1, 1, 1}, 1); B::integer(node(b, "Conv", {"c", "w"}), "group", 3); },
       {"W has shape [4, 1, 1, 1], but the input has 4 channels in 3 group(s)"}},
      {"conv group 0", [](B& b) { base(b); b.weight("w", {4, 4, 1, 1}, 1); B::integer(node(b, "Conv", {"c", "w"}), "group", 0); },
       {"attribute group=0: expected 1 to the input channels"}},
      {"conv kernel_shape", [](B& b) { base(b); b.weight("w", {4, 4, 1, 1}, 1); B::ints(node(b, "Conv", {"c", "w"}), "kernel_shape", {3, 3}); },
       {"attribute kernel_shape=[3, 3]: disagrees with the weights [1, 1]"}},
      {"conv pads", [](B& b) { base(b); b.weight("w", {4, 4, 1, 1}, 1); B::ints(node(b, "Conv", {"c", "w"}), "pads", {1, 1}); },
       {"attribute pads=[1, 1]: expected 4 values >= 0 (top, left, bottom, right)"}},
      {"conv auto_pad", [](B& b) { base(b); b.weight("w", {4, 4, 1, 1}, 1); B::text(node(b, "Conv", {"c", "w"}), "auto_pad", "FOO"); },
       {"attribute auto_pad=FOO: expected NOTSET, SAME_UPPER, SAME_LOWER or VALID"}},
      {"conv strides", [](B& b) { base(b); b.weight("w", {4, 4, 1, 1}, 1); B::ints(node(b, "Conv", {"c", "w"}), "strides", {0, 1}); },
       {"attribute strides=[0, 1]: expected two positive values (2-D)"}},
      {"conv computed W", [](B& b) { base(b); node(b, "Conv", {"c", "c"}); },
       {"input 1 (W, 'c') must be an initializer or a Constant"}},
      {"conv bias shape", [](B& b) { base(b); b.weight("w", {4, 4, 1, 1}, 1); b.weight("bias", {3}, 2); node(b, "Conv", {"c", "w", "bias"}); },
       {"B has shape [3]; expected [4]"}},
      {"conv missing W", [](B& b) { base(b); node(b, "Conv", {"c"}); }, {"input 1 is missing"}},
      {"conv attribute type", [](B& b) { base(b); b.weight("w", {4, 4, 1, 1}, 1); B::real(node(b, "Conv", {"c", "w"}), "group", 1.0f); },
       {"attribute group has type FLOAT, expected INT"}},
      {"conv unknown attribute", [](B& b) { base(b); b.weight("w", {4, 4, 1, 1}, 1); B::integer(node(b, "Conv", {"c", "w"}), "frobnicate", 1); },
       {"attribute 'frobnicate' is not supported; supported: "}},
      // --- ConvTranspose ---
      {"convtranspose channels", [](B& b) { base(b); b.weight("w", {3, 4, 3, 3}, 1); node(b, "ConvTranspose", {"c", "w"}); },
       {"(ConvTranspose", "W has shape [3, 4, 3, 3], but the input has 4 channels"}},
      {"convtranspose group", [](B& b) { base(b); b.weight("w", {4, 4, 3, 3}, 1); B::integer(node(b, "ConvTranspose", {"c", "w"}), "group", 3); },
       {"attribute group=3: expected a divisor of the input channels"}},
      {"convtranspose output_padding", [](B& b) { base(b); b.weight("w", {4, 4, 3, 3}, 1); B::ints(node(b, "ConvTranspose", {"c", "w"}), "output_padding", {1}); },
       {"attribute output_padding=[1]: expected two values >= 0 (2-D)"}},
      {"convtranspose output_shape", [](B& b) { base(b); b.weight("w", {4, 4, 3, 3}, 1); B::ints(node(b, "ConvTranspose", {"c", "w"}), "output_shape", {5}); },
       {"attribute output_shape=[5]: expected the output's H and W"}},
      // --- pools ---
      {"maxpool dilations", [](B& b) {
         base(b);
         auto& n = node(b, "MaxPool", {"c"});
         B::ints(n, "kernel_shape", {2, 2});
         B::ints(n, "dilations", {2, 2});
       }, {"(MaxPool", "attribute dilations=[2, 2]: dilated pooling is not supported"}},
      {"avgpool 3-D", [](B& b) { base(b); B::ints(node(b, "AveragePool", {"c"}), "kernel_shape", {2, 2, 2}); },
       {"attribute kernel_shape=[2, 2, 2]: only 2-D windows are supported (1-D and 3-D are not)"}},
      {"maxpool indices", [](B& b) {
         base(b);
         auto& n = node(b, "MaxPool", {"c"});
         B::ints(n, "kernel_shape", {2, 2});
         n.add_output("indices");
         b.node("Identity", {"indices"}, "use");
       }, {"output 1 ('indices') is used, but Footprint computes only the first output of this op"}},
      {"globalaveragepool rank", [](B& b) { base(b); b.node("Flatten", {"c"}, "flat"); node(b, "GlobalAveragePool", {"flat"}); },
       {"(GlobalAveragePool", "input has rank 2; only [N, C, H, W] inputs are supported"}},
      // --- Pad ---
      {"pad cropping", [](B& b) { base(b); b.int64s("p", {8}, {0, 0, -1, 0, 0, 0, 0, 0}); node(b, "Pad", {"c", "p"}); },
       {"(Pad", "negative pads (cropping) are not supported"}},
      {"pad channels", [](B& b) { base(b); b.int64s("p", {8}, {0, 1, 0, 0, 0, 0, 0, 0}); node(b, "Pad", {"c", "p"}); },
       {"pad axis 1; Footprint pads only H and W"}},
      {"pad length", [](B& b) { base(b); b.int64s("p", {4}, {0, 0, 1, 1}); node(b, "Pad", {"c", "p"}); },
       {"pads [0, 0, 1, 1] has 4 values; a rank-4 input needs 8"}},
      {"pad mode", [](B& b) { base(b); b.int64s("p", {8}, {0, 0, 1, 1, 0, 0, 1, 1}); B::text(node(b, "Pad", {"c", "p"}), "mode", "wrap"); },
       {"attribute mode=wrap: expected constant, reflect or edge"}},
      {"pad axes", [](B& b) {
         base(b);
         b.int64s("p", {4}, {1, 1, 1, 1});
         b.floats("v", {}, {0.0f});
         b.int64s("axes", {2}, {2, 3});
         node(b, "Pad", {"c", "p", "v", "axes"});
       }, {"input 3 (axes) is not supported; give pads for every axis"}},
      // --- element-wise ---
      {"leakyrelu alpha", [](B& b) { base(b); B::real(node(b, "LeakyRelu", {"c"}), "alpha", -1.0f); },
       {"(LeakyRelu", "attribute alpha=-1: Footprint's leakyrelu needs a slope >= 0"}},
      {"clip bounds", [](B& b) { base(b); b.floats("lo", {}, {2.0f}); b.floats("hi", {}, {1.0f}); node(b, "Clip", {"c", "lo", "hi"}); },
       {"(Clip", "min 2 is above max 1"}},
      {"clip computed min", [](B& b) { base(b); node(b, "Clip", {"c", "c"}); },
       {"input 1 (min, 'c') must be an initializer or a Constant"}},
      {"softmax axis", [](B& b) { base(b); B::integer(node(b, "Softmax", {"c"}), "axis", 2); },
       {"(Softmax", "attribute axis=2: Footprint's softmax is over the channels of a rank-4 NCHW input"}},
      {"dropout training", [](B& b) {
         base(b);
         b.floats("ratio", {}, {0.5f});
         b.int64s("training", {}, {1});
         node(b, "Dropout", {"c", "ratio", "training"});
       }, {"(Dropout", "training_mode is true"}},
      {"dropout ratio", [](B& b) { base(b); b.floats("ratio", {}, {1.5f}); node(b, "Dropout", {"c", "ratio"}); },
       {"ratio 1.5 is not in [0, 1)"}},
      {"mul not per channel", [](B& b) { base(b); b.weight("k", {4, 6, 6}, 3); node(b, "Mul", {"c", "k"}); },
       {"(Mul", "multiplies by the constant 'k' of shape [4, 6, 6], which is not one value per channel of 'c' "
                "[1, 4, 6, 6] (nor a scalar)"}},
      {"add not per channel", [](B& b) { base(b); b.weight("k", {6}, 3); node(b, "Add", {"c", "k"}); },
       {"(Add", "adds the constant 'k' of shape [6]"}},
      {"sub not per channel", [](B& b) { base(b); b.weight("k", {6, 1}, 3); node(b, "Sub", {"k", "c"}); },
       {"(Sub", "subtracts the constant 'k' of shape [6, 1]"}},
      {"div constant by value", [](B& b) { base(b); b.floats("k", {}, {2.0f}); node(b, "Div", {"k", "c"}); },
       {"(Div", "divides the constant 'k' by a value"}},
      {"div by zero", [](B& b) { base(b); b.floats("k", {4, 1, 1}, {1.0f, 0.0f, 1.0f, 1.0f}); node(b, "Div", {"c", "k"}); },
       {"divides by the constant 'k', which has a zero"}},
      {"mul views", [](B& b) { base(b); transpose_to_nhwc(b, "c", "t"); node(b, "Mul", {"c", "t"}); },
       {"combines 'c' (rank 4, NCHW) and 't' (rank 4, channels-last (NHWC)); Footprint's mul takes two values of "
        "the same rank, both NCHW or both channels-last"}},
      {"add inputs", [](B& b) { base(b); node(b, "Add", {"c", "c", "c"}); }, {"expected 2 inputs, found 3"}},
      // --- joins ---
      {"sum constant", [](B& b) { base(b); b.weight("k", {1, 4, 6, 6}, 3); node(b, "Sum", {"c", "k"}); },
       {"(Sum", "input 1 ('k') is a constant; Footprint adds values computed by the graph only"}},
      // Found by fuzz_onnx: a Sum with no inputs read input 0 of an empty list.
      {"sum without inputs", [](B& b) { base(b); node(b, "Sum", {}); },
       {"(Sum", "has no inputs; Footprint adds one value or more"}},
      {"concat without inputs", [](B& b) { base(b); node(b, "Concat", {}); },
       {"(Concat", "has no inputs; Footprint concatenates one value or more"}},
      {"concat axis", [](B& b) { base(b); B::integer(node(b, "Concat", {"c", "x"}), "axis", 2); },
       {"(Concat", "attribute axis=2: Footprint concatenates along the channels only (axis 1 of an NCHW value)"}},
      {"concat ranks", [](B& b) { base(b); b.node("Flatten", {"c"}, "flat"); B::integer(node(b, "Concat", {"c", "flat"}), "axis", 1); },
       {"input 1 ('flat') is a rank-2 NCHW value and input 0 a rank-4 NCHW one"}},
      {"erf alone", [](B& b) { base(b); node(b, "Erf", {"c"}); }, {"(Erf", "Erf is imported only as part of GELU"}},
      {"sqrt alone", [](B& b) { base(b); node(b, "Sqrt", {"c"}); },
       {"(Sqrt", "Sqrt is imported only as part of a LayerNorm over the channels"}},
      {"pow alone", [](B& b) { base(b); b.floats("two", {}, {2.0f}); node(b, "Pow", {"c", "two"}); },
       {"(Pow", "Pow is imported only as part of a LayerNorm"}},
      // --- normalisation ---
      {"batchnorm spatial", [](B& b) {
         base(b);
         for (const char* p : {"s", "bb", "m", "v"}) b.weight(p, {4}, 1);
         B::integer(node(b, "BatchNormalization", {"c", "s", "bb", "m", "v"}), "spatial", 0);
       }, {"(BatchNormalization", "attribute spatial=0: only per-channel statistics are supported"}},
      {"batchnorm shape", [](B& b) {
         base(b);
         b.weight("s", {3}, 1);
         for (const char* p : {"bb", "m", "v"}) b.weight(p, {4}, 1);
         node(b, "BatchNormalization", {"c", "s", "bb", "m", "v"});
       }, {"scale has shape [3]; expected [4]"}},
      {"layernorm axis", [](B& b) { base(b); b.weight("g", {4, 6, 6}, 1); B::integer(node(b, "LayerNormalization", {"c", "g"}), "axis", 1); },
       {"(LayerNormalization", "attribute axis=1: Footprint's layernorm normalises the channels at each position"}, 17},
      {"layernorm scale", [](B& b) { base(b); transpose_to_nhwc(b, "c", "t"); b.weight("g", {6}, 1); node(b, "LayerNormalization", {"t", "g"}); },
       {"Scale has shape [6]; expected [4]"}, 17},
      {"reducemean channels", [](B& b) { base(b); B::ints(node(b, "ReduceMean", {"c"}), "axes", {1}); },
       {"(ReduceMean", "ReduceMean over axes [1] of a rank-4 NCHW value; Footprint reduces H and W together"}},
      // --- matrix products ---
      {"gemm transA", [](B& b) { base(b); b.node("Flatten", {"c"}, "flat"); b.weight("w", {144, 5}, 1); B::integer(node(b, "Gemm", {"flat", "w"}), "transA", 1); },
       {"(Gemm", "attribute transA=1: a transposed input"}},
      {"gemm rank", [](B& b) { base(b); b.weight("w", {144, 5}, 1); node(b, "Gemm", {"c", "w"}); },
       {"input has rank 4; Gemm takes a matrix [N, K]"}},
      {"gemm bias", [](B& b) {
         base(b);
         b.node("Flatten", {"c"}, "flat");
         b.weight("w", {144, 5}, 1);
         b.weight("bias", {2, 5}, 2);
         node(b, "Gemm", {"flat", "w", "bias"});
       }, {"C has shape [2, 5]; only a bias per output ([5], [1, 5] or a scalar) maps to fc"}},
      {"gemm features", [](B& b) { base(b); b.node("Flatten", {"c"}, "flat"); b.weight("w", {5, 3}, 1); B::integer(node(b, "Gemm", {"flat", "w"}), "transB", 1); },
       {"B has shape [5, 3] (transposed), but its input has 144 features"}},
      {"matmul nchw", [](B& b) { base(b); b.weight("w", {6, 5}, 1); node(b, "MatMul", {"c", "w"}); },
       {"(MatMul", "multiplies a rank-4 NCHW value; Footprint maps MatMul of [N, K] by a constant [K, M] to fc"}},
      {"matmul channels", [](B& b) { base(b); transpose_to_nhwc(b, "c", "t"); b.weight("w", {3, 5}, 1); node(b, "MatMul", {"t", "w"}); },
       {"B has shape [3, 5]; expected [4, D] (over the channels)"}},
      // --- layout ---
      {"flatten axis", [](B& b) { base(b); B::integer(node(b, "Flatten", {"c"}), "axis", 2); },
       {"(Flatten", "attribute axis=2: only axis 1 (keep the batch, flatten the rest) is supported"}},
      {"reshape unsupported", [](B& b) { base(b); b.int64s("s", {3}, {1, 4, 36}); node(b, "Reshape", {"c", "s"}); },
       {"(Reshape", "reshapes 'c' [1, 4, 6, 6] (NCHW) to [1, 4, 36]; Footprint reshapes to [N, -1] (flatten)"}},
      {"reshape batch", [](B& b) { base(b); b.int64s("s", {2}, {4, -1}); node(b, "Reshape", {"c", "s"}); },
       {"to [4, 36], across the batch (axis 0); Footprint keeps the batch apart"}},
      {"reshape two unknowns", [](B& b) { base(b); b.int64s("s", {3}, {1, -1, -1}); node(b, "Reshape", {"c", "s"}); },
       {"shape [1, -1, -1] has more than one -1"}},
      {"reshape total", [](B& b) { base(b); b.int64s("s", {2}, {1, 5}); node(b, "Reshape", {"c", "s"}); },
       {"reshapes [1, 4, 6, 6] (144 values) to [1, 5]"}},
      {"squeeze non-1", [](B& b) { base(b); b.int64s("a", {1}, {1}); node(b, "Squeeze", {"c", "a"}); },
       {"(Squeeze", "squeezes axis 1 of [1, 4, 6, 6], which is not 1"}},
      {"squeeze batch", [](B& b) { base(b); b.int64s("a", {1}, {0}); node(b, "Squeeze", {"c", "a"}); },
       {"squeezes the batch axis; Footprint keeps the batch"}},
      {"unsqueeze batch", [](B& b) { base(b); b.int64s("a", {1}, {0}); node(b, "Unsqueeze", {"c", "a"}); },
       {"(Unsqueeze", "inserts an axis before the batch; Footprint keeps the batch first"}},
      {"transpose perm", [](B& b) { base(b); B::ints(node(b, "Transpose", {"c"}), "perm", {0, 1, 3, 2}); },
       {"(Transpose", "transposes a rank-4 NCHW value by [0, 1, 3, 2]; Footprint keeps NCHW storage"}},
      {"slice step", [](B& b) {
         base(b);
         b.int64s("s", {1}, {0});
         b.int64s("e", {1}, {4});
         b.int64s("a", {1}, {1});
         b.int64s("st", {1}, {2});
         node(b, "Slice", {"c", "s", "e", "a", "st"});
       }, {"(Slice", "steps [2]; Footprint slices with step 1 only"}},
      {"slice two axes", [](B& b) {
         base(b);
         b.int64s("s", {2}, {0, 0});
         b.int64s("e", {2}, {2, 3});
         b.int64s("a", {2}, {1, 2});
         node(b, "Slice", {"c", "s", "e", "a"});
       }, {"slices more than one axis; Footprint's slice cuts one of C, H and W"}},
      {"slice batch", [](B& b) {
         base(b);
         b.int64s("s", {1}, {0});
         b.int64s("e", {1}, {0});
         b.int64s("a", {1}, {0});
         node(b, "Slice", {"c", "s", "e", "a"});
       }, {"slices axis 0 of a NCHW value [1, 4, 6, 6]; Footprint slices C, H or W"}},
      {"slice empty", [](B& b) {
         base(b);
         b.int64s("s", {1}, {2});
         b.int64s("e", {1}, {1});
         b.int64s("a", {1}, {1});
         node(b, "Slice", {"c", "s", "e", "a"});
       }, {"the slice of axis 1 is empty"}},
      {"split batch", [](B& b) { base(b); B::integer(node(b, "Split", {"c"}), "axis", 0); },
       {"(Split", "attribute axis=0: Footprint splits along C, H or W"}},
      {"split sizes", [](B& b) {
         base(b);
         b.int64s("sizes", {2}, {1, 2});
         auto& n = node(b, "Split", {"c", "sizes"});
         B::integer(n, "axis", 1);
         n.add_output("bad2");
       }, {"split sizes [1, 2] do not cut 4 into 2 parts"}},
      {"split equal", [](B& b) {
         base(b);
         auto& n = node(b, "Split", {"c"});
         B::integer(n, "axis", 1);
         n.add_output("bad2");
         n.add_output("bad3");
       }, {"splits 4 into 3 equal parts"}},
      // --- resizing ---
      {"resize cubic", [](B& b) { base(b); b.floats("sc", {4}, {1, 1, 2, 2}); B::text(node(b, "Resize", {"c", "", "sc"}), "mode", "cubic"); },
       {"(Resize", "mode cubic is not supported; supported: nearest, linear (bilinear over H and W)"}},
      {"resize crop", [](B& b) {
         base(b);
         b.floats("sc", {4}, {1, 1, 2, 2});
         auto& n = node(b, "Resize", {"c", "", "sc"});
         B::text(n, "mode", "linear");
         B::text(n, "coordinate_transformation_mode", "tf_crop_and_resize");
       }, {"linear resizing with coordinate_transformation_mode=tf_crop_and_resize"}},
      {"resize nearest corners", [](B& b) {
         base(b);
         b.floats("sc", {4}, {1, 1, 2, 2});
         B::text(node(b, "Resize", {"c", "", "sc"}), "coordinate_transformation_mode", "align_corners");
       }, {"nearest resizing with coordinate_transformation_mode=align_corners and nearest_mode=round_prefer_floor "
           "is not PyTorch's nearest"}},
      {"resize channels", [](B& b) { base(b); b.floats("sc", {4}, {1, 2, 2, 2}); node(b, "Resize", {"c", "", "sc"}); },
       {"scales [1, 2, 2, 2]; Footprint resizes H and W of [N, C, H, W]"}},
      {"resize fraction", [](B& b) { base(b); b.floats("sc", {4}, {1, 1, 1.3f, 1.3f}); node(b, "Resize", {"c", "", "sc"}); },
       {"are not a whole number of pixels; give sizes instead"}},
      {"resize neither", [](B& b) { base(b); node(b, "Resize", {"c"}); }, {"give either scales or sizes"}},
      {"resize exclude_outside", [](B& b) { base(b); b.floats("sc", {4}, {1, 1, 2, 2}); B::integer(node(b, "Resize", {"c", "", "sc"}), "exclude_outside", 1); },
       {"attribute exclude_outside=1: only for cubic"}},
      {"upsample linear", [](B& b) { base(b); b.floats("sc", {4}, {1, 1, 2, 2}); B::text(node(b, "Upsample", {"c", "sc"}), "mode", "linear"); },
       {"(Upsample", "attribute mode=linear: Upsample's linear mode maps coordinates asymmetrically"}, 9},
      {"resize to one pixel", [](B& b) {
         base(b);
         b.int64s("sizes", {4}, {1, 4, 1, 12});
         auto& n = node(b, "Resize", {"c", "", "", "sizes"});
         B::text(n, "mode", "linear");
         B::text(n, "coordinate_transformation_mode", "pytorch_half_pixel");
       }, {"pytorch_half_pixel resizing to a size of 1 differs from half_pixel; not supported"}},
      {"resize sizes of channels", [](B& b) { base(b); b.int64s("sizes", {4}, {1, 8, 12, 12}); node(b, "Resize", {"c", "", "", "sizes"}); },
       {"sizes [1, 8, 12, 12]; Footprint resizes H and W of [N, C, H, W] (sizes [N, C, OH, OW])"}},
      // --- more views ---
      {"softmax opset 11", [](B& b) { base(b); B::integer(node(b, "Softmax", {"c"}), "axis", 1); },
       {"attribute axis=1: Footprint's softmax is over the channels with nothing after them of a rank-4 NCHW input"}, 11},
      {"convtranspose auto_pad", [](B& b) { base(b); b.weight("w", {4, 4, 3, 3}, 1); B::text(node(b, "ConvTranspose", {"c", "w"}), "auto_pad", "SAME"); },
       {"attribute auto_pad=SAME: expected NOTSET, SAME_UPPER, SAME_LOWER or VALID"}},
      {"layernorm statistics", [](B& b) {
         base(b);
         transpose_to_nhwc(b, "c", "t");
         b.weight("g", {4}, 1);
         node(b, "LayerNormalization", {"t", "g"}).add_output("mean");
         b.output("mean");
       }, {"output 1 ('mean') is used, but Footprint computes only the first output of this op"}, 17},
      {"grouped view pad", [](B& b) {
         base(b);
         b.int64s("g", {5}, {1, 2, 2, 6, 6});
         b.node("Reshape", {"c", "g"}, "grouped");
         b.int64s("p", {10}, {0, 0, 0, 1, 0, 0, 0, 0, 1, 0});
         node(b, "Pad", {"grouped", "p"});
       }, {"input is a grouped [N, G, C/G, H, W] view; Pad reads NCHW or channels-last values"}},
      {"grouped view conv", [](B& b) {
         base(b);
         b.int64s("g", {5}, {1, 2, 2, 6, 6});
         b.node("Reshape", {"c", "g"}, "grouped");
         b.weight("w", {4, 4, 1, 1}, 1);
         node(b, "Conv", {"grouped", "w"});
       }, {"(Conv", "input 0 ('grouped') is a grouped [N, G, C/G, H, W] view of its data; Conv reads NCHW values "
                    "(transpose it back first)"}},
      {"grouped view transpose", [](B& b) {
         base(b);
         b.int64s("g", {5}, {1, 2, 2, 6, 6});
         b.node("Reshape", {"c", "g"}, "grouped");
         B::ints(node(b, "Transpose", {"grouped"}), "perm", {0, 1, 2, 4, 3});
       }, {"transposes a rank-5 grouped [N, G, C/G, H, W] value by [0, 1, 2, 4, 3]"}},
      {"channels-last flatten", [](B& b) { base(b); transpose_to_nhwc(b, "c", "t"); node(b, "Flatten", {"t"}); },
       {"reshapes 't' [1, 6, 6, 4] (channels-last (NHWC)) to [1, 144]"}},
      {"channels-last concat", [](B& b) {
         base(b);
         transpose_to_nhwc(b, "c", "t");
         B::integer(node(b, "Concat", {"t", "t"}), "axis", 1);
       }, {"attribute axis=1: Footprint concatenates along the channels only (axis 3 of a channels-last value)"}},
      {"matmul B rank", [](B& b) { base(b); transpose_to_nhwc(b, "c", "t"); b.weight("w", {4, 5, 1}, 1); node(b, "MatMul", {"t", "w"}); },
       {"B has shape [4, 5, 1]; expected [4, D] (over the channels)"}},
      {"conv of a constant", [](B& b) { base(b); b.weight("k", {1, 4, 6, 6}, 1); b.weight("w", {4, 4, 1, 1}, 1); node(b, "Conv", {"k", "w"}); },
       {"every input is a constant, but Footprint computes Conv only on values from the graph input"}},
      {"matmul of a constant", [](B& b) { base(b); b.weight("k", {3, 1, 6, 4}, 1); node(b, "MatMul", {"k", "c"}); },
       {"input 0 ('k') is a constant, but Footprint computes MatMul only on values computed from the graph input"}},
      {"dropout mask", [](B& b) { base(b); node(b, "Dropout", {"c"}).add_output("mask"); b.output("mask"); },
       {"output 1 ('mask') is used"}},
      {"unsqueeze twice", [](B& b) { base(b); b.int64s("a", {2}, {4, 4}); node(b, "Unsqueeze", {"c", "a"}); },
       {"axes [4, 4] name axis 4 twice"}},
      {"split grouped", [](B& b) {
         base(b);
         b.int64s("g", {5}, {1, 2, 2, 6, 6});
         b.node("Reshape", {"c", "g"}, "grouped");
         auto& n = node(b, "Split", {"grouped"});
         B::integer(n, "axis", 1);
         n.add_output("bad2");
       }, {"attribute axis=1: Footprint splits along C, H or W of an NCHW or channels-last value"}},
      {"slice grouped", [](B& b) {
         base(b);
         b.int64s("g", {5}, {1, 2, 2, 6, 6});
         b.node("Reshape", {"c", "g"}, "grouped");
         b.int64s("s", {1}, {0});
         b.int64s("e", {1}, {1});
         b.int64s("a", {1}, {1});
         node(b, "Slice", {"grouped", "s", "e", "a"});
       }, {"slices axis 1 of a grouped [N, G, C/G, H, W] value [1, 2, 2, 6, 6]; Footprint slices C, H or W"}},
      {"shuffle back to another shape", [](B& b) {
         base(b);
         b.int64s("g", {5}, {1, 2, 2, 6, 6});
         b.node("Reshape", {"c", "g"}, "grouped");
         B::ints(b.node("Transpose", {"grouped"}, "t"), "perm", {0, 2, 1, 3, 4});
         b.int64s("s", {3}, {1, 4, 36});
         node(b, "Reshape", {"t", "s"});
       }, {"reshapes 't' [1, 2, 2, 6, 6] (transposed group view [N, C/G, G, H, W]) to [1, 4, 36]"}},
      // --- constant folding ---
      {"fold concat ranks", [](B& b) { base(b); b.int64s("a", {1}, {1}); b.int64s("m", {1, 1}, {1}); node(b, "Concat", {"a", "m"}); },
       {"concatenates constants of different ranks"}},
      {"fold reshape", [](B& b) { base(b); b.int64s("a", {4}, {1, 2, 3, 4}); b.int64s("s", {1}, {3}); node(b, "Reshape", {"a", "s"}); },
       {"reshapes a constant of shape [4] to [3]"}},
      {"fold slice step", [](B& b) {
         base(b);
         b.int64s("a", {4}, {1, 2, 3, 4});
         b.int64s("s", {1}, {0});
         b.int64s("e", {1}, {3});
         b.int64s("ax", {1}, {0});
         b.int64s("st", {1}, {0});
         node(b, "Slice", {"a", "s", "e", "ax", "st"});
       }, {"steps [0] has a 0"}},
      {"fold range", [](B& b) { base(b); b.int64s("s", {}, {0}); b.int64s("l", {}, {4}); b.int64s("d", {}, {0}); node(b, "Range", {"s", "l", "d"}); },
       {"(Range", "delta is 0"}},
      {"fold cast", [](B& b) {
         base(b);
         b.floats("f", {1}, {INFINITY});
         B::integer(node(b, "Cast", {"f"}), "to", onnx::TensorProto::INT64);
       }, {"casts inf to an integer"}},
      {"fold fill", [](B& b) {
         base(b);
         b.int64s("s", {1}, {2});
         auto& n = node(b, "ConstantOfShape", {"s"});
         auto* a = n.add_attribute();
         a->set_name("value");
         a->set_type(onnx::AttributeProto::TENSOR);
         a->mutable_t()->set_data_type(onnx::TensorProto::FLOAT);
         a->mutable_t()->add_dims(2);
         a->mutable_t()->add_float_data(1.0f);
         a->mutable_t()->add_float_data(2.0f);
       }, {"value has 2 elements; expected 1"}},
      {"fold squeeze", [](B& b) { base(b); b.int64s("a", {2, 1}, {1, 2}); b.int64s("ax", {1}, {0}); node(b, "Squeeze", {"a", "ax"}); },
       {"squeezes axis 0 of [2, 1], which is not 1"}},
      {"fold gather axis", [](B& b) { base(b); b.int64s("a", {2}, {1, 2}); b.int64s("i", {}, {0}); B::integer(node(b, "Gather", {"a", "i"}), "axis", 1); },
       {"axis 1 is out of range for rank 1"}},
      // --- the graph ---
      {"foreign domain", [](B& b) { base(b); node(b, "Gelu", {"c"}).set_domain("com.microsoft"); },
       {"op domain 'com.microsoft' is not supported"}},
      {"unknown op", [](B& b) { base(b); node(b, "Elu", {"c"}); }, {"(Elu", "op 'Elu' is not supported; supported ops: Conv"}},
      {"constant attribute", [](B& b) {
         base(b);
         auto& n = b.node("Constant", {}, "k");
         auto* a = n.add_attribute();
         a->set_name("value_string");
         a->set_type(onnx::AttributeProto::STRING);
         node(b, "Mul", {"c", "k"});
       }, {"node 'k' (Constant, node 1): attribute 'value_string' is not supported; supported: value (a tensor)"}},
  };
  return all;
}

TEST(OnnxRefusal, EveryRefusalNamesTheNodeAndTheRule) {
  for (const RefusalCase& c : cases()) {
    ModelBuilder b(c.opset);
    c.build(b);
    b.output("bad");
    const std::string message = import_error(b);
    for (const std::string& part : c.expect) {
      EXPECT_NE(message.find(part), std::string::npos) << c.name << ": expected '" << part << "' in\n  " << message;
    }
    const bool names_node = message.find("node 'bad' (") != std::string::npos || message.find("node 'k' (") != std::string::npos;
    EXPECT_TRUE(names_node) << c.name << ": the message does not name the node:\n  " << message;
  }
}

TEST(OnnxRefusal, GraphLevelErrors) {
  auto error = [](const std::function<void(ModelBuilder&)>& build, int opset = 13) {
    ModelBuilder b(opset);
    build(b);
    return import_error(b);
  };
  std::string m = error([](ModelBuilder& b) { base(b); b.output("c"); }, 18);
  EXPECT_NE(m.find("the model uses opset 18 of ONNX; the importer reads opsets 1 to 17"), std::string::npos) << m;
  m = error([](ModelBuilder& b) { base(b); b.input("y", {1, 4, 6, 6}); b.output("c"); });
  EXPECT_NE(m.find("the graph has inputs 'x' and 'y'; Footprint nets take one input"), std::string::npos) << m;
  m = error([](ModelBuilder& b) { b.input("x", {1, 2, 3, 4, 5}); b.node("Relu", {"x"}, "r"); b.output("r"); });
  EXPECT_NE(m.find("input 'x' has rank 5; Footprint takes [N, C, H, W], [N, C, L], [N, F] or [N]"), std::string::npos) << m;
  m = error([](ModelBuilder& b) {
    b.input("x", {1, 2});
    b.model().mutable_graph()->mutable_input(0)->mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::INT64);
    b.node("Relu", {"x"}, "r");
    b.output("r");
  });
  EXPECT_NE(m.find("input 'x' is not a float32 tensor; Footprint computes in float32"), std::string::npos) << m;
  m = error([](ModelBuilder& b) { base(b); b.output("nowhere"); });
  EXPECT_NE(m.find("the graph output 'nowhere' is not computed by any node"), std::string::npos) << m;
}

}  // namespace
}  // namespace footprint
