// The training loop on real data: a short LeNet run on part of Fashion-MNIST learns, and the
// same seed and thread count give the same weights.
#include <gtest/gtest.h>

#include <filesystem>

#include "footprint/footprint.hpp"
#include "testing/nets.hpp"

namespace footprint {
namespace {

// The first n samples of a data set (kept as uint8, as loaded).
Dataset head(Dataset data, int64_t n) {
  const int64_t sample = data.sample_shape.n_elems();
  data.size = std::min(n, data.size);
  data.pixels.resize(data.size * sample);
  data.labels.resize(data.size);
  return data;
}

TEST(Train, LenetLearnsFashionMnistQuickly) {
  if (!std::filesystem::exists(kFashionMnistDir)) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  const DataSplit data = load_mnist_dir(kFashionMnistDir);
  const Dataset train_part = head(data.train, 4000), test_part = head(data.test, 1000);
  const Net net = load_net_file(testing::net_path("lenet"));
  const Plan p = plan(net, {.batch = 32, .optimizer = OptimizerKind::momentum, .threads = 1});
  Runtime runtime(net, p, 1);
  const EvalResult before = evaluate(runtime, test_part);
  int epochs_seen = 0;
  train(runtime, train_part, &test_part, {.epochs = 2, .optimizer = {.lr = 0.05f}}, nullptr,
        [&](const EpochResult& r) {
          ++epochs_seen;
          EXPECT_TRUE(r.has_test);
        });
  EXPECT_EQ(epochs_seen, 2);
  const EvalResult after = evaluate(runtime, test_part);
  EXPECT_LT(before.accuracy, 0.3);
  EXPECT_GT(after.accuracy, 0.65) << "test accuracy after 2 short epochs";
  EXPECT_LT(after.loss, before.loss);
  EXPECT_EQ(after.samples, 1000);
}

TEST(Train, StepsOptionStopsExactly) {
  const Net net = load_net_file(testing::net_path("lenet"));
  const Plan p = plan(net, {.batch = 8});
  Runtime runtime(net, p, 1);
  const Dataset data = synthetic_dataset(net.input_shape(), 10, 50, 3);
  int64_t last_step = 0;
  const int64_t steps = train(runtime, data, nullptr, {.steps = 9},
                              [&](const TrainProgress& pr) { last_step = pr.step; }, nullptr);
  EXPECT_EQ(steps, 9);
  EXPECT_EQ(last_step, 9);
}

TEST(Train, DataThatDoesNotFitTheNetIsAShapeError) {
  const Net net = load_net_file(testing::net_path("lenet"));
  const Plan p = plan(net, {.batch = 8});
  Runtime runtime(net, p, 1);
  const Dataset wrong = synthetic_dataset(Shape{3, 28, 28}, 10, 16, 3);
  EXPECT_THROW(train(runtime, wrong, nullptr, {}, nullptr, nullptr), ShapeError);
}

}  // namespace
}  // namespace footprint
