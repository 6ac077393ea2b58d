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

}  // namespace

ThreadPool::ThreadPool(int threads) : threads_(threads) {
  FP_CHECK(threads >= 1, "threads=%d", threads);
  for (int t = 1; t < threads; ++t) workers_.emplace_back([this, t] { worker(t); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_.store(true);
  }
  work_ready_.notify_all();
  for (auto& w : workers_) w.join();
}

void ThreadPool::run_share(int thread) {
  if (thread >= active_) return;
  int64_t chunk = n_ / active_;
  int64_t extra = n_ % active_;
  int64_t begin = thread * chunk + (thread < extra ? thread : extra);
  int64_t end = begin + chunk + (thread < extra ? 1 : 0);
  if (begin < end) call_(ctx_, begin, end, thread);
}

void ThreadPool::run(int64_t n, int active, Trampoline call, void* ctx) {
  n_ = n;
  active_ = active;
  call_ = call;
  ctx_ = ctx;
  pending_.store(threads_ - 1, std::memory_order_relaxed);
  {
    // Under the lock, so a worker about to sleep cannot miss the new generation.
    std::lock_guard<std::mutex> lock(mutex_);
    generation_.fetch_add(1, std::memory_order_release);
  }
  work_ready_.notify_all();
  run_share(0);
  for (int i = 0; i < kSpinRounds && pending_.load(std::memory_order_acquire) != 0; ++i) cpu_relax(i);
  if (pending_.load(std::memory_order_acquire) != 0) {
    std::unique_lock<std::mutex> lock(mutex_);
    work_done_.wait(lock, [this] { return pending_.load(std::memory_order_acquire) == 0; });
  }
}

void ThreadPool::worker(int thread) {
  uint64_t seen = 0;
  for (;;) {
    for (int i = 0; i < kSpinRounds && generation_.load(std::memory_order_acquire) == seen; ++i) {
      if (stopping_.load(std::memory_order_relaxed)) return;
      cpu_relax(i);
    }
    if (generation_.load(std::memory_order_acquire) == seen) {
      std::unique_lock<std::mutex> lock(mutex_);
      work_ready_.wait(lock, [&] {
        return stopping_.load() || generation_.load(std::memory_order_acquire) != seen;
      });
    }
    if (stopping_.load()) return;
    seen = generation_.load(std::memory_order_acquire);
    run_share(thread);
    if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      std::lock_guard<std::mutex> lock(mutex_);
      work_done_.notify_one();
    }
  }
}

}  // namespace footprint
