// What the layers added for graph nets tell the planner (what backward keeps, in place,
// workspace), the shapes they give, and how they refuse bad options: one line per error, naming
// the op, the option and the rule, and for shapes the layer and its inputs.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "footprint/error.hpp"
#include "footprint/net.hpp"
#include "footprint/plan.hpp"
#include "layers/layer.hpp"

namespace footprint {
namespace {

struct NeedsCase {
  const char* line;  // "op key=value ..." as in a .net file (joins read the net input twice)
  std::vector<Shape> in;
  bool saves_input, saves_output, in_place;
  int64_t saved_bytes;  // compact saved values at batch 2
};

LayerSpec spec_of(const std::string& line) {
  const Net net = parse_net("input 8 8 8\n" + line, "contract");
  return net.node(0).spec;
}

// Per layer, what its backward reads at batch 2 in training (parameters trained).
TEST(LayerContract, WhatBackwardKeeps) {
  const Shape x{4, 3, 5};
  const NeedsCase cases[] = {
      {"mul in=input,input", {x, x}, true, false, false, 0},
      {"mul in=input,input", {{4, 1, 1}, x}, true, false, false, 0},
      {"div in=input,input", {x, {1, 3, 5}}, true, false, false, 0},
      {"sub in=input,input", {x, {4, 1, 1}}, false, false, true, 0},
      {"sub in=input,input", {{4, 1, 1}, x}, false, false, false, 0},  // output larger than a
      {"clip min=-1 max=1", {x}, false, true, true, 0},
      {"hardsigmoid", {x}, false, true, true, 0},
      {"hardswish", {x}, true, false, true, 0},
      {"silu", {x}, true, false, true, 0},
      {"gelu approximate=tanh", {x}, true, false, true, 0},
      {"layernorm", {x}, true, false, false, 2 * (2 * 3 * 5) * 4},  // mean, 1/std per position
      {"shuffle groups=2", {x}, false, false, false, 0},
      {"slice start=1 end=3", {x}, false, false, false, 0},
      {"pad pad=1 mode=edge", {x}, false, false, false, 0},
      {"upsample mode=bilinear", {x}, false, false, false, 0},
      {"convtranspose 3 k=3 stride=2", {x}, true, false, false, 0},
      {"affine", {x}, true, false, true, 0},
  };
  for (const NeedsCase& c : cases) {
    SCOPED_TRACE(c.line);
    const auto layer = make_layer(spec_of(c.line));
    const Shape out = layer->infer_shape(c.in);
    const LayerNeeds needs =
        layer->describe({.in = c.in, .out = out, .batch = 2, .mode = Mode::train});
    EXPECT_EQ(needs.saves_input, c.saves_input);
    EXPECT_EQ(needs.saves_output, c.saves_output);
    EXPECT_EQ(needs.may_run_in_place, c.in_place);
    EXPECT_FALSE(needs.gradient_passes_through);
    int64_t saved = 0;
    for (const SavedSpec& s : needs.saved) saved += s.size_bytes;
    EXPECT_EQ(saved, c.saved_bytes);
  }
}

// Frozen parameters: convtranspose and affine then keep nothing (only d_weights reads x).
TEST(LayerContract, FrozenParametersKeepNoInput) {
  const Shape x{4, 3, 5};
  const std::vector<Shape> in = {x};
  for (const char* line : {"convtranspose 3 k=3 stride=2", "affine"}) {
    SCOPED_TRACE(line);
    const auto layer = make_layer(spec_of(line));
    const LayerNeeds needs = layer->describe({.in = in, .out = layer->infer_shape(in), .batch = 2,
                                              .mode = Mode::train, .param_grads = false});
    EXPECT_FALSE(needs.saves_input);
  }
}

// Activations that keep their input overwrite it where nothing keeps it: in inference, not in
// training.
TEST(LayerContract, InputKeepingActivationsRunInPlaceOnlyInInference) {
  for (const char* op : {"hardswish", "silu", "gelu"}) {
    const Net net = parse_net(std::string("input 3 4 4\nconv 3 k=1\n") + op + "\nloss mse", op);
    EXPECT_TRUE(plan(net, {.batch = 2, .mode = Mode::infer}).layers[1].in_place) << op;
    EXPECT_FALSE(plan(net, {.batch = 2, .mode = Mode::train}).layers[1].in_place) << op;
  }
}

// convtranspose plans one column tile, for forward and backward, never more than its rows.
TEST(LayerContract, ConvTransposeWorkspaceIsOneTile) {
  const Net net = parse_net("input 5 6 7\nconvtranspose 3 k=3 stride=2 pad=1\nloss mse", "ct");
  for (int64_t tile_bytes : {int64_t{0}, int64_t{1}}) {
    PlanOptions options{.batch = 2};
    options.conv_tile_bytes = tile_bytes;
    const Plan p = plan(net, options);
    // Columns [3 * 3 * 3, rows * 7] for rows of the 6-row input: all of them, then one.
    const int64_t rows = tile_bytes == 0 ? 6 : 1;
    EXPECT_EQ(p.layers[0].tile, rows);
    EXPECT_EQ(p.buffers[p.layers[0].workspace].data_bytes, 27 * rows * 7 * 4);
    EXPECT_EQ(p.buffers[p.layers[0].backward_workspace].data_bytes, 27 * rows * 7 * 4);
  }
}

TEST(LayerContract, Shapes) {
  struct ShapeCase {
    const char* net;
    Shape out;
  };
  const ShapeCase cases[] = {
      {"input 3 4 5\nconv 1 k=1 name=a\navgpool kh=1 kw=5 name=col\nconv 3 k=1 in=input\n"
       "avgpool kh=4 kw=1 name=row\nmul in=col,row",
       {3, 4, 5}},
      {"input 3 4 5\nglobalavgpool name=s\ndiv in=s,input", {3, 4, 5}},
      {"input 6 5 7\nslice start=2 end=5", {3, 5, 7}},
      {"input 6 5 7\nslice start=0 end=1 axis=h", {6, 1, 7}},
      {"input 6 5 7\nslice start=3 end=7 axis=w", {6, 5, 4}},
      {"input 2 5 7\npad pad=1 pad_left=3", {2, 7, 11}},
      {"input 2 5 7\nupsample", {2, 10, 14}},
      {"input 2 5 7\nupsample scale=3 scale_w=1", {2, 15, 7}},
      {"input 2 5 7\nupsample h=4 w=9 mode=bilinear", {2, 4, 9}},
      // (in - 1) * stride - pads + dilation * (k - 1) + output_pad + 1
      {"input 4 5 6\nconvtranspose 6 k=3 stride=2 pad=1 output_pad=1 groups=2", {6, 10, 12}},
      {"input 4 5 6\nconvtranspose 2 kh=4 kw=1 stride_h=3 pad_top=2 dilation_h=2", {2, 17, 6}},
  };
  for (const ShapeCase& c : cases) {
    EXPECT_EQ(parse_net(c.net, "shapes").output_shape(), c.out) << c.net;
  }
}

// The whole message, so wording stays one line with the op, the option and the rule.
TEST(LayerContract, BadOptionsAndShapesSayWhy) {
  struct ErrorCase {
    const char* net;
    const char* message;
  };
  const ErrorCase cases[] = {
      {"input 2 4 4\nclip min=2 max=1", "t:2: clip: max=1: min must be less than max"},
      {"input 2 4 4\ngelu approximate=fast", "t:2: gelu: approximate=fast: expected one of: none, tanh"},
      {"input 2 4 4\nlayernorm eps=0", "t:2: layernorm: eps=0: eps must be greater than 0"},
      {"input 2 4 4\nshuffle", "t:2: shuffle: missing groups=G (e.g. 'shuffle groups=2')"},
      {"input 6 4 4\nshuffle groups=4",
       "t:2: shuffle 'shuffle0' (layer 0): input has 6 channels, not divisible by groups=4; the "
       "input gives 6x4x4"},
      {"input 2 4 4\nslice end=2", "t:2: slice: missing start=S (e.g. 'slice start=0 end=16')"},
      {"input 2 4 4\nslice start=3 end=3", "t:2: slice: end=3: end must be greater than start=3"},
      {"input 2 4 4\nslice start=1 end=3 axis=n", "t:2: slice: axis=n: expected one of: c, h, w"},
      {"input 4 5 5\nslice start=2 end=9",
       "t:2: slice 'slice0' (layer 0): slice start=2 end=9 on axis c does not fit the input 4x5x5: "
       "need 0 <= start < end <= 4; the input gives 4x5x5"},
      {"input 2 4 5\npad pad_left=5 mode=reflect",
       "t:2: pad 'pad0' (layer 0): mode=reflect needs each pad less than the size it mirrors, but "
       "pads 0,5,0,0 (top, left, bottom, right) exceed the input 2x4x5; the input gives 2x4x5"},
      {"input 2 4 4\npad pad=1 mode=edge value=1",
       "t:2: pad: value=1: a fill value applies to mode=constant only"},
      {"input 2 4 4\npad mode=wrap", "t:2: pad: mode=wrap: expected one of: constant, reflect, edge"},
      {"input 2 4 4\nupsample scale=2 h=8", "t:2: upsample: h=8: give the height or a scale, not both"},
      {"input 2 4 4\nupsample align_corners=true",
       "t:2: upsample: align_corners=true: applies to mode=bilinear only"},
      {"input 2 4 4\nupsample w=0", "t:2: upsample: w=0: width must be at least 1"},
      {"input 2 4 4\nconvtranspose 4 k=3 stride=2 output_pad=2",
       "t:2: convtranspose: output_pad=2: output padding must be less than the stride or the "
       "dilation"},
      {"input 2 4 4\nconvtranspose 3 k=3 groups=2",
       "t:2: convtranspose: groups=2: output channels 3 are not divisible by it"},
      {"input 3 4 4\nconvtranspose 4 k=3 groups=2",
       "t:2: convtranspose 'convtranspose0' (layer 0): input has 3 channels, not divisible by "
       "groups=2; the input gives 3x4x4"},
      {"input 3 2 2\nconvtranspose 4 k=3 pad=3",
       "t:2: convtranspose 'convtranspose0' (layer 0): padding 3,3,3,3 (top, left, bottom, right) "
       "removes the whole output of a 3x3 transposed kernel over the input 3x2x2; the input gives "
       "3x2x2"},
      {"input 3 4 5\nconv 2 k=1 name=a\nmul in=a,input",
       "t:3: mul 'mul1' (layer 1): cannot broadcast shapes 2x4x5 and 3x4x5: channels 2 and 3 "
       "differ and neither is 1; 'a' (layer 0) gives 2x4x5 and the input gives 3x4x5"},
      {"input 3 4 5\nsub in=input,input,input", "t:2: sub: reads 3 values; it takes 2"},
      {"input 3 4 5\ndiv", "t:2: div: needs at least 2 inputs, e.g. in=a,b (names of earlier "
                           "layers, or 'input')"},
      {"input 3 4 5\naffine bias=maybe", "t:2: affine: bias=maybe: expected true or false"},
  };
  for (const ErrorCase& c : cases) {
    try {
      (void)parse_net(c.net, "t");
      ADD_FAILURE() << "accepted:\n" << c.net;
    } catch (const Error& e) {
      EXPECT_EQ(std::string(e.what()), c.message) << c.net;
    }
  }
}

}  // namespace
}  // namespace footprint
