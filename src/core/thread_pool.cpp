#include "core/thread_pool.hpp"

#include "core/check.hpp"

namespace footprint {
namespace {

// About 50 microseconds of polling before a thread goes to sleep. Past the first rounds the
// poll yields, so a machine with more runnable threads than cores still makes progress.
constexpr int kSpinRounds = 2000;

inline void cpu_relax(int round) {
  if (round < 500) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
  } else {
    std::this_thread::yield();
  }
}

inline uint32_t generation_of(uint64_t claim) { return static_cast<uint32_t>(claim >> 32); }

}  // namespace

ThreadPool::ThreadPool(int threads) : threads_(threads) {
  FP_CHECK(threads >= 1 && threads < (1 << 15), "threads=%d", threads);
  for (int t = 1; t < threads; ++t) workers_.emplace_back([this] { worker(); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_.store(true);
  }
  work_ready_.notify_all();
  for (auto& w : workers_) w.join();
}

void ThreadPool::run_chunks(uint32_t generation) {
  uint64_t claim = claim_.load(std::memory_order_acquire);
  for (;;) {
    if (generation_of(claim) != generation) return;
    const int chunks = static_cast<int>((claim >> 16) & 0xffff);
    const int chunk = static_cast<int>(claim & 0xffff);
    if (chunk >= chunks) return;
    if (!claim_.compare_exchange_weak(claim, claim + 1, std::memory_order_acq_rel)) continue;
    // Claimed: the run cannot return before this chunk completes, so n_, call_, ctx_ hold.
    const int64_t size = n_ / chunks, extra = n_ % chunks;
    const int64_t begin = chunk * size + std::min<int64_t>(chunk, extra);
    const int64_t end = begin + size + (chunk < extra ? 1 : 0);
    call_(ctx_, begin, end, chunk);
    if (completed_.fetch_add(1, std::memory_order_acq_rel) + 1 == chunks) {
      std::lock_guard<std::mutex> lock(mutex_);
      work_done_.notify_one();
    }
    claim = claim_.load(std::memory_order_acquire);
  }
}

void ThreadPool::run(int64_t n, int chunks, Trampoline call, void* ctx) {
  n_ = n;
  call_ = call;
  ctx_ = ctx;
  completed_.store(0, std::memory_order_relaxed);
  ++generation_;
  {
    // Under the lock, so a worker about to sleep cannot miss the new generation.
    std::lock_guard<std::mutex> lock(mutex_);
    claim_.store(uint64_t{generation_} << 32 | uint64_t(chunks) << 16, std::memory_order_release);
  }
  work_ready_.notify_all();
  run_chunks(generation_);
  for (int i = 0; i < kSpinRounds && completed_.load(std::memory_order_acquire) != chunks; ++i) {
    cpu_relax(i);
  }
  if (completed_.load(std::memory_order_acquire) != chunks) {
    std::unique_lock<std::mutex> lock(mutex_);
    work_done_.wait(lock, [&] { return completed_.load(std::memory_order_acquire) == chunks; });
  }
}

void ThreadPool::worker() {
  uint32_t seen = 0;
  for (;;) {
    for (int i = 0; i < kSpinRounds && generation_of(claim_.load(std::memory_order_acquire)) == seen;
         ++i) {
      if (stopping_.load(std::memory_order_relaxed)) return;
      cpu_relax(i);
    }
    if (generation_of(claim_.load(std::memory_order_acquire)) == seen) {
      std::unique_lock<std::mutex> lock(mutex_);
      work_ready_.wait(lock, [&] {
        return stopping_.load() || generation_of(claim_.load(std::memory_order_acquire)) != seen;
      });
    }
    if (stopping_.load()) return;
    seen = generation_of(claim_.load(std::memory_order_acquire));
    run_chunks(seen);
  }
}

}  // namespace footprint
