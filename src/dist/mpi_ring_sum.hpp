// One sum over the ranks as a ring of point-to-point messages (MPI_Isend / MPI_Irecv), moved on
// one exchange at a time by advance(), so it can progress between backward steps without a
// thread of its own. Why not MPI_Iallreduce: its order of addition is whatever algorithm MPI
// picks, and Open MPI's non-blocking collectives allocate their temporaries per call; the ring
// adds in an order fixed by the number of ranks and receives into the caller's scratch (a
// buffer of the plan), so the bytes a sum needs are planned.
//
// The values are cut into `ranks` chunks (sum_chunk_begin). Reduce-scatter, ranks - 1
// exchanges: in exchange p rank r sends chunk (r - p) mod N to rank r + 1 and receives chunk
// (r - p - 1) mod N from rank r - 1 into the scratch, then adds it to its own; after them rank
// r holds the whole sum of chunk (r + 1) mod N. All-gather, ranks - 1 exchanges: each passes the
// summed chunks on around the ring, received straight into the values.
#pragma once

#include <mpi.h>

#include <cstdint>

namespace footprint {

class MpiRingSum {
 public:
  // `tag` tells this sum's messages from other sums in flight between the same ranks.
  MpiRingSum(void* values, void* scratch, int64_t count, MPI_Datatype type, int element_bytes,
             MPI_Comm comm, int rank, int ranks, int tag);

  // Posts the first exchange (the sum is complete at once for one rank).
  // Returns an MPI error code (MPI_SUCCESS when all went well).
  [[nodiscard]] int start();
  // Moves on as far as the messages that arrived allow; `done` is set once the sum is complete.
  [[nodiscard]] int advance(bool& done);
  [[nodiscard]] bool active() const { return active_; }

 private:
  [[nodiscard]] int post();   // the messages of exchange phase_
  void add_received();        // scratch into this rank's chunk of phase_ (reduce-scatter)
  [[nodiscard]] char* chunk(int c) const;
  [[nodiscard]] int chunk_count(int c) const;
  [[nodiscard]] int mod(int c) const { return ((c % ranks_) + ranks_) % ranks_; }

  char* values_;
  char* scratch_;
  int64_t count_;
  MPI_Datatype type_;
  int element_bytes_;
  MPI_Comm comm_;
  int rank_, ranks_, tag_;
  int phase_ = 0;  // 0 .. 2 (ranks - 1) - 1: reduce-scatter first, then all-gather
  bool active_ = false;
  MPI_Request requests_[2] = {MPI_REQUEST_NULL, MPI_REQUEST_NULL};
};

}  // namespace footprint
