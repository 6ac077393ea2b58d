// One pool of worker threads shared by every layer. Work is split into fixed chunks (one per
// taking-part thread), so results are the same for the same thread count whichever thread runs
// which chunk. The pool never allocates while running work.
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

  // Calls fn(begin, end, chunk) once per chunk of a static split of [0, n) into at most size()
  // contiguous chunks; chunk (0, 1, ...) is unique among the calls running at once, so it may
  // pick a slice of a shared workspace. Chunks go to whichever thread claims them first: a worker
  // the OS has not scheduled yet costs nothing, the caller runs the chunks itself. Returns when
  // all are done.
  // min_grain: the fewest items worth a chunk; work smaller than two grains runs on the calling
  // thread alone, since waking a second thread costs more than it saves. The split depends only
  // on n, min_grain and the thread count, so results stay deterministic.
  template <typename Fn>
  void parallel_for(int64_t n, Fn&& fn, int64_t min_grain = 1) {
    if (n <= 0) return;
    const int64_t useful = min_grain > 1 ? n / min_grain : n;
    const int active = static_cast<int>(std::min<int64_t>(threads_, std::max<int64_t>(useful, 1)));
    if (active == 1) {
      fn(int64_t{0}, n, 0);
      return;
    }
    run(n, active, [](void* ctx, int64_t begin, int64_t end, int chunk) {
      (*static_cast<Fn*>(ctx))(begin, end, chunk);
    }, &fn);
  }

 private:
  using Trampoline = void (*)(void*, int64_t, int64_t, int);
  void run(int64_t n, int chunks, Trampoline call, void* ctx);
  void worker();
  // Claims and runs chunks of run `generation` until none is left.
  void run_chunks(uint32_t generation);

  int threads_;
  std::vector<std::thread> workers_;
  // Workers and the caller spin briefly before sleeping: layers hand out many short pieces of
  // work in a row, and a futex sleep and wake-up per piece would cost more than the work.
  std::mutex mutex_;
  std::condition_variable work_ready_;
  std::condition_variable work_done_;
  // generation << 32 | chunks << 16 | next unclaimed chunk. Claiming is a compare-and-swap on
  // the whole word, so a worker that wakes late can never claim a chunk of a later run.
  std::atomic<uint64_t> claim_{0};
  std::atomic<int> completed_{0};  // chunks of the current run finished
  std::atomic<bool> stopping_{false};
  uint32_t generation_ = 0;  // written by the calling thread only
  // The current run; written before its generation is published and stable until it returns.
  int64_t n_ = 0;
  Trampoline call_ = nullptr;
  void* ctx_ = nullptr;
};

}  // namespace footprint
