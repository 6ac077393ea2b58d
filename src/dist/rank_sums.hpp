// Blocking sums over the ranks of vectors of any length through a fixed staging buffer, for
// work that is not a training step (tile-parallel style transfer sums its Gram matrices and
// its pixel gradient once per evaluation). Two sums are prepared once (float and double) on a
// staging buffer of `piece` values per rank; a long vector is copied through it piece by piece,
// so the bytes stay bounded (staging_bytes) however large the image, and every rank ends with
// the same bits (the ring's order). Also: the largest of one value over the ranks, and
// gathering each rank's part of a vector to every rank.
#pragma once

#include <cstdint>
#include <span>

#include "core/tracked_buffer.hpp"
#include "footprint/communicator.hpp"

namespace footprint {

class RankSums {
 public:
  // Every rank must make one with the same piece, in the same order relative to its other
  // prepared sums.
  RankSums(Communicator& comm, int64_t piece = kDefaultPiece);

  void sum(std::span<float> values);
  void sum(std::span<double> values);
  [[nodiscard]] double sum(double value);
  // The largest of `value` over the ranks (exact: nothing is added).
  [[nodiscard]] double max(double value);
  // values[begin(r), begin(r + 1)) comes from rank r, for every r: each rank's part to all.
  // begin(r) = sum_chunk_begin(values.size(), ranks, r).
  void gather_parts(std::span<float> values);

  [[nodiscard]] Communicator& comm() const { return comm_; }
  // What a RankSums holds for `ranks` (0 for one rank: nothing to sum).
  [[nodiscard]] static int64_t staging_bytes(int ranks, int64_t piece = kDefaultPiece);

  static constexpr int64_t kDefaultPiece = int64_t{1} << 16;

 private:
  template <typename T>
  void sum_through(std::span<T> values, TrackedBuffer<T>& staging, Communicator::SumHandle h);

  Communicator& comm_;
  int64_t piece_;
  TrackedBuffer<float> float_staging_, float_scratch_;
  TrackedBuffer<double> double_staging_, double_scratch_;
  Communicator::SumHandle float_sum_ = -1, double_sum_ = -1;
};

}  // namespace footprint
