// The processes of one job and the sums they make together: the one place the library talks to
// other processes (data-parallel training sums its gradients through it). Two implementations:
// one process (always there), and MPI, compiled in when the build found MPI. The library never
// starts processes itself: `mpirun -np N prog` (or Slurm, PBS) does, and world_communicator()
// joins them.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "footprint/error.hpp"

namespace footprint {

// Another rank died, hangs or disagrees, or MPI reported an error: what() names this rank and
// what it waited for. The job cannot go on; the caller ends it (Communicator::abort).
class CommError : public Error {
 public:
  using Error::Error;
};

// How long a collective waits for the other ranks before giving up with a CommError.
inline constexpr std::chrono::seconds kDefaultCommTimeout{60};

class Communicator {
 public:
  virtual ~Communicator() = default;

  [[nodiscard]] virtual int rank() const = 0;  // 0 .. size() - 1
  [[nodiscard]] virtual int size() const = 0;  // number of ranks in the job
  [[nodiscard]] virtual std::string kind() const = 0;  // "one process", "MPI (Open MPI 4.1.4)"

  // A sum over the ranks of one range of values, in place, prepared once and started as often
  // as needed (every training step). After wait(), every rank holds the same sum, bit for bit,
  // added in an order fixed by the number of ranks alone (MPI: a ring; rank r's part of chunk
  // c joins after ranks c, c + 1, ..., r - 1), so two runs with the same ranks agree exactly.
  // `scratch` (sum_scratch_size(values.size(), size()) elements, e.g. a buffer of the plan)
  // receives the other ranks' parts; the library allocates nothing for a sum. Preparing may
  // allocate; start, test and wait do not (MPI's request objects aside). Values and scratch
  // must stay valid and untouched between start and completion.
  using SumHandle = int;
  [[nodiscard]] virtual SumHandle prepare_sum(std::span<float> values, std::span<float> scratch) = 0;
  [[nodiscard]] virtual SumHandle prepare_sum(std::span<double> values,
                                              std::span<double> scratch) = 0;
  virtual void start(SumHandle sum) = 0;
  // Lets the sum progress (MPI moves non-blocking collectives on only inside its calls);
  // true once it is complete. Never blocks.
  [[nodiscard]] virtual bool test(SumHandle sum) = 0;
  // Until the sum is complete; CommError after the timeout.
  virtual void wait(SumHandle sum) = 0;

  // Blocking sums of a few doubles over the ranks, in place (loss and accuracy figures).
  virtual void sum(std::span<double> values) = 0;
  // Rank `root`'s bytes to every rank.
  virtual void broadcast(std::span<std::byte> bytes, int root) = 0;
  virtual void barrier() = 0;
  // Ends every process of the job, this one last, after writing "rank R: message" to stderr.
  [[noreturn]] virtual void abort(const std::string& message) = 0;

  // How long wait(), sum(), broadcast() and barrier() wait for the other ranks.
  void set_timeout(std::chrono::milliseconds timeout) { timeout_ = timeout; }
  [[nodiscard]] std::chrono::milliseconds timeout() const { return timeout_; }

 protected:
  std::chrono::milliseconds timeout_ = kDefaultCommTimeout;
};

// The scratch a sum of n values over `ranks` needs: the largest of the ranks' chunks,
// ceil(n / ranks) elements (0 for one rank).
[[nodiscard]] constexpr int64_t sum_scratch_size(int64_t n, int ranks) {
  return ranks <= 1 ? 0 : (n + ranks - 1) / ranks;
}

// Chunk c of n values summed over `ranks`: [n * c / ranks, n * (c + 1) / ranks).
[[nodiscard]] constexpr int64_t sum_chunk_begin(int64_t n, int ranks, int c) {
  return n * c / ranks;
}

// A job of one: sums are the values themselves, nothing waits.
[[nodiscard]] std::unique_ptr<Communicator> single_process_communicator();

// The job this process was started in: MPI's world when the process was started by an MPI
// launcher (mpirun, srun: it finds their environment) and the library was built with MPI, else a
// job of one. MPI is initialised on the first call (MPI_THREAD_FUNNELED: only the thread that
// called this talks to MPI) and finalised at exit; every later call returns the same object.
// CommError when started by a launcher but built without MPI and the launcher asked for more
// than one process (each process would train alone).
[[nodiscard]] Communicator& world_communicator(
    std::chrono::milliseconds timeout = kDefaultCommTimeout);

// Whether this build of the library can run over MPI.
[[nodiscard]] bool built_with_mpi();

// The number of processes an MPI launcher started this process among (its environment), or 0
// when no launcher started it.
[[nodiscard]] int launcher_world_size();
// How many of them the launcher started on this machine (they share its memory), or 0.
[[nodiscard]] int local_rank_count();

}  // namespace footprint
