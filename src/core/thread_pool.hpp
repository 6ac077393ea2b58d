// One pool of worker threads shared by every layer. Work is split statically, so results are
// the same for the same thread count. The pool never allocates while running work.
#pragma once

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

namespace footprint {

class ThreadPool {
 public:
  explicit ThreadPool(int threads);  // threads >= 1; the calling thread is one of them
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  [[nodiscard]] int size() const { return threads_; }

  // Calls fn(begin, end, thread) once per thread over a static split of [0, n): thread t gets
  // a contiguous range. Threads with an empty range are not called. Returns when all are done.
  // min_grain: the fewest items worth handing to a thread; work smaller than two grains runs on
  // the calling thread alone, since waking a second thread costs more than it saves. The split
  // depends only on n, min_grain and the thread count, so results stay deterministic.
  template <typename Fn>
  void parallel_for(int64_t n, Fn&& fn, int64_t min_grain = 1) {
    if (n <= 0) return;
    const int64_t useful = min_grain > 1 ? n / min_grain : n;
    const int active = static_cast<int>(std::min<int64_t>(threads_, std::max<int64_t>(useful, 1)));
    if (active == 1) {
      fn(int64_t{0}, n, 0);
      return;
    }
    run(n, active, [](void* ctx, int64_t begin, int64_t end, int thread) {
      (*static_cast<Fn*>(ctx))(begin, end, thread);
    }, &fn);
  }

 private:
  using Trampoline = void (*)(void*, int64_t, int64_t, int);
  void run(int64_t n, int active, Trampoline call, void* ctx);
  void worker(int thread);
  void run_share(int thread);

  int threads_;
  std::vector<std::thread> workers_;
  // Workers and the caller spin briefly before sleeping: layers hand out many short pieces of
  // work in a row, and a futex sleep and wake-up per piece would cost more than the work.
  std::mutex mutex_;
  std::condition_variable work_ready_;
  std::condition_variable work_done_;
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> pending_{0};
  std::atomic<bool> stopping_{false};
  int64_t n_ = 0;
  int active_ = 1;  // threads taking part in the current run: [0, active_)
  Trampoline call_ = nullptr;
  void* ctx_ = nullptr;
};

}  // namespace footprint
