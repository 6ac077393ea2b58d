// Reads batches from a DataSource into a Runtime's input and target. With a data ring in the
// plan (PlanOptions::prefetch_batches = K), worker threads read up to K batches ahead into the
// ring's slots while the step runs, and next() copies the oldest into the input; without one,
// next() reads the batch itself. Samples that cannot be read are skipped (the batch comes out
// smaller) and reported once each; the order of samples and their random transforms depend
// only on the order and seed given, not on the number of workers.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "footprint/data_source.hpp"
#include "footprint/runtime.hpp"

namespace footprint {

struct LoadedBatch {
  int samples = 0;                  // readable samples, first in the input (0: none were)
  std::span<const int32_t> labels;  // per sample: its class, -1 for float targets; valid until next()
  double wait_seconds = 0.0;        // how long next() waited for the batch (or read it)
};

class BatchLoader {
 public:
  // `workers` threads when the runtime's plan has a data ring, none otherwise. The source and
  // runtime must outlive the loader.
  BatchLoader(const DataSource& source, Runtime& runtime, int workers);
  ~BatchLoader();
  BatchLoader(const BatchLoader&) = delete;
  BatchLoader& operator=(const BatchLoader&) = delete;

  // A pass over the samples `order` (empty: 0, 1, ..., size - 1), in batches of the plan's
  // batch, from batch `first_batch` on. `augment` != 0 seeds the samples' random transforms
  // (each sample's seed mixes it with the sample's index); 0 reads them untransformed.
  // `batch_ends`, when given, cuts `order` into batches of other sizes (at most the plan's, 0
  // allowed): batch b is order[batch_ends[b - 1], batch_ends[b]) (a data-parallel rank's share
  // of each global batch). The caller keeps `order` and `batch_ends` alive until the pass is
  // over or stop() returns. Starting a pass stops the one before.
  void start(std::span<const int64_t> order, int64_t first_batch, uint64_t augment,
             std::span<const int64_t> batch_ends = {});
  [[nodiscard]] int64_t batches() const { return batches_; }
  // The next batch of the pass, in the runtime's input and target. Rethrows what a worker hit
  // (other than an unreadable sample).
  LoadedBatch next();
  // Ends the pass early: waits for the workers to put down what they are reading.
  void stop();

  // Messages about samples skipped since the last call (each sample named once, ever), and
  // how many distinct samples have been skipped in all.
  [[nodiscard]] std::vector<std::string> take_warnings();
  [[nodiscard]] int64_t skipped() const;

 private:
  struct Slot {
    int64_t batch = -1;
    int samples = 0;
    bool ready = false;
    std::exception_ptr error;
  };
  int fill(int64_t batch, float* input, void* target, int32_t* labels, std::vector<float>& scratch);
  void work();

  const DataSource& source_;
  Runtime& runtime_;
  Shape input_shape_;
  int64_t outputs_ = 0;
  int batch_ = 1;
  int ring_ = 0;
  LossKind loss_ = LossKind::none;
  bool has_target_ = false;

  std::span<const int64_t> order_, batch_ends_;
  int64_t size_ = 0, batches_ = 0;
  uint64_t augment_ = 0;
  std::unique_ptr<std::atomic<uint8_t>[]> bad_;  // per sample: found unreadable
  std::vector<int32_t> labels_;                  // the batch next() returned
  std::vector<float> own_scratch_;               // float targets a source writes with no target buffer

  mutable std::mutex mutex_;
  std::condition_variable work_ready_, batch_ready_, idle_;
  std::vector<Slot> slots_;
  int64_t next_claim_ = 0, consumed_ = 0, generation_ = 0;
  int busy_ = 0;
  bool active_ = false, shutdown_ = false;
  std::vector<std::string> warnings_;
  int64_t skipped_ = 0;
  std::vector<std::thread> workers_;
};

}  // namespace footprint
