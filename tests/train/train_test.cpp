// The training loop on real data: a short LeNet run on part of Fashion-MNIST learns, and the
// same seed and thread count give the same weights; a run stopped between steps and resumed
// from its checkpoint ends with the weights of a run that never stopped.
#include <gtest/gtest.h>

#include <unistd.h>

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

TEST(Train, ShouldStopEndsTheRunAfterTheStepInProgress) {
  const Net net = load_net_file(testing::net_path("lenet"));
  const Plan p = plan(net, {.batch = 8});
  Runtime runtime(net, p, 1);
  const Dataset data = synthetic_dataset(net.input_shape(), 10, 50, 3);
  bool stop = false;
  int64_t last_step = 0;
  int epochs = 0;
  TrainOptions options{.steps = 20};
  options.should_stop = [&] { return stop; };
  const int64_t steps = train(
      runtime, data, nullptr, options,
      [&](const TrainProgress& pr) {
        last_step = pr.step;
        EXPECT_EQ(pr.end_step, 20);
        if (pr.step == 3) stop = true;  // as a signal handler would, during step 3
      },
      [&](const EpochResult&) { ++epochs; });
  EXPECT_EQ(steps, 3);
  EXPECT_EQ(last_step, 3);
  EXPECT_EQ(epochs, 0);  // the epoch cut short is not reported as if it were whole
}

TEST(Train, StepsAndEpochsCountTheWholeRun) {
  EXPECT_EQ(train_end_step({.steps = 10, .start_step = 6}, 4), 10);
  EXPECT_EQ(train_end_step({.epochs = 3, .start_step = 6}, 4), 12);
  const Net net = load_net_file(testing::net_path("lenet"));
  const Plan p = plan(net, {.batch = 8});
  Runtime runtime(net, p, 1);
  const Dataset data = synthetic_dataset(net.input_shape(), 10, 50, 3);
  // A run that has done its steps already does nothing more.
  EXPECT_EQ(train(runtime, data, nullptr, {.steps = 4, .start_step = 6}, nullptr, nullptr), 6);
}

std::string temp_file(const std::string& name) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("footprint_train_test_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  return (dir / name).string();
}

// Dropout, batch norm and Adam, across an epoch boundary (8 steps an epoch): everything a resumed
// run must restore (data order, dropout masks, running statistics, moments) shows in the weights.
TEST(Train, ResumedFromACheckpointEndsWithTheWeightsOfAnUninterruptedRun) {
  const Net net = parse_net("input 1 12 12\nconv 4 k=3\nbatchnorm\nrelu\nmaxpool k=2\n"
                            "dropout p=0.3\nfc 10\nloss softmax_xent\n", "small.net");
  const Dataset data = synthetic_dataset(net.input_shape(), 10, 64, 5);
  const PlanOptions plan_options{.batch = 8, .optimizer = OptimizerKind::adam, .threads = 2};
  const TrainOptions goal{.steps = 20, .optimizer = {.lr = 0.01f}, .seed = 3};

  const Plan p = plan(net, plan_options);
  Runtime whole(net, p, goal.seed);
  ASSERT_EQ(train(whole, data, nullptr, goal, nullptr, nullptr), 20);
  const std::string whole_path = temp_file("whole.fpm");
  save_checkpoint(whole_path, whole, goal, 20);

  const std::string stopped_path = temp_file("stopped.fpm");
  {
    Runtime first(net, p, goal.seed);
    TrainOptions options = goal;
    int64_t done = 0;
    options.should_stop = [&] { return done == 11; };
    ASSERT_EQ(train(first, data, nullptr, options,
                    [&](const TrainProgress& pr) { done = pr.step; }, nullptr),
              11);
    save_checkpoint(stopped_path, first, options, 11);
  }
  const SavedModel checkpoint = load_model(stopped_path);
  // The caller's batch, optimizer and settings give way to the checkpoint's.
  const ResumedTraining r = resume_training(checkpoint, {.batch = 1, .threads = 2},
                                            {.steps = 20, .optimizer = {.lr = 9.0f}, .seed = 99});
  EXPECT_EQ(r.plan_options.batch, 8);
  EXPECT_EQ(r.plan_options.optimizer, OptimizerKind::adam);
  EXPECT_EQ(r.plan_options.mode, Mode::train);
  EXPECT_EQ(r.options.optimizer.lr, 0.01f);
  EXPECT_EQ(r.options.seed, 3u);
  EXPECT_EQ(r.options.start_step, 11);
  EXPECT_EQ(r.options.steps, 20);
  const Plan resumed_plan = plan(r.net, r.plan_options);
  Runtime resumed(r.net, resumed_plan, r.options.seed);
  restore_parameters(checkpoint, resumed);
  ASSERT_EQ(train(resumed, data, nullptr, r.options, nullptr, nullptr), 20);
  const std::string resumed_path = temp_file("resumed.fpm");
  save_checkpoint(resumed_path, resumed, r.options, 20);

  const SavedModel a = load_model(whole_path), b = load_model(resumed_path);
  ASSERT_EQ(a.tensors.size(), b.tensors.size());
  for (size_t i = 0; i < a.tensors.size(); ++i) {
    EXPECT_EQ(a.tensors[i].data, b.tensors[i].data) << a.tensors[i].name;
    EXPECT_EQ(a.tensors[i].optimizer_state, b.tensors[i].optimizer_state) << a.tensors[i].name;
  }
  EXPECT_EQ(a.train_state.forward_calls, b.train_state.forward_calls);
}

TEST(Train, AModelWithoutTrainingStateIsNotResumed) {
  const Net net = load_net_file(testing::net_path("lenet"));
  const Plan p = plan(net, {.batch = 8});
  Runtime runtime(net, p, 1);
  const std::string path = temp_file("weights_only.fpm");
  save_model(path, runtime, {});  // no TrainState
  try {
    (void)resume_training(load_model(path), {}, {}, path);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(path + ": holds no training state"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace footprint
