// A layer of our own, added to an installed Footprint without touching the library: `square`
// (y = x * x), registered by keyword, used from C++ and from .net text, checked by finite
// differences with the library's own checker, then planned and trained for a few steps.
#include <cstdio>
#include <footprint/footprint.hpp>
#include <memory>
#include <string>

using namespace footprint;

namespace {

// y = x * x. Backward needs x (dx = 2 x dy), so the layer keeps its input and cannot run in
// place. Tensors are NCHW floats, batch first, one sample after another.
class Square final : public Layer {
 public:
  std::string_view op() const override { return "square"; }
  Shape infer_shape(std::span<const Shape> in) const override { return in[0]; }
  LayerNeeds describe(const PlanContext&) const override { return {.saves_input = true}; }

  void forward(const StepArgs& a) const override {
    const float* x = a.src[0];
    float* y = a.dst;
    // The runtime's threads split the batch's elements; each call gets [begin, end).
    parallel_for(a.pool, a.batch * a.out_shape.n_elems(), [&](int64_t begin, int64_t end, int) {
      for (int64_t i = begin; i < end; ++i) y[i] = x[i] * x[i];
    });
  }

  void backward(const StepArgs& a) const override {
    float* dx = a.d_src[0];
    if (dx == nullptr) return;  // no gradient wanted for the input
    // Another reader of x may have written its gradient first: then add to it.
    const bool accumulate = a.d_src_accumulate[0];
    const float* x = a.src[0];
    const float* dy = a.d_dst;
    parallel_for(a.pool, a.batch * a.out_shape.n_elems(), [&](int64_t begin, int64_t end, int) {
      for (int64_t i = begin; i < end; ++i) {
        const float g = 2.0f * x[i] * dy[i];
        dx[i] = accumulate ? dx[i] + g : g;
      }
    });
  }
};

constexpr const char* kNetText = R"(input 1 12 12
conv 4 k=3 pad=1
square
avgpool k=2
fc 3
loss mse
)";

}  // namespace

int main() {
  std::printf("footprint %s\n", version());
  // Once, before any net uses it. The factory validates the options of a .net line.
  register_layer("square", [](const LayerSpec& spec) -> std::unique_ptr<Layer> {
    if (!spec.arg.empty() || !spec.attrs.empty()) throw ParseError("square: takes no options");
    return std::make_unique<Square>();
  });

  Net net{Shape{1, 12, 12}};
  net << conv(4, {.k = 3, .pad = 1}) << layer("square") << avgpool(2) << fc(3)
      << loss(LossKind::mse);
  const Net parsed = parse_net(kNetText, "consumer.net");
  if (parsed.to_text() != net.to_text()) {
    std::fprintf(stderr, "the .net text and the C++ builder give different nets\n");
    return 1;
  }
  std::printf("C++ and .net text give the same net: %d layers, %lld parameters\n",
              net.n_layers(), static_cast<long long>(net.n_params()));

  // The square layer's gradient (and the conv's through it) by central differences.
  GradCheckOptions check;
  check.plan.threads = 2;
  const GradCheckResult result = check_gradients(net, check);
  std::printf("gradient check: %s\n", result.report().c_str());
  if (!result.ok()) return 1;

  Plan p = plan(net, {.batch = 8, .threads = 2});
  Runtime runtime(net, p, /*seed=*/1);
  Dataset data = synthetic_dataset(net.input_shape(), /*classes=*/3, /*size=*/8 * 4, /*seed=*/7);
  TrainOptions options{.steps = 4, .optimizer = {.lr = 0.05f}};
  train(runtime, data, /*test_data=*/nullptr, options,
        [](const TrainProgress& s) { std::printf("step %lld: loss %.4f\n", (long long)s.step, s.loss); },
        /*on_epoch=*/nullptr);
  std::printf("plan total %lld bytes; runtime peak %lld bytes\n", (long long)p.total_bytes,
              (long long)tracked_memory().peak_bytes);
  return tracked_memory().peak_bytes == p.total_bytes ? 0 : 1;
}
