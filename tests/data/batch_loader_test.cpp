// The loader's ring against reading inline: the same batches in the same order whatever the
// number of workers, training bit for bit the same, the ring's bytes planned and no more,
// unreadable samples skipped and named once, errors carried back to the caller.
#include <gtest/gtest.h>

#include <cstring>
#include <stdexcept>

#include "footprint/footprint.hpp"
#include "testing/nets.hpp"

namespace footprint {
namespace {

// Wraps a source; read() fails (as an unreadable file would) on the given indices, or throws
// a logic_error (as a bug would) on `throw_at`.
class FlakySource final : public DataSource {
 public:
  FlakySource(const DataSource& inner, std::vector<int64_t> bad, int64_t throw_at = -1)
      : inner_(inner), bad_(std::move(bad)), throw_at_(throw_at) {}
  const std::string& name() const override { return inner_.name(); }
  int64_t size() const override { return inner_.size(); }
  int classes() const override { return inner_.classes(); }
  void check_fits(const Shape& input, int64_t outputs) const override { inner_.check_fits(input, outputs); }
  int read(int64_t i, const Shape& input, uint64_t augment, float* pixels, float* target,
           std::string& error) const override {
    if (i == throw_at_) throw std::logic_error("sample " + std::to_string(i) + " broke the reader");
    if (std::find(bad_.begin(), bad_.end(), i) != bad_.end()) {
      error = "sample " + std::to_string(i) + " is unreadable";
      return -2;
    }
    return inner_.read(i, input, augment, pixels, target, error);
  }
  int64_t resident_bytes() const override { return 0; }
  int64_t read_scratch_bytes(const Shape&) const override { return 0; }

 private:
  const DataSource& inner_;
  std::vector<int64_t> bad_;
  int64_t throw_at_;
};

struct Batch {
  std::vector<float> input;
  std::vector<int32_t> target, labels;
};

std::vector<Batch> read_pass(const Net& net, const DataSource& source, int prefetch, int workers,
                             std::span<const int64_t> order) {
  const Plan p = plan(net, {.batch = 8, .prefetch_batches = prefetch});
  Runtime runtime(net, p, 1);
  BatchLoader loader(source, runtime, workers);
  loader.start(order, 0, /*augment=*/11);
  std::vector<Batch> out;
  for (int64_t b = 0; b < loader.batches(); ++b) {
    const LoadedBatch batch = loader.next();
    const size_t n = static_cast<size_t>(batch.samples);
    const size_t elems = static_cast<size_t>(net.input_shape().n_elems());
    const auto* target = static_cast<const int32_t*>(runtime.target());
    out.push_back({std::vector<float>(runtime.input(), runtime.input() + n * elems),
                   std::vector<int32_t>(target, target + n),
                   std::vector<int32_t>(batch.labels.begin(), batch.labels.end())});
  }
  return out;
}

TEST(BatchLoader, RingGivesTheBatchesReadingInlineGivesForAnyNumberOfWorkers) {
  const Net net = load_net_file(testing::net_path("lenet"));
  const Dataset data = synthetic_dataset(net.input_shape(), 10, 103, 5);
  const auto source = dataset_source(data);
  FlakySource flaky(*source, {3, 50, 51, 102});
  std::vector<int64_t> order(103);
  for (int64_t i = 0; i < 103; ++i) order[static_cast<size_t>(i)] = (i * 37) % 103;
  const std::vector<Batch> inline_read = read_pass(net, flaky, 0, 1, order);
  ASSERT_EQ(inline_read.size(), 13u);
  EXPECT_EQ(inline_read.back().labels.size(), 103u - 96u - 1u);  // sample 102 sits in the last batch
  for (int workers : {1, 2, 5}) {
    for (int prefetch : {1, 3}) {
      const std::vector<Batch> ring = read_pass(net, flaky, prefetch, workers, order);
      ASSERT_EQ(ring.size(), inline_read.size());
      for (size_t b = 0; b < ring.size(); ++b) {
        EXPECT_EQ(ring[b].input, inline_read[b].input) << "batch " << b << ", " << workers << " workers";
        EXPECT_EQ(ring[b].target, inline_read[b].target);
        EXPECT_EQ(ring[b].labels, inline_read[b].labels);
        EXPECT_EQ(ring[b].labels, ring[b].target);
      }
    }
  }
}

std::vector<std::vector<float>> trained_weights(const Net& net, const DataSource& source, int prefetch,
                                                int loader_threads, int64_t* skipped_messages) {
  const Plan p = plan(net, {.batch = 16, .optimizer = OptimizerKind::momentum, .prefetch_batches = prefetch});
  const int64_t before = tracked_memory().current_bytes;
  reset_tracked_peak();
  Runtime runtime(net, p, 1);
  TrainOptions options{.epochs = 2, .optimizer = {.lr = 0.02f}, .seed = 9, .loader_threads = loader_threads};
  options.on_skip = [&](const std::string&) { ++*skipped_messages; };
  train(runtime, source, &source, options, nullptr, nullptr);
  EXPECT_EQ(tracked_memory().peak_bytes - before, p.total_bytes) << "prefetch " << prefetch;
  std::vector<std::vector<float>> weights;
  for (const ParamView& v : runtime.parameters()) weights.emplace_back(v.data, v.data + v.n_elems);
  return weights;
}

TEST(BatchLoader, TrainingThroughTheRingIsBitIdenticalAndPlanned) {
  const Net net = load_net_file(testing::net_path("lenet"));
  const Dataset data = synthetic_dataset(net.input_shape(), 10, 150, 2);
  const auto source = dataset_source(data);
  FlakySource flaky(*source, {0, 17, 149});
  int64_t messages_inline = 0, messages_ring = 0;
  const auto inline_weights = trained_weights(net, flaky, 0, 1, &messages_inline);
  const auto ring_weights = trained_weights(net, flaky, 2, 2, &messages_ring);
  EXPECT_EQ(ring_weights, inline_weights);
  // Three bad samples in a set used for training and for testing: named once by the training
  // loader and once by the evaluation loader, over both epochs.
  EXPECT_EQ(messages_inline, 6);
  EXPECT_EQ(messages_ring, 6);
  const Plan with_ring = plan(net, {.batch = 16, .prefetch_batches = 2});
  const Plan without = plan(net, {.batch = 16});
  EXPECT_EQ(with_ring.total_bytes - without.total_bytes, 2 * with_ring.data_slot_bytes);
  EXPECT_EQ(with_ring.category_bytes[static_cast<int>(Category::data)], 2 * with_ring.data_slot_bytes);
  // A slot holds a batch's input, its labels as the target, and the labels again.
  EXPECT_EQ(with_ring.data_slot_bytes, 16 * 28 * 28 * 4 + 64 + 64);
}

TEST(BatchLoader, ABatchWithNothingReadableIsAStepThatChangesNothing) {
  const Net net = load_net_file(testing::net_path("lenet"));
  const Dataset data = synthetic_dataset(net.input_shape(), 10, 24, 4);
  const auto source = dataset_source(data);
  std::vector<int64_t> all(24);
  for (int64_t i = 0; i < 24; ++i) all[static_cast<size_t>(i)] = i;
  FlakySource dead(*source, all);
  const Plan p = plan(net, {.batch = 8, .prefetch_batches = 2});
  Runtime runtime(net, p, 1);
  const std::vector<float> before(runtime.parameters()[0].data, runtime.parameters()[0].data + 10);
  int64_t steps_seen = 0, skipped = 0;
  TrainOptions options{.epochs = 1};
  const int64_t steps = train(runtime, dead, nullptr, options,
                              [&](const TrainProgress& pr) { ++steps_seen; skipped = pr.skipped; }, nullptr);
  EXPECT_EQ(steps, 3);
  EXPECT_EQ(steps_seen, 3);
  EXPECT_EQ(skipped, 24);
  EXPECT_EQ(std::vector<float>(runtime.parameters()[0].data, runtime.parameters()[0].data + 10), before);
}

TEST(BatchLoader, AnErrorInAWorkerReachesTheCaller) {
  const Net net = load_net_file(testing::net_path("lenet"));
  const Dataset data = synthetic_dataset(net.input_shape(), 10, 64, 4);
  const auto source = dataset_source(data);
  FlakySource broken(*source, {}, /*throw_at=*/37);
  for (int prefetch : {0, 2}) {
    const Plan p = plan(net, {.batch = 8, .prefetch_batches = prefetch});
    Runtime runtime(net, p, 1);
    EXPECT_THROW(train(runtime, broken, nullptr, {.epochs = 1, .loader_threads = 2}, nullptr, nullptr),
                 std::logic_error)
        << "prefetch " << prefetch;
  }
}

TEST(BatchLoader, APassStoppedHalfWayStartsAgainCleanly) {
  const Net net = load_net_file(testing::net_path("lenet"));
  const Dataset data = synthetic_dataset(net.input_shape(), 10, 80, 6);
  const auto source = dataset_source(data);
  const Plan p = plan(net, {.batch = 8, .prefetch_batches = 3});
  Runtime runtime(net, p, 1);
  BatchLoader loader(*source, runtime, 2);
  loader.start({}, 0, 0);
  const std::vector<float> first(runtime.input(), runtime.input() + 8 * 784);
  (void)loader.next();
  const std::vector<float> got_first(runtime.input(), runtime.input() + 8 * 784);
  (void)loader.next();
  loader.stop();
  loader.start({}, 0, 0);
  (void)loader.next();
  EXPECT_EQ(std::vector<float>(runtime.input(), runtime.input() + 8 * 784), got_first);
  loader.start({}, 9, 0);  // the last batch alone
  const LoadedBatch last = loader.next();
  EXPECT_EQ(last.samples, 8);
  EXPECT_EQ(last.labels[0], label_of(data, 72));
}

TEST(BatchLoader, PrefetchIsValidatedByThePlanner) {
  const Net net = load_net_file(testing::net_path("lenet"));
  EXPECT_THROW((void)plan(net, {.prefetch_batches = -1}), PlanError);
  EXPECT_THROW((void)plan(net, {.prefetch_batches = 65}), PlanError);
}

}  // namespace
}  // namespace footprint
