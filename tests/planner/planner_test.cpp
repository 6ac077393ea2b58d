// The planner against its invariants (docs/design.md) and the exact six-block-512 figures.
#include <gtest/gtest.h>

#include "footprint/footprint.hpp"
#include "planner/liveness.hpp"
#include "testing/nets.hpp"

namespace footprint {
namespace {

using testing::net_path;

Net six_block() { return load_net_file(net_path("six-block-512")); }

// Invariant 2: two arena buffers alive at the same step never share a byte.
void expect_no_overlap(const Plan& p) {
  for (size_t a = 0; a < p.buffers.size(); ++a) {
    const Buffer& x = p.buffers[a];
    if (x.persistent) continue;
    EXPECT_LE(x.offset_bytes + x.size_bytes, p.arena_bytes) << x.name;
    EXPECT_EQ(x.offset_bytes % kAlignBytes, 0) << x.name;
    for (size_t b = a + 1; b < p.buffers.size(); ++b) {
      const Buffer& y = p.buffers[b];
      if (y.persistent) continue;
      const bool same_time = x.first_step <= y.last_step && y.first_step <= x.last_step;
      const bool same_bytes = x.offset_bytes < y.offset_bytes + y.size_bytes &&
                              y.offset_bytes < x.offset_bytes + x.size_bytes;
      EXPECT_FALSE(same_time && same_bytes)
          << x.name << " [" << x.first_step << "," << x.last_step << "] @" << x.offset_bytes
          << "+" << x.size_bytes << " overlaps " << y.name << " [" << y.first_step << ","
          << y.last_step << "] @" << y.offset_bytes << "+" << y.size_bytes;
    }
  }
}

TEST(Planner, SixBlockParameterCountMatchesTheReference) {
  const Net net = six_block();
  const Plan p = plan(net, {.batch = 1, .mode = Mode::train});
  EXPECT_EQ(p.params, 344398);
  EXPECT_EQ(net.n_params(), 344398);
  // kh*kw*Cin*Cout conv weights, as six-block-512.md counts them.
  int64_t conv_weights = 0, conv_biases = 0;
  for (size_t i = 0; i < p.layers.size(); ++i) {
    if (p.layer_reports[i].op != "conv") continue;
    conv_weights += p.buffers[p.layers[i].params[0]].data_bytes / 4;
    conv_biases += p.buffers[p.layers[i].params[1]].data_bytes / 4;
  }
  EXPECT_EQ(conv_weights, 221130);
  EXPECT_EQ(conv_biases, 378);
}

TEST(Planner, SixBlockActivationFiguresMatchTheReference) {
  const Plan p = plan(six_block(), {.batch = 1, .mode = Mode::train});
  int64_t conv_out = 0, pooled_out = 0, in_place = 0;
  for (const LayerReport& r : p.layer_reports) {
    if (r.op == "conv") conv_out += r.activation_bytes;
    if (r.op == "avgpool") pooled_out += r.activation_bytes;
    if (r.op == "tanh") in_place += r.in_place ? 1 : 0;
  }
  EXPECT_EQ(conv_out, 3096576 * 4);
  EXPECT_EQ(pooled_out, 774144 * 4);
  EXPECT_EQ(in_place, 6);  // tanh overwrites the conv output
  EXPECT_EQ(p.buffers[p.input_buffer].data_bytes, 786432 * 4);
  // All activations with tanh in place: input + conv + pooled = 4,657,152 values (17.8 MiB);
  // the fc output (10 floats) is the only other activation.
  EXPECT_EQ(p.bytes(Category::activations), (3096576 + 774144) * 4 + 64);
  EXPECT_EQ(p.bytes(Category::weights), p.bytes(Category::weight_grads));
  EXPECT_EQ(p.bytes(Category::optimizer_state), 0);  // plain SGD
}

TEST(Planner, OptimizerStateFollowsTheOptimizer) {
  const Net net = six_block();
  const Plan sgd = plan(net, {.optimizer = OptimizerKind::sgd});
  const Plan momentum = plan(net, {.optimizer = OptimizerKind::momentum});
  const Plan adam = plan(net, {.optimizer = OptimizerKind::adam});
  EXPECT_EQ(momentum.bytes(Category::optimizer_state), sgd.bytes(Category::weight_grads));
  EXPECT_EQ(adam.bytes(Category::optimizer_state), 2 * sgd.bytes(Category::weight_grads));
  EXPECT_EQ(adam.total_bytes - sgd.total_bytes, adam.bytes(Category::optimizer_state));
}

TEST(Planner, NoTwoLiveBuffersOverlapOnAnyReferenceNet) {
  for (const char* name : {"six-block-512", "lenet", "fashion-cnn", "vgg19-style"}) {
    SCOPED_TRACE(name);
    const Net net = load_net_file(net_path(name));
    for (Mode mode : {Mode::train, Mode::infer}) {
      if (mode == Mode::train && net.loss_kind() == LossKind::none) continue;
      for (int batch : {1, 3}) {
        const Plan p = plan(net, {.batch = batch, .mode = mode, .optimizer = OptimizerKind::adam});
        expect_no_overlap(p);
        EXPECT_EQ(p.total_bytes, p.arena_bytes + p.persistent_bytes);
        EXPECT_LE(p.live_bytes[p.peak_step], p.total_bytes);
      }
    }
  }
}

TEST(Planner, LifetimesCoverEveryStepThatUsesABuffer) {
  const Net net = load_net_file(net_path("fashion-cnn"));
  const Plan p = plan(net, {.batch = 4});
  auto covers = [&](int buffer, int step) {
    if (buffer == kNoBuffer) return true;
    const Buffer& b = p.buffers[buffer];
    return b.first_step <= step && step <= b.last_step;
  };
  for (size_t i = 0; i < p.layers.size(); ++i) {
    const LayerBuffers& lb = p.layers[i];
    for (int s : lb.src) EXPECT_TRUE(covers(s, lb.forward_step)) << p.layer_reports[i].name;
    EXPECT_TRUE(covers(lb.dst, lb.forward_step)) << p.layer_reports[i].name;
    EXPECT_TRUE(covers(lb.workspace, lb.forward_step)) << p.layer_reports[i].name;
    if (lb.backward_step < 0) continue;
    EXPECT_TRUE(covers(lb.d_dst, lb.backward_step)) << p.layer_reports[i].name;
    for (int d : lb.d_src) EXPECT_TRUE(covers(d, lb.backward_step)) << p.layer_reports[i].name;
    for (int s : lb.saved) EXPECT_TRUE(covers(s, lb.backward_step)) << p.layer_reports[i].name;
    EXPECT_TRUE(covers(lb.backward_workspace, lb.backward_step)) << p.layer_reports[i].name;
  }
}

TEST(Planner, InPlaceOnlyWhereNothingElseReadsTheInput) {
  // 'a' is read by relu and by add, so relu may not overwrite it; the second relu may.
  Net net{Shape{2, 4, 4}};
  net << conv(2, {.k = 1, .name = "a"}) << relu() << relu() << add("a") << loss(LossKind::mse);
  const Plan p = plan(net, {});
  EXPECT_FALSE(p.layers[1].in_place);
  EXPECT_FALSE(p.layers[2].in_place);  // relu 1 keeps its output for its own backward
  const Plan infer = plan(net, {.mode = Mode::infer});
  EXPECT_FALSE(infer.layers[1].in_place);
  EXPECT_TRUE(infer.layers[2].in_place);
  EXPECT_TRUE(infer.layers[3].in_place);
}

TEST(Planner, SwitchesShowTheirSaving) {
  const Net net = six_block();
  const Plan base = plan(net, {});
  const Plan no_reuse = plan(net, {.reuse = false});
  const Plan no_inplace = plan(net, {.inplace = false});
  const Plan full_im2col = plan(net, {.conv_tile_bytes = 0});
  EXPECT_GT(no_reuse.total_bytes, base.total_bytes);
  EXPECT_GT(no_inplace.bytes(Category::activations), base.bytes(Category::activations));
  EXPECT_GT(full_im2col.bytes(Category::workspace), base.bytes(Category::workspace));
  // Blocks 1 and 2 (3 and 6 input channels) run the direct 3x3 loops: no im2col at all, where
  // a full im2col of block 1 would be 27 x 512 x 512 floats (27 MiB, six-block-512.md).
  EXPECT_EQ(full_im2col.layer_reports[0].workspace_bytes, 0);
  EXPECT_EQ(full_im2col.layer_reports[3].workspace_bytes, 0);
  // Block 3 (12 input channels) goes by GEMM: its full im2col is 108 x 128 x 128 floats.
  EXPECT_EQ(full_im2col.layer_reports[6].workspace_bytes, int64_t{108} * 128 * 128 * 4);
}

TEST(Planner, SamePlanEveryTime) {
  const Net net = load_net_file(net_path("fashion-cnn"));
  EXPECT_EQ(plan_json(net, plan(net, {.batch = 7})), plan_json(net, plan(net, {.batch = 7})));
}

TEST(Planner, RejectsBadOptions) {
  const Net net = six_block();
  EXPECT_THROW((void)plan(net, {.batch = 0}), PlanError);
  EXPECT_THROW((void)plan(net, {.threads = 0}), PlanError);
  Net no_loss{Shape{1, 4, 4}};
  no_loss << conv(2, {.k = 3});
  EXPECT_THROW((void)plan(no_loss, {.mode = Mode::train}), PlanError);
  EXPECT_NO_THROW((void)plan(no_loss, {.mode = Mode::infer}));
}

TEST(Planner, InferenceHasNoGradientsOrOptimizerState) {
  const Plan p = plan(six_block(), {.mode = Mode::infer, .optimizer = OptimizerKind::adam});
  EXPECT_EQ(p.bytes(Category::weight_grads), 0);
  EXPECT_EQ(p.bytes(Category::optimizer_state), 0);
  EXPECT_EQ(p.bytes(Category::activation_grads), 0);
  EXPECT_EQ(p.bytes(Category::saved), 0);
}

}  // namespace
}  // namespace footprint

namespace footprint {
namespace {

// A DenseNet-style block: each layer reads the concat of every feature before it.
constexpr const char* kDenseBlock =
    "input 3 6 6\n"
    "conv 4 k=3 pad=1 name=x0\n"
    "batchnorm name=bn0\nrelu\nconv 2 k=3 pad=1 name=x1\n"
    "concat in=x0,x1 name=c1\nbatchnorm name=bn1\nrelu\nconv 2 k=3 pad=1 name=x2\n"
    "concat in=x0,x1,x2 name=c2\nbatchnorm name=bn2\nrelu\nglobalavgpool\nfc 3\nloss mse\n";

// The growing concats share one buffer: x0, x1 and x2 are written into their channel ranges of
// c2's output, c1 is the first six channels of it, and neither concat copies anything.
TEST(Planner, DenseConcatsShareOneBuffer) {
  const Net net = parse_net(kDenseBlock, "dense.net");
  for (Mode mode : {Mode::train, Mode::infer}) {
    SCOPED_TRACE(mode_name(mode));
    const Plan p = plan(net, {.batch = 3, .mode = mode});
    const int c1 = net.find_layer("c1"), c2 = net.find_layer("c2");
    const int x0 = net.find_layer("x0"), x1 = net.find_layer("x1"), x2 = net.find_layer("x2");
    EXPECT_TRUE(p.layers[c1].joined_in_place);
    EXPECT_TRUE(p.layers[c2].joined_in_place);
    for (int layer : {x0, x1, x2, c1, c2}) EXPECT_EQ(p.layers[layer].dst, p.layers[c2].dst);
    const int64_t plane = 36, sample = 8 * plane;  // c2 has 4 + 2 + 2 channels
    EXPECT_EQ(p.layers[x0].dst_offset_bytes, 0);
    EXPECT_EQ(p.layers[x1].dst_offset_bytes, 4 * plane * 4);
    EXPECT_EQ(p.layers[x2].dst_offset_bytes, 6 * plane * 4);
    for (int layer : {x0, x1, x2, c1, c2}) EXPECT_EQ(p.layers[layer].dst_stride, sample);
    EXPECT_EQ(p.layer_reports[c1].activation_bytes, 0);
    EXPECT_EQ(p.buffers[p.layers[c2].dst].data_bytes, 3 * sample * 4);
    expect_no_overlap(p);
    const Plan copied = plan(net, {.batch = 3, .mode = mode, .join_concat = false});
    EXPECT_FALSE(copied.layers[c1].joined_in_place);
    EXPECT_LT(p.bytes(Category::activations), copied.bytes(Category::activations));
    if (mode == Mode::train) {
      // The gradients mirror the values; the first backward step adding into them clears them.
      const int grad = p.layers[c2].d_dst;
      EXPECT_EQ(p.layers[x0].d_dst, grad);
      int clears = 0;
      for (const LayerBuffers& lb : p.layers) clears += static_cast<int>(lb.zero_before_backward.size());
      EXPECT_EQ(clears, 1);
      EXPECT_EQ(p.layers[net.find_layer("bn2")].zero_before_backward, std::vector<int>{grad});
    }
  }
}

// What keeps a concat's copy: an input that is the net input, an output of the net, a layer
// that cannot write into a channel range, or inputs that no order of one buffer can hold.
TEST(Planner, ConcatsThatCannotJoinKeepTheirCopy) {
  auto joined = [](const std::string& text, const std::string& concat) {
    const Net net = parse_net(text, "t.net");
    return plan(net, {.batch = 2}).layers[net.find_layer(concat)].joined_in_place;
  };
  EXPECT_FALSE(joined("input 2 4 4\nconv 2 k=1 name=a\nconcat in=input,a name=c\nloss mse", "c"));
  // An input that is itself an output of the net keeps a buffer of its own; the concat's own
  // output may be one (it is the whole buffer).
  EXPECT_FALSE(joined(
      "input 2 4 4\nconv 2 k=1 name=a\nconv 2 k=1 in=input name=b\nconcat in=a,b name=c\n"
      "output c,a\nloss mse", "c"));
  EXPECT_TRUE(joined(
      "input 2 4 4\nconv 2 k=1 name=a\nconv 2 k=1 in=input name=b\nconcat in=a,b name=c\n"
      "conv 1 k=1 in=a name=d\noutput d,c\nloss mse", "c"));
  // fc writes no channel range (it is not strided): its output must keep its own buffer.
  EXPECT_FALSE(joined("input 2 1 1\nfc 2 name=a\nfc 3 in=input name=b\nconcat in=a,b name=c\nloss mse",
                      "c"));
  // Two concats of the same values in opposite orders: only the first (wider, or earlier) joins.
  const Net crossed = parse_net(
      "input 2 4 4\nconv 2 k=1 name=a\nconv 2 k=1 in=input name=b\nconcat in=a,b name=c\n"
      "concat in=b,a name=d\nadd in=c,d\nloss mse", "t.net");
  const Plan p = plan(crossed, {.batch = 2});
  EXPECT_NE(p.layers[crossed.find_layer("c")].joined_in_place,
            p.layers[crossed.find_layer("d")].joined_in_place);
  expect_no_overlap(p);
}

}  // namespace
}  // namespace footprint

namespace footprint {
namespace {

// The planner's lifetimes equal the minimal ones that liveness.cpp derives on its own from what
// each step reads and writes: none longer (bytes held for nothing), none shorter (a value
// overwritten while still needed).
TEST(Planner, LifetimesAreTheMinimalOnesTheStepsNeed) {
  using testing::read_text;
  using testing::with_input;
  const std::vector<std::pair<std::string, std::string>> nets = {
      {"six-block-512", read_text(net_path("six-block-512"))},
      {"lenet", read_text(net_path("lenet"))},
      {"fashion-cnn", read_text(net_path("fashion-cnn"))},
      {"vgg19-style at 64x64", with_input(read_text(net_path("vgg19-style")), "input 3 64 64")},
      {"resnet-block", read_text(net_path("resnet-block"))},
      {"inception-block", read_text(net_path("inception-block"))},
      {"dense block", kDenseBlock},
  };
  struct Variant {
    const char* name;
    PlanOptions options;
  };
  const Variant variants[] = {
      {"train", {.batch = 2, .optimizer = OptimizerKind::adam}},
      {"infer", {.batch = 2, .mode = Mode::infer}},
      {"no in place, no joins", {.batch = 2, .inplace = false, .join_concat = false}},
      {"save all", {.batch = 1, .save_all = true}},
      {"input gradient, frozen weights", {.batch = 1, .input_grad = true, .train_params = false}},
  };
  for (const auto& [name, text] : nets) {
    const Net net = parse_net(text, name);
    for (const Variant& variant : variants) {
      if (variant.options.mode == Mode::train && net.loss_kind() == LossKind::none) continue;
      SCOPED_TRACE(name + " " + variant.name);
      const Plan p = plan(net, variant.options);
      const std::vector<Lifetime> minimal = minimal_lifetimes(p);
      for (size_t b = 0; b < p.buffers.size(); ++b) {
        const Buffer& buffer = p.buffers[b];
        EXPECT_EQ(buffer.first_step, minimal[b].first) << buffer.name;
        EXPECT_EQ(buffer.last_step, minimal[b].last) << buffer.name;
      }
    }
  }
}

}  // namespace
}  // namespace footprint
