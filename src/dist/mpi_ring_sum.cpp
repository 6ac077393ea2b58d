// The ring sum's exchanges (mpi_ring_sum.hpp says the order of addition).
#include "dist/mpi_ring_sum.hpp"

#include "core/check.hpp"
#include "footprint/communicator.hpp"

namespace footprint {

MpiRingSum::MpiRingSum(void* values, void* scratch, int64_t count, MPI_Datatype type,
                       int element_bytes, MPI_Comm comm, int rank, int ranks, int tag)
    : values_(static_cast<char*>(values)), scratch_(static_cast<char*>(scratch)), count_(count),
      type_(type), element_bytes_(element_bytes), comm_(comm), rank_(rank), ranks_(ranks),
      tag_(tag) {}

char* MpiRingSum::chunk(int c) const {
  return values_ + sum_chunk_begin(count_, ranks_, c) * element_bytes_;
}

int MpiRingSum::chunk_count(int c) const {
  return static_cast<int>(sum_chunk_begin(count_, ranks_, c + 1) -
                          sum_chunk_begin(count_, ranks_, c));
}

int MpiRingSum::start() {
  FP_CHECK(!active_, "a ring sum started again before it completed");
  if (ranks_ == 1) return MPI_SUCCESS;
  phase_ = 0;
  active_ = true;
  return post();
}

int MpiRingSum::post() {
  const int right = mod(rank_ + 1), left = mod(rank_ - 1);
  const bool reducing = phase_ < ranks_ - 1;
  const int p = reducing ? phase_ : phase_ - (ranks_ - 1);
  // Reduce-scatter: send chunk r - p, receive chunk r - p - 1 into the scratch.
  // All-gather: send chunk r + 1 - p (summed), receive chunk r - p into place.
  const int send = reducing ? mod(rank_ - p) : mod(rank_ + 1 - p);
  const int receive = reducing ? mod(rank_ - p - 1) : mod(rank_ - p);
  void* into = reducing ? static_cast<void*>(scratch_) : static_cast<void*>(chunk(receive));
  int code = MPI_Irecv(into, chunk_count(receive), type_, left, tag_, comm_, &requests_[0]);
  if (code != MPI_SUCCESS) return code;
  return MPI_Isend(chunk(send), chunk_count(send), type_, right, tag_, comm_, &requests_[1]);
}

void MpiRingSum::add_received() {
  const int c = mod(rank_ - phase_ - 1);
  const int n = chunk_count(c);
  // The rank's own part added to what came around the ring: the same order on every run.
  if (element_bytes_ == 4) {
    float* mine = reinterpret_cast<float*>(chunk(c));
    const float* came = reinterpret_cast<const float*>(scratch_);
    for (int i = 0; i < n; ++i) mine[i] = came[i] + mine[i];
  } else {
    double* mine = reinterpret_cast<double*>(chunk(c));
    const double* came = reinterpret_cast<const double*>(scratch_);
    for (int i = 0; i < n; ++i) mine[i] = came[i] + mine[i];
  }
}

int MpiRingSum::advance(bool& done) {
  done = !active_;
  while (active_) {
    int arrived = 0;
    const int code = MPI_Testall(2, requests_, &arrived, MPI_STATUSES_IGNORE);
    if (code != MPI_SUCCESS) return code;
    if (!arrived) return MPI_SUCCESS;
    if (phase_ < ranks_ - 1) add_received();
    if (++phase_ == 2 * (ranks_ - 1)) {
      active_ = false;
      done = true;
      return MPI_SUCCESS;
    }
    if (const int posted = post(); posted != MPI_SUCCESS) return posted;
  }
  return MPI_SUCCESS;
}

}  // namespace footprint
