// Build a net in C++, print its memory plan, train a few steps and save it.
#include <cstdio>
#include <footprint/footprint.hpp>

using namespace footprint;

int main(int argc, char** argv) {
  const char* save_path = argc > 1 ? argv[1] : "quickstart.fpm";
  Net net{Shape{1, 28, 28}};
  net << conv(8, {.k = 3, .pad = 1}) << relu() << maxpool(2)
      << conv(16, {.k = 3, .pad = 1}) << relu() << maxpool(2)
      << fc(10) << loss(LossKind::softmax_xent);

  Plan p = plan(net, {.batch = 16, .optimizer = OptimizerKind::adam, .threads = 2});
  std::printf("%s\n", plan_table(net, p).c_str());

  Runtime runtime(net, p, /*seed=*/1);  // allocates the plan's bytes, once
  Dataset data = synthetic_dataset(net.input_shape(), /*classes=*/10, /*size=*/16 * 5, /*seed=*/7);
  TrainOptions options{.steps = 5, .optimizer = {.lr = 1e-3f}};
  train(runtime, data, /*test_data=*/nullptr, options,
        [](const TrainProgress& s) { std::printf("step %lld: loss %.4f\n", (long long)s.step, s.loss); },
        /*on_epoch=*/nullptr);

  save_model(save_path, runtime, options.optimizer);
  std::printf("saved %s; runtime peak %lld bytes, plan %lld bytes\n", save_path,
              (long long)tracked_memory().peak_bytes, (long long)p.total_bytes);
}
