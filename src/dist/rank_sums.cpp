#include "dist/rank_sums.hpp"

#include <algorithm>
#include <cstring>
#include <vector>

namespace footprint {

RankSums::RankSums(Communicator& comm, int64_t piece) : comm_(comm), piece_(piece) {
  const int ranks = comm_.size();
  if (ranks <= 1) return;
  // Staging holds piece values per rank, so each rank's chunk of a ring sum is one piece.
  const int64_t staged = piece_ * ranks;
  float_staging_ = TrackedBuffer<float>(staged);
  float_scratch_ = TrackedBuffer<float>(sum_scratch_size(staged, ranks));
  double_staging_ = TrackedBuffer<double>(staged);
  double_scratch_ = TrackedBuffer<double>(sum_scratch_size(staged, ranks));
  float_sum_ = comm_.prepare_sum(std::span<float>(float_staging_.data(), staged),
                                 std::span<float>(float_scratch_.data(), float_scratch_.size()));
  double_sum_ = comm_.prepare_sum(std::span<double>(double_staging_.data(), staged),
                                  std::span<double>(double_scratch_.data(), double_scratch_.size()));
}

int64_t RankSums::staging_bytes(int ranks, int64_t piece) {
  if (ranks <= 1) return 0;
  const int64_t staged = piece * ranks, scratch = sum_scratch_size(staged, ranks);
  return tracked_bytes<float>(staged) + tracked_bytes<float>(scratch) +
         tracked_bytes<double>(staged) + tracked_bytes<double>(scratch);
}

template <typename T>
void RankSums::sum_through(std::span<T> values, TrackedBuffer<T>& staging,
                           Communicator::SumHandle h) {
  if (comm_.size() <= 1) return;
  const auto n = static_cast<int64_t>(values.size());
  const int64_t staged = staging.size();
  // Every rank runs the same number of sums: the same length everywhere is the caller's promise.
  for (int64_t at = 0; at < n; at += staged) {
    const int64_t count = std::min(staged, n - at);
    std::memcpy(staging.data(), values.data() + at, sizeof(T) * static_cast<size_t>(count));
    std::fill(staging.data() + count, staging.data() + staged, T{0});
    comm_.start(h);
    comm_.wait(h);
    std::memcpy(values.data() + at, staging.data(), sizeof(T) * static_cast<size_t>(count));
  }
}

void RankSums::sum(std::span<float> values) { sum_through(values, float_staging_, float_sum_); }
void RankSums::sum(std::span<double> values) { sum_through(values, double_staging_, double_sum_); }

double RankSums::sum(double value) {
  sum(std::span<double>(&value, 1));
  return value;
}

double RankSums::max(double value) {
  double largest = value;
  for (int r = 0; r < comm_.size(); ++r) {
    double v = value;
    comm_.broadcast(std::as_writable_bytes(std::span<double>(&v, 1)), r);
    largest = std::max(largest, v);
  }
  return largest;
}

void RankSums::gather_parts(std::span<float> values) {
  const int ranks = comm_.size();
  const auto n = static_cast<int64_t>(values.size());
  for (int r = 0; r < ranks; ++r) {
    const int64_t begin = sum_chunk_begin(n, ranks, r), end = sum_chunk_begin(n, ranks, r + 1);
    comm_.broadcast(std::as_writable_bytes(values.subspan(static_cast<size_t>(begin),
                                                          static_cast<size_t>(end - begin))),
                    r);
  }
}

}  // namespace footprint
