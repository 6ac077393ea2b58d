// Layers added from outside the library, through the public headers only, as a user adds them:
// register_layer, then parse_net / layer("op"), plan, Runtime and the public gradient checker.
// The registry's refusals (taken and malformed keywords) and parallel_for are checked here too.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "footprint/footprint.hpp"

namespace footprint {
namespace {

// square: y = x * x; backward 2 x dy, so it keeps its input. Work is split with parallel_for.
class Square final : public Layer {
 public:
  std::string_view op() const override { return "square"; }
  Shape infer_shape(std::span<const Shape> in) const override { return in[0]; }
  LayerNeeds describe(const PlanContext&) const override { return {.saves_input = true}; }

  void forward(const StepArgs& a) const override {
    const float* x = a.src[0];
    float* y = a.dst;
    parallel_for(a.pool, a.batch * a.out_shape.n_elems(), [&](int64_t begin, int64_t end, int) {
      for (int64_t i = begin; i < end; ++i) y[i] = x[i] * x[i];
    });
  }

  void backward(const StepArgs& a) const override {
    float* d_x = a.d_src[0];
    if (!d_x) return;
    const bool accumulate = a.d_src_accumulate[0];
    const float* x = a.src[0];
    const float* d_y = a.d_dst;
    parallel_for(a.pool, a.batch * a.out_shape.n_elems(), [&](int64_t begin, int64_t end, int) {
      for (int64_t i = begin; i < end; ++i) {
        const float g = 2.0f * x[i] * d_y[i];
        d_x[i] = accumulate ? d_x[i] + g : g;
      }
    });
  }
};

// channelscale: y[n, c] = weight[c] * x[n, c], a trained parameter of its own.
class ChannelScale final : public Layer {
 public:
  std::string_view op() const override { return "channelscale"; }
  Shape infer_shape(std::span<const Shape> in) const override { return in[0]; }
  std::vector<ParamSpec> params(std::span<const Shape> in) const override {
    return {{.name = "weight", .n_elems = in[0].c, .fan_in = 1}};
  }
  LayerNeeds describe(const PlanContext& ctx) const override {
    return {.saves_input = ctx.param_grads};
  }

  void forward(const StepArgs& a) const override {
    const int64_t channels = a.out_shape.c, plane = a.out_shape.h * a.out_shape.w;
    for (int64_t p = 0; p < a.batch * channels; ++p) {
      for (int64_t i = 0; i < plane; ++i) {
        a.dst[p * plane + i] = a.params[0][p % channels] * a.src[0][p * plane + i];
      }
    }
  }

  void backward(const StepArgs& a) const override {
    const int64_t channels = a.out_shape.c, plane = a.out_shape.h * a.out_shape.w;
    if (float* d_weight = a.d_params[0]) {
      for (int64_t c = 0; c < channels; ++c) d_weight[c] = 0.0f;
      for (int64_t p = 0; p < a.batch * channels; ++p) {
        for (int64_t i = 0; i < plane; ++i) {
          d_weight[p % channels] += a.src[0][p * plane + i] * a.d_dst[p * plane + i];
        }
      }
    }
    if (float* d_x = a.d_src[0]) {
      for (int64_t p = 0; p < a.batch * channels; ++p) {
        for (int64_t i = 0; i < plane; ++i) {
          const float g = a.params[0][p % channels] * a.d_dst[p * plane + i];
          d_x[p * plane + i] = a.d_src_accumulate[0] ? d_x[p * plane + i] + g : g;
        }
      }
    }
  }
};

// poolprobe: y = x, remembering the thread pool its forward step was given (StepArgs::pool is
// how a layer reaches the runtime's workers; the runtime does not hand its pool out otherwise).
ThreadPool* g_probed_pool = nullptr;
class PoolProbe final : public Layer {
 public:
  std::string_view op() const override { return "poolprobe"; }
  Shape infer_shape(std::span<const Shape> in) const override { return in[0]; }
  LayerNeeds describe(const PlanContext&) const override { return {}; }
  void forward(const StepArgs& a) const override {
    g_probed_pool = a.pool;
    std::copy_n(a.src[0], a.batch * a.out_shape.n_elems(), a.dst);
  }
  void backward(const StepArgs&) const override {}
};

void no_options(const LayerSpec& spec) {
  if (!spec.arg.empty() || !spec.attrs.empty()) {
    throw ParseError(spec.op + ": takes no options");
  }
}

// Once per process: the tests of this file may run in one process or one each.
void register_test_layers() {
  static std::once_flag once;
  std::call_once(once, [] {
    register_layer("square", [](const LayerSpec& spec) {
      no_options(spec);
      return std::make_unique<Square>();
    });
    register_layer("channelscale", [](const LayerSpec& spec) {
      no_options(spec);
      return std::make_unique<ChannelScale>();
    });
    register_layer("poolprobe", [](const LayerSpec& spec) {
      no_options(spec);
      return std::make_unique<PoolProbe>();
    });
  });
}

constexpr const char* kNetText =
    "input 3 4 5\n"
    "conv 4 k=3 pad=1\n"
    "square name=sq\n"
    "channelscale name=scale\n"
    "add in=sq,scale\n"
    "loss mse\n";

TEST(CustomLayer, ParsesAndBuildsLikeABuiltInLayer) {
  register_test_layers();
  const Net parsed = parse_net(kNetText, "custom.net");
  ASSERT_EQ(parsed.n_layers(), 4);
  EXPECT_EQ(parsed.node(1).layer->op(), "square");
  EXPECT_EQ(parsed.node(2).spec.name, "scale");
  EXPECT_EQ(parsed.n_params(), 3 * 9 * 4 + 4 + 4);  // conv weights and biases, one scale a channel

  Net built{Shape{3, 4, 5}};
  built << conv(4, {.k = 3, .pad = 1}) << layer("square", {}, "sq") << layer("channelscale", {}, "scale")
        << add_of({"sq", "scale"}) << loss(LossKind::mse);
  EXPECT_EQ(built.to_text(), parsed.to_text());
  EXPECT_EQ(parse_net(built.to_text(), "round trip").fingerprint(), built.fingerprint());
}

TEST(CustomLayer, RunsThroughPlanAndRuntime) {
  register_test_layers();
  Net net{Shape{2, 3, 3}};
  net << layer("square") << loss(LossKind::mse);
  const Plan p = plan(net, {.batch = 2, .mode = Mode::infer, .threads = 2});
  Runtime runtime(net, p);
  const int64_t n = 2 * net.input_shape().n_elems();
  for (int64_t i = 0; i < n; ++i) runtime.input()[i] = 0.25f * static_cast<float>(i - 9);
  runtime.forward(2, /*training=*/false);
  for (int64_t i = 0; i < n; ++i) {
    const float x = 0.25f * static_cast<float>(i - 9);
    EXPECT_EQ(runtime.output()[i], x * x) << "element " << i;
  }
  EXPECT_EQ(tracked_memory().current_bytes, p.total_bytes);
}

TEST(CustomLayer, TrainsAndPassesTheGradientCheck) {
  register_test_layers();
  const Net net = parse_net(kNetText, "custom.net");
  for (int threads : {1, 2}) {
    GradCheckOptions options;
    options.plan.threads = threads;
    const GradCheckResult result = check_gradients(net, options);
    EXPECT_TRUE(result.ok()) << "threads " << threads << ": " << result.report();
    EXPECT_GT(result.checked, 40);
  }

  const Plan p = plan(net, {.batch = 4, .threads = 2});
  Runtime runtime(net, p, /*seed=*/3);
  const auto step = [&] {  // input and target are filled before every step
    for (int64_t i = 0; i < 4 * net.input_shape().n_elems(); ++i) {
      runtime.input()[i] = std::sin(0.37f * static_cast<float>(i));
    }
    auto* target = static_cast<float*>(runtime.target());
    for (int64_t i = 0; i < 4 * net.output_shape().n_elems(); ++i) target[i] = 0.5f;
    return runtime.train_step(4, {.lr = 0.01f});
  };
  const double first = step();
  double last = first;
  for (int i = 0; i < 20; ++i) last = step();
  EXPECT_TRUE(std::isfinite(last));
  EXPECT_LT(last, first);
}

TEST(CustomLayer, UnknownKeywordsListEveryOpTheRegisteredOnesIncluded) {
  register_test_layers();
  try {
    (void)parse_net("input 1 2 2\nsqaure\n", "typo.net");
    FAIL() << "no error";
  } catch (const ParseError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("typo.net:2: unknown layer 'sqaure'; expected one of: conv, "),
              std::string::npos) << what;
    EXPECT_NE(what.find(", affine, square, channelscale"), std::string::npos) << what;
    EXPECT_TRUE(what.ends_with(", loss")) << what;
  }
  const std::vector<std::string> ops = layer_ops();
  const auto square = std::find(ops.begin(), ops.end(), "square");
  ASSERT_NE(square, ops.end());
  ASSERT_NE(square + 1, ops.end());
  EXPECT_EQ(*(square + 1), "channelscale");
}

TEST(CustomLayer, BadOptionsOfARegisteredLayerNameTheLine) {
  register_test_layers();
  try {
    (void)parse_net("input 1 2 2\nsquare k=3\n", "opts.net");
    FAIL() << "no error";
  } catch (const ParseError& e) {
    EXPECT_STREQ(e.what(), "opts.net:2: square: takes no options");
  }
}

TEST(CustomLayer, TakenOrMalformedKeywordsAreRefused) {
  register_test_layers();
  const auto factory = [](const LayerSpec&) { return std::make_unique<Square>(); };
  const auto refusal = [&](const std::string& keyword) {
    try {
      register_layer(keyword, factory);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("registered");
  };
  EXPECT_EQ(refusal("conv"), "registering layer 'conv': a built-in layer has that keyword");
  EXPECT_EQ(refusal("square"), "registering layer 'square': it is already registered");
  EXPECT_EQ(refusal("loss"), "registering layer 'loss': 'loss' is a .net keyword of its own");
  EXPECT_EQ(refusal("output"), "registering layer 'output': 'output' is a .net keyword of its own");
  for (const char* bad : {"", "my op", "a=b", "x,y", "1x", "sq#"}) {
    EXPECT_NE(refusal(bad).find("a keyword is a letter followed by"), std::string::npos) << bad;
  }
  EXPECT_THROW(register_layer("empty_factory", nullptr), Error);
  EXPECT_EQ(refusal("my_square-2.v1"), "registered");
}

TEST(CustomLayer, ParallelForCoversTheRangeOnceInChunksBelowTheThreadCount) {
  register_test_layers();
  Net net{Shape{1, 2, 2}};
  net << layer("poolprobe");
  const Plan p = plan(net, {.mode = Mode::infer, .threads = 3});
  Runtime runtime(net, p);
  std::fill_n(runtime.input(), net.input_shape().n_elems(), 1.0f);
  runtime.forward(1, /*training=*/false);  // the probe keeps the runtime's pool
  ASSERT_NE(g_probed_pool, nullptr);
  for (ThreadPool* pool : {static_cast<ThreadPool*>(nullptr), g_probed_pool}) {
    for (int64_t n : {0, 1, 2, 7, 1000}) {
      std::vector<int> seen(n, 0);
      std::vector<int> chunk_used(3, 0);
      parallel_for(pool, n, [&](int64_t begin, int64_t end, int chunk) {
        ASSERT_GE(chunk, 0);
        ASSERT_LT(chunk, 3);
        chunk_used[chunk] += 1;
        for (int64_t i = begin; i < end; ++i) seen[i] += 1;
      });
      for (int64_t i = 0; i < n; ++i) EXPECT_EQ(seen[i], 1) << "n " << n << " index " << i;
      if (pool == nullptr && n > 0) {
        EXPECT_EQ(chunk_used[0], 1);
      }
    }
    // Less than two grains runs as one chunk on the calling thread.
    int calls = 0;
    parallel_for(pool, 100, [&](int64_t begin, int64_t end, int) {
      ++calls;
      EXPECT_EQ(begin, 0);
      EXPECT_EQ(end, 100);
    }, /*min_grain=*/64);
    EXPECT_EQ(calls, 1);
  }
}

}  // namespace
}  // namespace footprint
