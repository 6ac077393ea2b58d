#include "core/thread_pool.hpp"

#include "core/check.hpp"

namespace footprint {

ThreadPool::ThreadPool(int threads) : threads_(threads) {
  FP_CHECK(threads >= 1, "threads=%d", threads);
  for (int t = 1; t < threads; ++t) workers_.emplace_back([this, t] { worker(t); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  work_ready_.notify_all();
  for (auto& w : workers_) w.join();
}

void ThreadPool::run_share(int thread) {
  int64_t chunk = n_ / threads_;
  int64_t extra = n_ % threads_;
  int64_t begin = thread * chunk + (thread < extra ? thread : extra);
  int64_t end = begin + chunk + (thread < extra ? 1 : 0);
  if (begin < end) call_(ctx_, begin, end, thread);
}

void ThreadPool::run(int64_t n, Trampoline call, void* ctx) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    n_ = n;
    call_ = call;
    ctx_ = ctx;
    pending_ = threads_ - 1;
    ++generation_;
  }
  work_ready_.notify_all();
  run_share(0);
  std::unique_lock<std::mutex> lock(mutex_);
  work_done_.wait(lock, [this] { return pending_ == 0; });
}

void ThreadPool::worker(int thread) {
  uint64_t seen = 0;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mutex_);
      work_ready_.wait(lock, [&] { return stopping_ || generation_ != seen; });
      if (stopping_) return;
      seen = generation_;
    }
    run_share(thread);
    bool last = false;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      last = --pending_ == 0;
    }
    if (last) work_done_.notify_one();
  }
}

}  // namespace footprint
