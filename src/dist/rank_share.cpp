// The rank's share of each global batch (rank_share.hpp says how batches are dealt out).
#include "dist/rank_share.hpp"

#include <algorithm>

#include "core/check.hpp"

namespace footprint {

int64_t rank_slice_size(int64_t m, int ranks, int rank) {
  return m / ranks + (rank < m % ranks ? 1 : 0);
}

int64_t rank_slice_begin(int64_t m, int ranks, int rank) {
  return int64_t{rank} * (m / ranks) + std::min<int64_t>(rank, m % ranks);
}

void rank_share(std::span<const int64_t> global_order, int64_t global_batch, int ranks, int rank,
                RankShare& out) {
  FP_CHECK(global_batch >= 1 && ranks >= 1 && rank >= 0 && rank < ranks,
           "global batch %lld, rank %d of %d", static_cast<long long>(global_batch), rank, ranks);
  const int64_t n = static_cast<int64_t>(global_order.size());
  const int64_t batches = (n + global_batch - 1) / global_batch;
  out.order.clear();
  out.batch_ends.clear();
  out.order.reserve(static_cast<size_t>(n / ranks + batches));
  out.batch_ends.reserve(static_cast<size_t>(batches));
  for (int64_t b = 0; b < batches; ++b) {
    const int64_t first = b * global_batch;
    const int64_t m = std::min(global_batch, n - first);
    const int64_t begin = first + rank_slice_begin(m, ranks, rank);
    const int64_t size = rank_slice_size(m, ranks, rank);
    out.order.insert(out.order.end(), global_order.begin() + begin,
                     global_order.begin() + begin + size);
    out.batch_ends.push_back(static_cast<int64_t>(out.order.size()));
  }
}

}  // namespace footprint
