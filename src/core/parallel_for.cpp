// parallel_for for layers outside the library (include/footprint/layer.hpp): the thread pool's
// own split behind a function pointer, so ThreadPool stays out of the public headers.
#include "core/thread_pool.hpp"
#include "footprint/layer.hpp"

namespace footprint {

void parallel_for_chunks(ThreadPool* pool, int64_t n, int64_t min_grain, ParallelChunkFn call,
                         void* context) {
  if (n <= 0) return;
  if (pool == nullptr) {
    call(context, 0, n, 0);
    return;
  }
  pool->parallel_for(
      n, [&](int64_t begin, int64_t end, int chunk) { call(context, begin, end, chunk); },
      min_grain);
}

}  // namespace footprint
