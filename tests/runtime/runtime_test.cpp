// The runtime against the plan: the counting allocator's peak equals the plan's total to the
// byte, nothing is allocated while steps run, and sharing bytes changes no result.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <new>
#include <vector>

#include "core/rng.hpp"
#include "footprint/footprint.hpp"
#include "testing/sanitizers.hpp"
#include "testing/nets.hpp"

// Counts heap allocations in this test binary, to check that steps allocate nothing. Under
// AddressSanitizer, which owns operator new itself, its malloc hook counts instead.
static std::atomic<int64_t> g_allocations{0};
#if defined(__SANITIZE_ADDRESS__)
// From <sanitizer/allocator_interface.h>, which GCC's packages do not install.
extern "C" int __sanitizer_install_malloc_and_free_hooks(
    void (*malloc_hook)(const volatile void*, size_t), void (*free_hook)(const volatile void*));
static void count_allocation(const volatile void*, size_t) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
}
static void ignore_free(const volatile void*) {}
[[maybe_unused]] static const int g_hooks_installed =
    __sanitizer_install_malloc_and_free_hooks(count_allocation, ignore_free);
#else
void* operator new(std::size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t size) { return operator new(size); }
// GCC cannot see that these frees pair with the malloc above.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
#pragma GCC diagnostic pop
#endif

namespace footprint {
namespace {

using testing::read_text;
using testing::net_path;
using testing::with_input;

void fill_inputs(Runtime& rt, const Net& net, const Plan& p, uint32_t seed) {
  const int64_t in = p.options.batch * net.input_shape().n_elems();
  for (int64_t i = 0; i < in; ++i) rt.input()[i] = static_cast<float>((i * 2654435761u + seed) % 1000) / 500.0f - 1.0f;
  if (!rt.target()) return;
  const int64_t outputs = net.output_shape().n_elems();
  for (int n = 0; n < p.options.batch; ++n) {
    if (net.loss_kind() == LossKind::softmax_xent) {
      static_cast<int32_t*>(rt.target())[n] = static_cast<int32_t>((n * 7 + seed) % outputs);
    } else {
      for (int64_t o = 0; o < outputs; ++o)
        static_cast<float*>(rt.target())[n * outputs + o] = o == (n + seed) % outputs ? 1.0f : 0.0f;
    }
  }
}

TEST(Runtime, TrackedPeakEqualsThePlanToTheByte) {
  for (const char* name : {"six-block-512", "lenet", "fashion-cnn", "resnet-block", "inception-block"}) {
    for (int threads : {1, 2}) {
      SCOPED_TRACE(std::string(name) + " threads " + std::to_string(threads));
      const Net net = load_net_file(net_path(name));
      const Plan p = plan(net, {.batch = 2, .optimizer = OptimizerKind::momentum, .threads = threads});
      reset_tracked_peak();
      const int64_t before = tracked_memory().current_bytes;
      {
        Runtime rt(net, p, 3);
        fill_inputs(rt, net, p, 1);
        for (int step = 0; step < 2; ++step) rt.train_step(2, {.lr = 0.01f});
        EXPECT_EQ(tracked_memory().peak_bytes - before, p.total_bytes);
      }
      EXPECT_EQ(tracked_memory().current_bytes, before);
    }
  }
}

// Resident memory of this process now (VmRSS), in bytes.
int64_t rss_bytes() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6)) * 1024;
  return 0;
}

// What the operating system sees agrees with the plan: running a plan's steps grows the
// process by at most the plan's bytes plus 5% and 4 MiB (thread stacks, OpenBLAS's buffers).
TEST(Runtime, ResidentMemoryGrowsByThePlanAndLittleMore) {
  FP_SKIP_UNDER_ASAN();
  const std::string vgg = with_input(read_text(net_path("vgg19-style")), "input 3 64 64");
  const std::vector<std::pair<std::string, std::string>> nets = {
      {"six-block-512", read_text(net_path("six-block-512"))},
      {"lenet", read_text(net_path("lenet"))},
      {"fashion-cnn", read_text(net_path("fashion-cnn"))},
      {"vgg19-style to conv3_4 at 64x64", vgg.substr(0, vgg.find("maxpool k=2 name=pool3")) + "fc 10\nloss mse\n"},
  };
  for (const auto& [name, text] : nets) {
    const Net net = parse_net(text, name);
    for (int batch : {1, 4}) {
      for (int threads : {1, 2}) {
        SCOPED_TRACE(name + " batch " + std::to_string(batch) + " threads " + std::to_string(threads));
        const Plan p = plan(net, {.batch = batch, .optimizer = OptimizerKind::momentum, .threads = threads});
        const int64_t before = rss_bytes();
        Runtime rt(net, p, 1);
        fill_inputs(rt, net, p, 1);
        for (int step = 0; step < 2; ++step) rt.train_step(batch, {.lr = 0.001f});
        const int64_t growth = rss_bytes() - before;
        EXPECT_LE(growth, p.total_bytes + p.total_bytes / 20 + (int64_t{4} << 20))
            << "plan " << p.total_bytes << " B, resident growth " << growth << " B";
      }
    }
  }
}

TEST(Runtime, StepsAllocateNothing) {
  const Net net = load_net_file(net_path("fashion-cnn"));
  const Plan p = plan(net, {.batch = 4, .optimizer = OptimizerKind::adam, .threads = 2});
  Runtime rt(net, p, 1);
  fill_inputs(rt, net, p, 2);
  rt.train_step(4, {});  // warm-up: OpenBLAS sets itself up on first use
  const int64_t before = g_allocations.load();
  for (int step = 0; step < 3; ++step) rt.train_step(4, {.lr = 0.001f});
  rt.forward(3, /*training=*/false);
  EXPECT_EQ(g_allocations.load() - before, 0);
}

// Sharing bytes by lifetime must not change a single bit of any result: if a lifetime were too
// short, a later buffer would overwrite a value still needed and the results would differ.
TEST(Runtime, ReuseAndInPlaceChangeNoResult) {
  struct Case {
    std::string name, text;
  };
  const std::string vgg_to_pool3 =
      with_input(read_text(net_path("vgg19-style")), "input 3 32 32");
  const std::vector<Case> cases = {
      {"six-block-512 at 64x64", with_input(read_text(net_path("six-block-512")), "input 3 64 64")},
      {"lenet", read_text(net_path("lenet"))},
      {"fashion-cnn", read_text(net_path("fashion-cnn"))},
      {"vgg19-style to pool3 at 32x32 + loss",
       vgg_to_pool3.substr(0, vgg_to_pool3.find("conv 512")) + "fc 4\nloss mse\n"},
      {"resnet-block at 16x16", with_input(read_text(net_path("resnet-block")), "input 8 16 16")},
      {"inception-block at 12x12",
       with_input(read_text(net_path("inception-block")), "input 24 12 12")},
      {"dense block (concats joined in place)",
       "input 3 6 6\nconv 4 k=3 pad=1 name=x0\nbatchnorm\nrelu\nconv 2 k=3 pad=1 name=x1\n"
       "concat in=x0,x1 name=c1\nbatchnorm\nrelu\nconv 2 k=3 pad=1 name=x2\n"
       "concat in=x0,x1,x2 name=c2\nbatchnorm\nrelu\nmaxpool k=2\nfc 3\nloss mse\n"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const Net net = parse_net(c.text, c.name);
    std::vector<std::vector<float>> results;
    for (int variant = 0; variant < 4; ++variant) {
      const Plan p = plan(net, {.batch = 2, .optimizer = OptimizerKind::adam, .threads = 2,
                                .reuse = variant != 1, .inplace = variant != 2,
                                .conv_tile_bytes = 4096, .join_concat = variant != 3});
      Runtime rt(net, p, 5);
      fill_inputs(rt, net, p, 3);
      for (int step = 0; step < 2; ++step) rt.train_step(2, {.lr = 0.001f});
      rt.forward(2, /*training=*/false);
      std::vector<float> out(rt.output(), rt.output() + 2 * net.output_shape().n_elems());
      for (const ParamView& v : rt.parameters()) out.insert(out.end(), v.data, v.data + v.n_elems);
      results.push_back(out);
    }
    EXPECT_EQ(results[0], results[1]) << "reuse changed a result";
    EXPECT_EQ(results[0], results[2]) << "in place changed a result";
    EXPECT_EQ(results[0], results[3]) << "joining concats in place changed a result";
  }
}

// A runtime refuses a plan made for another net, before it allocates anything.
TEST(Runtime, PlanForAnotherNetIsRefused) {
  const Net a = parse_net("input 3 8 8\nconv 4 k=3\nrelu\nloss mse", "a.net");
  const Net b = parse_net("input 3 8 8\nconv 4 k=3\ntanh\nloss mse", "b.net");
  const Plan plan_a = plan(a, {.batch = 2});
  const int64_t before = tracked_memory().current_bytes;
  try {
    Runtime rt(b, plan_a);
    ADD_FAILURE() << "a runtime accepted another net's plan";
  } catch (const PlanError& e) {
    EXPECT_NE(std::string(e.what()).find("the plan was made for another net"), std::string::npos)
        << e.what();
  }
  EXPECT_EQ(tracked_memory().current_bytes, before);
  Runtime ok(a, plan_a);  // its own plan is fine
}

// Two outputs: each equals what a net ending at it computes, with the same weights. Training
// reads only the first; the branch that leads only to the second gets no backward step and its
// parameters are not trained.
TEST(Runtime, SecondOutputIsComputedButNotTrained) {
  const std::string body =
      "input 2 6 6\nconv 4 k=3 pad=1 name=trunk\nrelu name=r\nconv 3 k=1 name=head\n"
      "conv 5 k=1 in=r name=aux\n";
  const Net both = parse_net(body + "output head,aux\nloss mse\n", "both.net");
  ASSERT_EQ(both.outputs().size(), 2u);
  EXPECT_EQ(both.output_shape(), (Shape{3, 6, 6}));
  const Plan infer = plan(both, {.batch = 2, .mode = Mode::infer});
  Runtime rt(both, infer, 9);
  Rng rng(4);
  const int64_t n_in = 2 * both.input_shape().n_elems();
  std::vector<float> input(n_in);
  for (float& x : input) x = rng.uniform(-1.0f, 1.0f);
  std::copy(input.begin(), input.end(), rt.input());
  rt.forward(2, /*training=*/false);
  const std::vector<float> head(rt.output(0), rt.output(0) + 2 * 3 * 36);
  const std::vector<float> aux(rt.output(1), rt.output(1) + 2 * 5 * 36);
  // The same weights in a net ending at aux: parameters are drawn in layer order from the seed.
  const Net aux_only = parse_net(body + "output aux\n", "aux.net");
  const Plan aux_plan = plan(aux_only, {.batch = 2, .mode = Mode::infer});
  Runtime aux_rt(aux_only, aux_plan, 9);
  std::copy(input.begin(), input.end(), aux_rt.input());
  aux_rt.forward(2, /*training=*/false);
  EXPECT_EQ(aux, std::vector<float>(aux_rt.output(), aux_rt.output() + aux.size()));
  EXPECT_NE(head, std::vector<float>(head.size(), head[0]));

  const Plan train = plan(both, {.batch = 2, .threads = 2});
  const int aux_layer = both.find_layer("aux");
  EXPECT_EQ(train.layers[aux_layer].backward_step, -1);
  EXPECT_GE(train.layers[both.find_layer("head")].backward_step, 0);
  Runtime trt(both, train, 9);
  for (const ParamView& p : trt.parameters()) {
    EXPECT_EQ(p.trainable, p.name.rfind("aux.", 0) != 0) << p.name;
  }
}

// Invariant 2 of docs/design.md, tested: with every buffer poisoned (NaN) right after its
// planned last step, training and inference give the same bits. A lifetime planned one step too
// short would turn a result into NaN.
TEST(Runtime, PoisonAfterLastUseChangesNoResult) {
  const std::string vgg = with_input(read_text(net_path("vgg19-style")), "input 3 32 32");
  const std::vector<std::pair<std::string, std::string>> nets = {
      {"six-block-512 at 64x64", with_input(read_text(net_path("six-block-512")), "input 3 64 64")},
      {"lenet", read_text(net_path("lenet"))},
      {"fashion-cnn", read_text(net_path("fashion-cnn"))},
      {"vgg19-style to pool3 at 32x32 + loss", vgg.substr(0, vgg.find("conv 512")) + "fc 4\nloss mse\n"},
      {"resnet-block at 16x16", with_input(read_text(net_path("resnet-block")), "input 8 16 16")},
      {"inception-block at 12x12", with_input(read_text(net_path("inception-block")), "input 24 12 12")},
      {"dense block", "input 3 6 6\nconv 4 k=3 pad=1 name=x0\nbatchnorm\nrelu\nconv 2 k=3 pad=1 "
                      "name=x1\nconcat in=x0,x1 name=c1\nbatchnorm\nrelu\nconv 2 k=3 pad=1 name=x2\n"
                      "concat in=x0,x1,x2\nbatchnorm\nrelu\nmaxpool k=2\nfc 3\nloss mse\n"},
  };
  for (const auto& [name, text] : nets) {
    SCOPED_TRACE(name);
    const Net net = parse_net(text, name);
    for (Mode mode : {Mode::train, Mode::infer}) {
      const Plan p = plan(net, {.batch = 2, .mode = mode, .optimizer = OptimizerKind::adam,
                                .threads = 2, .conv_tile_bytes = 4096});
      std::vector<std::vector<float>> results;
      for (bool poison : {false, true}) {
        Runtime rt(net, p, 7);
        rt.set_poison_after_last_use(poison);
        std::vector<float> out;
        for (int step = 0; step < 2; ++step) {
          fill_inputs(rt, net, p, 5);
          if (mode == Mode::train) {
            out.push_back(static_cast<float>(rt.train_step(2, {.lr = 0.001f})));
          } else {
            rt.forward(2, /*training=*/false);
          }
        }
        // (After a training step the output's bytes already belong to backward buffers.)
        if (mode == Mode::infer) {
          out.insert(out.end(), rt.output(), rt.output() + 2 * net.output_shape().n_elems());
        }
        for (const ParamView& v : rt.parameters()) out.insert(out.end(), v.data, v.data + v.n_elems);
        results.push_back(out);
      }
      EXPECT_EQ(results[0], results[1]) << mode_name(mode) << ": poisoning changed a result";
    }
  }
}

// The poison test above can fail: cut one buffer's planned lifetime short by a step and the
// poisoned run's loss turns NaN.
TEST(Runtime, PoisonCatchesALifetimeCutShort) {
  const Net net = parse_net(with_input(read_text(net_path("six-block-512")), "input 3 64 64"), "t");
  Plan p = plan(net, {.batch = 2, .threads = 2});
  const int conv = net.find_layer("conv3");
  Buffer& out = p.buffers[static_cast<size_t>(p.layers[conv].dst)];  // tanh keeps it for backward
  ASSERT_GT(out.last_step, p.loss_step);
  out.last_step -= 1;
  Runtime rt(net, p, 3);
  rt.set_poison_after_last_use(true);
  fill_inputs(rt, net, p, 1);
  rt.forward(2, /*training=*/true);
  (void)rt.loss_and_backward(2);
  EXPECT_FALSE(rt.gradients_finite()) << out.name << " was read after its cut-short lifetime";
}

// Inference runs batch norm, activations and dropout in place: the same bits as separate buffers.
TEST(Runtime, InferenceInPlaceChangesNoResult) {
  const Net net = load_net_file(net_path("fashion-cnn"));
  std::vector<std::vector<float>> outs;
  for (bool inplace : {true, false}) {
    const Plan p = plan(net, {.batch = 3, .mode = Mode::infer, .threads = 2, .inplace = inplace});
    const int in_place = static_cast<int>(std::count_if(
        p.layers.begin(), p.layers.end(), [](const LayerBuffers& lb) { return lb.in_place; }));
    EXPECT_EQ(in_place > 0, inplace);
    Runtime rt(net, p, 8);
    fill_inputs(rt, net, p, 2);
    rt.forward(3, /*training=*/false);
    outs.emplace_back(rt.output(), rt.output() + 3 * net.output_shape().n_elems());
  }
  EXPECT_EQ(outs[0], outs[1]);
}

// Inference fuses conv -> batch norm -> activation into one step (Runtime::set_epilogue_fusion):
// the same bits as the three steps, with batch-norm statistics that are not 0 and 1, a
// depthwise conv, a norm with no activation after it, and a conv whose output has two readers
// (not fused), through the depthwise, GEMM-slice and 1x1 paths. The bits of a fused and an
// unfused run are compared, not a tolerance.
TEST(Runtime, FusedEpiloguesChangeNoResult) {
  const Net net = parse_net(
      "input 3 9 11\n"
      "conv 8 k=3 pad=1\nbatchnorm\nrelu\n"
      "conv 8 k=3 pad=1 groups=8\nbatchnorm\nsilu name=s\n"
      "conv 8 k=1\nbatchnorm name=b\nadd in=b,s\n"
      "conv 6 k=3 stride=2 name=c\nbatchnorm name=n\nclip min=0 max=0.5\nadd in=c,n\n"
      "loss mse",
      "fused.net");
  const Plan p = plan(net, {.batch = 3, .mode = Mode::infer, .threads = 2});
  std::vector<std::vector<float>> outs;
  for (bool fuse : {true, false}) {
    Runtime rt(net, p, 8);
    Rng rng(5);
    for (const ParamView& v : rt.parameters()) {
      const bool variance = v.name.find("running_var") != std::string::npos;
      for (int64_t i = 0; i < v.n_elems; ++i)
        v.data[i] = variance ? rng.uniform(0.5f, 2.0f) : rng.uniform(-1.0f, 1.0f);
    }
    rt.set_epilogue_fusion(fuse);
    // Three norms each with its conv, two activations with them; the fourth conv has two readers.
    EXPECT_EQ(rt.fused_layers(), fuse ? 5 : 0);
    fill_inputs(rt, net, p, 3);
    rt.forward(3, /*training=*/false);
    outs.emplace_back(rt.output(), rt.output() + 3 * net.output_shape().n_elems());
  }
  EXPECT_EQ(outs[0], outs[1]);
}

TEST(Runtime, SameSeedSameThreadsSameWeights) {
  const Net net = load_net_file(net_path("fashion-cnn"));
  const Plan p = plan(net, {.batch = 3, .optimizer = OptimizerKind::momentum, .threads = 2});
  std::vector<float> first;
  for (int run = 0; run < 2; ++run) {
    Runtime rt(net, p, 11);
    fill_inputs(rt, net, p, 4);
    for (int step = 0; step < 3; ++step) rt.train_step(3, {.lr = 0.01f});
    std::vector<float> weights;
    for (const ParamView& v : rt.parameters()) weights.insert(weights.end(), v.data, v.data + v.n_elems);
    if (run == 0) first = weights;
    else EXPECT_EQ(first, weights);
  }
}

TEST(Runtime, TrainingFitsOneBatch) {
  const Net net = load_net_file(net_path("lenet"));
  const Plan p = plan(net, {.batch = 8, .optimizer = OptimizerKind::adam});
  Runtime rt(net, p, 2);
  fill_inputs(rt, net, p, 6);
  const double first = rt.train_step(8, {.lr = 0.002f});
  double last = first;
  for (int step = 0; step < 50; ++step) last = rt.train_step(8, {.lr = 0.002f});
  EXPECT_LT(last, 0.1 * first);
}

}  // namespace
}  // namespace footprint
