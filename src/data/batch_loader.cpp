// The loader's ring: worker threads claim batches in order, at most `ring` ahead of the one the
// step is on, and read each into the slot it will occupy (batch b in slot b % ring); next()
// waits for its batch's slot, copies it into the runtime's input and frees the slot. A pass is
// identified by a generation count, so a batch read for a pass that was stopped is dropped.
#include "footprint/batch_loader.hpp"

#include <chrono>
#include <cstring>

#include "core/check.hpp"
#include "core/stopwatch.hpp"
#include "core/rng.hpp"
#include "footprint/error.hpp"

namespace footprint {

BatchLoader::BatchLoader(const DataSource& source, Runtime& runtime, int workers)
    : source_(source), runtime_(runtime), input_shape_(runtime.net().input_shape()),
      outputs_(runtime.net().output_shape().n_elems()), batch_(runtime.plan().options.batch),
      ring_(runtime.plan().options.prefetch_batches), loss_(runtime.net().loss_kind()),
      has_target_(runtime.target() != nullptr), size_(source.size()),
      bad_(std::make_unique<std::atomic<uint8_t>[]>(static_cast<size_t>(source.size()))),
      labels_(static_cast<size_t>(batch_)) {
  source_.check_fits(input_shape_, outputs_);
  if (source_.float_targets() && loss_ == LossKind::softmax_xent) {
    throw ShapeError(source_.name() + ": float targets, but the net's loss softmax_xent takes class "
                     "labels (use loss mse)");
  }
  own_scratch_.resize(static_cast<size_t>(source_.target_elems()));
  if (ring_ > 0) {
    slots_.resize(static_cast<size_t>(ring_));
    for (int w = 0; w < std::max(1, workers); ++w) workers_.emplace_back([this] { work(); });
  }
}

BatchLoader::~BatchLoader() {
  {
    std::lock_guard lock(mutex_);
    shutdown_ = true;
    ++generation_;
  }
  work_ready_.notify_all();
  for (std::thread& t : workers_) t.join();
}

void BatchLoader::start(std::span<const int64_t> order, int64_t first_batch, uint64_t augment,
                        std::span<const int64_t> batch_ends) {
  stop();
  std::lock_guard lock(mutex_);
  order_ = order;
  batch_ends_ = batch_ends;
  const int64_t n = order.empty() ? size_ : static_cast<int64_t>(order.size());
  batches_ = (n + batch_ - 1) / batch_;
  if (!batch_ends.empty()) {
    batches_ = static_cast<int64_t>(batch_ends.size());
    for (int64_t b = 0; b < batches_; ++b) {
      const int64_t begin = b == 0 ? 0 : batch_ends[static_cast<size_t>(b - 1)];
      FP_CHECK(begin <= batch_ends[static_cast<size_t>(b)] &&
                   batch_ends[static_cast<size_t>(b)] - begin <= batch_ && batch_ends.back() <= n,
               "batch %lld ends at %lld after %lld (batch %d, %lld samples)", (long long)b,
               (long long)batch_ends[static_cast<size_t>(b)], (long long)begin, batch_, (long long)n);
    }
  }
  next_claim_ = consumed_ = first_batch;
  augment_ = augment;
  for (Slot& slot : slots_) slot = Slot{};
  active_ = true;
  work_ready_.notify_all();
}

void BatchLoader::stop() {
  std::unique_lock lock(mutex_);
  if (!active_) return;
  active_ = false;
  ++generation_;
  idle_.wait(lock, [&] { return busy_ == 0; });
}

// Reads batch `batch` of the pass into input/target/labels, skipping unreadable samples;
// returns how many it read.
int BatchLoader::fill(int64_t batch, float* input, void* target, int32_t* labels,
                      std::vector<float>& scratch) {
  const int64_t total = order_.empty() ? size_ : static_cast<int64_t>(order_.size());
  int64_t begin = batch * batch_;
  int64_t end = std::min<int64_t>(begin + batch_, total);
  if (!batch_ends_.empty()) {
    begin = batch == 0 ? 0 : batch_ends_[static_cast<size_t>(batch - 1)];
    end = batch_ends_[static_cast<size_t>(batch)];
  }
  const int64_t sample_elems = input_shape_.n_elems();
  const bool float_targets = source_.float_targets();
  std::string error;
  int n = 0;
  for (int64_t k = begin; k < end; ++k) {
    const int64_t i = order_.empty() ? k : order_[static_cast<size_t>(k)];
    if (bad_[static_cast<size_t>(i)].load(std::memory_order_relaxed)) continue;
    const uint64_t key = augment_ == 0 ? 0 : (mix64(augment_ ^ mix64(static_cast<uint64_t>(i))) | 1);
    float* target_row = !float_targets ? nullptr
                        : has_target_  ? static_cast<float*>(target) + n * outputs_
                                       : scratch.data();
    const int label = source_.read(i, input_shape_, key, input + n * sample_elems, target_row, error);
    if (label == -2) {
      if (!bad_[static_cast<size_t>(i)].exchange(1)) {
        std::lock_guard lock(mutex_);
        warnings_.push_back("skipped sample " + std::to_string(i) + ": " + error);
        ++skipped_;
      }
      continue;
    }
    if (label >= outputs_) {
      throw ShapeError(source_.name() + " sample " + std::to_string(i) + ": label " +
                       std::to_string(label) + " does not fit a net with " + std::to_string(outputs_) +
                       " outputs; expected at least " + std::to_string(source_.classes()));
    }
    labels[n] = label;
    if (has_target_ && !float_targets) {
      if (loss_ == LossKind::softmax_xent) {
        static_cast<int32_t*>(target)[n] = label;
      } else {  // mse on class labels: row n of a one-hot matrix
        float* row = static_cast<float*>(target) + n * outputs_;
        std::memset(row, 0, static_cast<size_t>(outputs_) * sizeof(float));
        row[label] = 1.0f;
      }
    }
    ++n;
  }
  return n;
}

void BatchLoader::work() {
  std::vector<float> scratch(static_cast<size_t>(source_.target_elems()));
  std::unique_lock lock(mutex_);
  while (true) {
    work_ready_.wait(lock, [&] {
      return shutdown_ || (active_ && next_claim_ < batches_ && next_claim_ < consumed_ + ring_);
    });
    if (shutdown_) return;
    const int64_t batch = next_claim_++;
    const int64_t generation = generation_;
    Slot& slot = slots_[static_cast<size_t>(batch % ring_)];
    slot = Slot{.batch = batch};
    ++busy_;
    lock.unlock();
    const Runtime::DataSlot place = runtime_.data_slot(static_cast<int>(batch % ring_));
    int samples = 0;
    std::exception_ptr error;
    try {
      samples = fill(batch, place.input, place.target, place.labels, scratch);
    } catch (...) {
      error = std::current_exception();
    }
    lock.lock();
    --busy_;
    if (generation == generation_) {
      slot.samples = samples;
      slot.error = error;
      slot.ready = true;
      batch_ready_.notify_all();
    }
    if (busy_ == 0) idle_.notify_all();
  }
}

LoadedBatch BatchLoader::next() {
  const auto start = Clock::now();
  FP_CHECK(active_ && consumed_ < batches_, "BatchLoader::next past the end of the pass");
  LoadedBatch out;
  if (ring_ == 0) {
    out.samples = fill(consumed_++, runtime_.input(), runtime_.target(), labels_.data(), own_scratch_);
  } else {
    const int64_t batch = consumed_;
    Slot& slot = slots_[static_cast<size_t>(batch % ring_)];
    {
      std::unique_lock lock(mutex_);
      batch_ready_.wait(lock, [&] { return slot.ready && slot.batch == batch; });
    }
    out.wait_seconds = seconds_since(start);
    if (slot.error) {
      stop();
      std::rethrow_exception(slot.error);
    }
    // The slot is the loader's until consumed_ moves past it: no worker claims batch + ring.
    const Runtime::DataSlot place = runtime_.data_slot(static_cast<int>(batch % ring_));
    out.samples = slot.samples;
    const size_t n = static_cast<size_t>(out.samples);
    std::memcpy(runtime_.input(), place.input, n * static_cast<size_t>(input_shape_.n_elems()) * sizeof(float));
    if (has_target_) {
      const size_t per_sample = loss_ == LossKind::softmax_xent ? sizeof(int32_t)
                                                                : static_cast<size_t>(outputs_) * sizeof(float);
      std::memcpy(runtime_.target(), place.target, n * per_sample);
    }
    std::memcpy(labels_.data(), place.labels, n * sizeof(int32_t));
    std::lock_guard lock(mutex_);
    slot.ready = false;
    ++consumed_;
    work_ready_.notify_all();
  }
  if (ring_ == 0) out.wait_seconds = seconds_since(start);
  out.labels = std::span<const int32_t>(labels_.data(), static_cast<size_t>(out.samples));
  return out;
}

std::vector<std::string> BatchLoader::take_warnings() {
  std::lock_guard lock(mutex_);
  std::vector<std::string> out;
  out.swap(warnings_);
  return out;
}

int64_t BatchLoader::skipped() const {
  std::lock_guard lock(mutex_);
  return skipped_;
}

}  // namespace footprint
