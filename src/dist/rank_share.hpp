// Which samples one rank of a data-parallel job reads: its share of every global batch, so the
// ranks together read each global batch exactly once, in the order one process would.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace footprint {

// One rank's samples for an epoch: `order` holds its share of each global batch one after
// another, and batch b of the rank is order[batch_ends[b - 1], batch_ends[b]) (BatchLoader's
// batch_ends).
struct RankShare {
  std::vector<int64_t> order;
  std::vector<int64_t> batch_ends;
};

// Global batch b is positions [b * global_batch, min((b + 1) * global_batch, n)) of the epoch's
// `global_order` (n its size). Its m samples are dealt out in contiguous slices in rank order:
// rank r takes m / ranks of them, one more when r < m % ranks. So the shares of a full batch
// differ by at most one sample when `ranks` does not divide it, and in a last, short batch a
// rank may get none. Deterministic: it depends only on the order, the batch and the ranks.
void rank_share(std::span<const int64_t> global_order, int64_t global_batch, int ranks, int rank,
                RankShare& out);

// Where rank r's slice of a batch of m samples starts, and how many it holds.
[[nodiscard]] int64_t rank_slice_begin(int64_t m, int ranks, int rank);
[[nodiscard]] int64_t rank_slice_size(int64_t m, int ranks, int rank);

}  // namespace footprint
