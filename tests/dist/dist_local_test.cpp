// Data-parallel training without a second process: how each global batch is dealt out to the
// ranks, the gradient layout a data-parallel plan makes (contiguous buckets in backward order,
// no extra bytes), the communicator of one process, and whole runs with ranks as threads of
// this process (testing/thread_communicator.hpp) against one process.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <thread>

#include "dist/rank_share.hpp"
#include "footprint/footprint.hpp"
#include "footprint/communicator.hpp"
#include "testing/nets.hpp"
#include "testing/thread_communicator.hpp"

namespace footprint {
namespace {

TEST(RankShare, EveryGlobalBatchIsReadOnceInOrder) {
  for (int64_t n : {1, 7, 64, 100, 129}) {
    for (int64_t batch : {1, 5, 30, 64}) {
      for (int ranks : {1, 2, 3, 4}) {
        if (batch < ranks) continue;
        SCOPED_TRACE("n " + std::to_string(n) + " batch " + std::to_string(batch) + " ranks " +
                     std::to_string(ranks));
        std::vector<int64_t> order(static_cast<size_t>(n));
        for (int64_t i = 0; i < n; ++i) order[static_cast<size_t>(i)] = (i * 37 + 11) % n;
        std::vector<RankShare> shares(static_cast<size_t>(ranks));
        for (int r = 0; r < ranks; ++r) rank_share(order, batch, ranks, r, shares[static_cast<size_t>(r)]);
        const int64_t batches = (n + batch - 1) / batch;
        std::vector<int64_t> joined;
        for (int64_t b = 0; b < batches; ++b) {
          int64_t smallest = batch, largest = 0;
          for (const RankShare& s : shares) {
            ASSERT_EQ(static_cast<int64_t>(s.batch_ends.size()), batches);
            const int64_t begin = b == 0 ? 0 : s.batch_ends[static_cast<size_t>(b - 1)];
            const int64_t end = s.batch_ends[static_cast<size_t>(b)];
            smallest = std::min(smallest, end - begin);
            largest = std::max(largest, end - begin);
            EXPECT_LE(end - begin, rank_batch(static_cast<int>(batch), ranks));
            joined.insert(joined.end(), s.order.begin() + begin, s.order.begin() + end);
          }
          EXPECT_LE(largest - smallest, 1);
        }
        EXPECT_EQ(joined, order);  // rank 0's slice first: the one-process order exactly
      }
    }
  }
}

TEST(RankShare, RankBatchIsTheLargestShare) {
  EXPECT_EQ(rank_batch(64, 1), 64);
  EXPECT_EQ(rank_batch(64, 2), 32);
  EXPECT_EQ(rank_batch(64, 3), 22);
  EXPECT_EQ(rank_batch(3, 3), 1);
  EXPECT_THROW((void)rank_batch(2, 3), PlanError);
}

// The weight gradients of a data-parallel plan: one contiguous run at the start of the
// persistent block, in the order backward writes them, cut into buckets at layer boundaries;
// the running statistics right after them; and beyond one process's plan only the scratch the
// sums receive into (category allreduce): half of each bucket for two ranks.
TEST(GradientLayout, BucketsAreContiguousInBackwardOrderWithPlannedScratch) {
  const Net net = load_net_file(testing::net_path("fashion-cnn"));
  for (int64_t bucket_bytes : {int64_t{1}, int64_t{64} << 10, int64_t{1} << 20, int64_t{1} << 30}) {
    SCOPED_TRACE("bucket bytes " + std::to_string(bucket_bytes));
    const PlanOptions one{.batch = 32, .optimizer = OptimizerKind::adam, .threads = 2};
    PlanOptions two = one;
    two.ranks = 2;
    two.gradient_bucket_bytes = bucket_bytes;
    const Plan p1 = plan(net, one), p2 = plan(net, two);
    const int64_t scratch = p2.bytes(Category::allreduce);
    EXPECT_EQ(p1.bytes(Category::allreduce), 0);
    EXPECT_EQ(p2.total_bytes, p1.total_bytes + scratch);
    EXPECT_EQ(p2.persistent_bytes, p1.persistent_bytes + scratch);
    EXPECT_TRUE(p1.gradient_buckets.empty());
    ASSERT_FALSE(p2.gradient_buckets.empty());
    int64_t offset = 0, grads = 0, scratch_seen = 0;
    int last_ready = -1;
    std::vector<int> seen;
    for (size_t k = 0; k < p2.gradient_buckets.size(); ++k) {
      const GradientBucket& b = p2.gradient_buckets[k];
      EXPECT_EQ(b.offset_bytes, offset) << "bucket " << k;
      EXPECT_GT(b.ready_step, last_ready);
      if (k + 1 < p2.gradient_buckets.size()) {
        EXPECT_GE(b.size_bytes, bucket_bytes);
      }
      last_ready = b.ready_step;
      EXPECT_EQ(b.ready_step, p2.layers[static_cast<size_t>(b.last_layer)].backward_step);
      int64_t inside = b.offset_bytes;
      for (int g : b.buffers) {
        const Buffer& buffer = p2.buffers[static_cast<size_t>(g)];
        EXPECT_EQ(buffer.category, Category::weight_grads);
        EXPECT_EQ(buffer.offset_bytes, inside) << buffer.name;
        inside += buffer.size_bytes;
        // Written no later than the bucket is started.
        EXPECT_LE(p2.layers[static_cast<size_t>(buffer.owner_layer)].backward_step, b.ready_step);
        seen.push_back(g);
      }
      EXPECT_EQ(inside, b.offset_bytes + b.size_bytes);
      ASSERT_GE(b.scratch_buffer, 0);
      const Buffer& sb = p2.buffers[static_cast<size_t>(b.scratch_buffer)];
      EXPECT_EQ(sb.category, Category::allreduce);
      EXPECT_TRUE(sb.persistent);
      EXPECT_EQ(sb.data_bytes, (b.size_bytes / 4 + 1) / 2 * 4);
      scratch_seen += sb.size_bytes;
      offset += b.size_bytes;
      grads += b.size_bytes;
    }
    EXPECT_EQ(grads, p2.bytes(Category::weight_grads));
    // The 4 batch norms' running mean and variance, 32 or 64 channels each.
    EXPECT_EQ(p2.synced_state_offset_bytes, grads);
    EXPECT_EQ(p2.synced_state_bytes, 2 * (2 * 32 + 2 * 64) * 4);
    ASSERT_NE(p2.synced_state_scratch_buffer, kNoBuffer);
    scratch_seen += p2.buffers[static_cast<size_t>(p2.synced_state_scratch_buffer)].size_bytes;
    EXPECT_EQ(scratch_seen, scratch);
  }
}

// A job of one through the data-parallel path gives the very bits of plain training.
TEST(DataParallel, OneRankGivesThePlainRunsBits) {
  const Net net = load_net_file(testing::net_path("fashion-cnn"));
  const Dataset data = synthetic_dataset(net.input_shape(), 10, 70, 5);
  auto run = [&](Communicator* comm) {
    const Plan p = plan(net, {.batch = 16, .optimizer = OptimizerKind::adam, .threads = 1});
    Runtime runtime(net, p, 3);
    (void)train(runtime, data, &data, {.epochs = 2, .optimizer = {.lr = 1e-3f}, .communicator = comm},
                nullptr, nullptr);
    std::vector<float> weights;
    for (const ParamView& v : runtime.parameters()) weights.insert(weights.end(), v.data, v.data + v.n_elems);
    return weights;
  };
  const auto one = single_process_communicator();
  EXPECT_EQ(run(one.get()), run(nullptr));
}

struct RunResult {
  std::vector<float> weights;
  std::vector<double> losses;  // per step, the global mean reported
  int64_t tracked_peak = 0, planned = 0;
};

// `ranks` threads train `net` together for `steps` (one process: ranks 0).
std::vector<RunResult> run_ranks(const std::string& net_name, int ranks, int global_batch,
                                 int64_t data_size, int64_t steps, int prefetch = 0,
                                 bool sync_bn = false) {
  const Net net = load_net_file(testing::net_path(net_name));
  const Dataset data = synthetic_dataset(net.input_shape(), 10, data_size, 9);
  std::vector<RunResult> results(static_cast<size_t>(std::max(ranks, 1)));
  testing::ThreadGroup group(std::max(ranks, 1));
  auto rank_main = [&](int r) {
    const int n = std::max(ranks, 1);
    // Convolutions by im2col + GEMM: the batch-norm comparison below allows 1e-5 for sums in
    // another order, and with Winograd's rounding in fashion-cnn's convolutions those orders
    // moved its weights by 1.3e-5 after 3 steps (Winograd itself gives each sample the same
    // values at any batch; bench/conv3x3 and tests/kernels/conv_test.cpp cover it).
    const Plan p = plan(net, {.batch = rank_batch(global_batch, n), .optimizer = OptimizerKind::momentum,
                              .threads = 1, .winograd_conv = false, .prefetch_batches = prefetch,
                              .ranks = n, .gradient_bucket_bytes = 16 << 10,
                              .sync_batch_norm = sync_bn});
    Runtime runtime(net, p, 3);
    RunResult& out = results[static_cast<size_t>(r)];
    out.planned = p.total_bytes;
    (void)train(runtime, data, nullptr,
                {.steps = steps, .optimizer = {.lr = 0.02f}, .seed = 4,
                 .communicator = ranks > 0 ? &group.rank(r) : nullptr, .global_batch = global_batch},
                [&](const TrainProgress& pr) { out.losses.push_back(pr.loss); }, nullptr);
    for (const ParamView& v : runtime.parameters()) out.weights.insert(out.weights.end(), v.data, v.data + v.n_elems);
  };
  std::vector<std::thread> threads;
  for (int r = 0; r < std::max(ranks, 1); ++r) threads.emplace_back(rank_main, r);
  for (std::thread& t : threads) t.join();
  return results;
}

// Largest difference relative to the largest weight (a tensor-wide, not per-element, measure:
// weights near zero differ by rounding in the last bits of the others).
double relative_difference(const std::vector<float>& a, const std::vector<float>& b) {
  double diff = 0.0, scale = 0.0;
  for (size_t i = 0; i < a.size(); ++i) {
    diff = std::max(diff, std::abs(static_cast<double>(a[i]) - b[i]));
    scale = std::max(scale, std::abs(static_cast<double>(a[i])));
  }
  return diff / scale;
}

TEST(DataParallel, RanksAsThreadsMatchOneProcess) {
  // 64 over 2 ranks; 63 over 2 (32 + 31); 64 over 3 (22 + 21 + 21); 129 samples leave a last
  // batch of 1, which only rank 0 reads.
  struct Case { int ranks, batch; int64_t size, steps; };
  for (const Case c : {Case{2, 64, 640, 12}, Case{2, 63, 640, 12}, Case{3, 64, 640, 12},
                       Case{2, 64, 129, 9}}) {
    SCOPED_TRACE(std::to_string(c.ranks) + " ranks, batch " + std::to_string(c.batch) + ", " +
                 std::to_string(c.size) + " samples");
    const std::vector<RunResult> one = run_ranks("lenet", 0, c.batch, c.size, c.steps);
    const std::vector<RunResult> many = run_ranks("lenet", c.ranks, c.batch, c.size, c.steps);
    for (const RunResult& r : many) {
      EXPECT_EQ(r.weights, many[0].weights) << "the ranks disagree";
      EXPECT_EQ(r.losses.size(), one[0].losses.size());
    }
    EXPECT_LT(relative_difference(many[0].weights, one[0].weights), 1e-5);
    EXPECT_NEAR(many[0].losses.back(), one[0].losses.back(), 1e-5);
    EXPECT_NE(one[0].weights, run_ranks("lenet", 0, c.batch, c.size, c.steps + 1)[0].weights)
        << "one more step changes nothing: the comparison would be empty";
  }
}

// Synchronised batch norm: the ranks normalise with the global batch's statistics, so they train
// what one process does (float sums in another order); per-rank batch norm (the default, as DDP)
// trains something else, which shows the comparison can fail.
TEST(DataParallel, SynchronisedBatchNormTrainsWhatOneProcessDoes) {
  const std::vector<RunResult> one = run_ranks("fashion-cnn", 0, 32, 96, 3);
  const std::vector<RunResult> synced = run_ranks("fashion-cnn", 2, 32, 96, 3, 0, true);
  const std::vector<RunResult> per_rank = run_ranks("fashion-cnn", 2, 32, 96, 3, 0, false);
  EXPECT_EQ(synced[0].weights, synced[1].weights) << "the ranks disagree";
  EXPECT_LT(relative_difference(synced[0].weights, one[0].weights), 1e-5);
  EXPECT_GT(relative_difference(per_rank[0].weights, one[0].weights), 1e-4);
  const std::vector<RunResult> three = run_ranks("fashion-cnn", 3, 32, 96, 3, 0, true);
  EXPECT_LT(relative_difference(three[0].weights, one[0].weights), 1e-5);
}

// Dropout draws per sample of the global batch, so its masks do not change with the ranks; the
// loader's ring reads each rank's share ahead like any other order.
TEST(DataParallel, DropoutAndTheDataRingFollowTheGlobalBatch) {
  const std::vector<RunResult> one = run_ranks("fashion-cnn", 0, 16, 64, 4, /*prefetch=*/2);
  const std::vector<RunResult> two = run_ranks("fashion-cnn", 2, 16, 64, 4, /*prefetch=*/2);
  EXPECT_EQ(two[0].weights, two[1].weights);
  // Batch norm normalises each rank's half on its own, so only the first step's loss (before
  // any update) is the one process's; after it the weights part a little.
  EXPECT_NE(one[0].weights, two[0].weights);
  EXPECT_LT(relative_difference(two[0].weights, one[0].weights), 0.05);
}

}  // namespace
}  // namespace footprint
