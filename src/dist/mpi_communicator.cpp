// Communicator over MPI's C API. Errors are returned, not fatal (MPI_ERRORS_RETURN), and every
// wait is a poll against a deadline, so a rank that died or hangs ends the job with a message
// naming it instead of a hang. Prepared sums are rings of point-to-point messages
// (mpi_ring_sum.hpp): a fixed order of addition, and the scratch is the caller's. Only the
// thread that created the communicator calls MPI (MPI_THREAD_FUNNELED); the runtime's workers
// and the data loader's threads never do.
#include "dist/mpi_communicator.hpp"

#include <mpi.h>
#include <sched.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <string>

#include "core/check.hpp"
#include "dist/mpi_ring_sum.hpp"

namespace footprint {
namespace {

using Clock = std::chrono::steady_clock;

class MpiCommunicator final : public Communicator {
 public:
  MpiCommunicator() {
    int initialised = 0;
    MPI_Initialized(&initialised);
    if (!initialised) {
      int provided = 0;
      if (MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) {
        throw CommError("MPI_Init_thread failed: MPI could not start this process");
      }
      owns_mpi_ = true;
      if (provided < MPI_THREAD_FUNNELED) {
        throw CommError("MPI gives thread level " + std::to_string(provided) +
                        ", below MPI_THREAD_FUNNELED: the runtime's worker threads need it");
      }
    }
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    check(MPI_Comm_dup(MPI_COMM_WORLD, &comm_), "joining the job");  // inherits the handler
    MPI_Comm_rank(comm_, &rank_);
    MPI_Comm_size(comm_, &size_);
    char version[MPI_MAX_LIBRARY_VERSION_STRING] = {};
    int length = 0;
    MPI_Get_library_version(version, &length);
    library_ = std::string(version, static_cast<size_t>(length));
    library_ = library_.substr(0, library_.find_first_of(",\n"));
  }

  ~MpiCommunicator() override {
    int finalised = 0;
    MPI_Finalized(&finalised);
    if (finalised) return;
    MPI_Comm_free(&comm_);
    if (owns_mpi_) MPI_Finalize();
  }

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string kind() const override { return "MPI (" + library_ + ")"; }

  SumHandle prepare_sum(std::span<float> values, std::span<float> scratch) override {
    return prepare(values.data(), scratch.data(), values.size(), scratch.size(), MPI_FLOAT, 4,
                   "float");
  }
  SumHandle prepare_sum(std::span<double> values, std::span<double> scratch) override {
    return prepare(values.data(), scratch.data(), values.size(), scratch.size(), MPI_DOUBLE, 8,
                   "double");
  }

  void start(SumHandle handle) override {
    check(sum_at(handle).ring.start(), "starting a sum");
  }

  bool test(SumHandle handle) override {
    bool done = false;
    check(sum_at(handle).ring.advance(done), "summing over the ranks");
    return done;
  }

  void wait(SumHandle handle) override {
    poll([&] { return test(handle); }, sum_at(handle).what);
  }

  void sum(std::span<double> values) override {
    MPI_Request request = MPI_REQUEST_NULL;
    check(MPI_Iallreduce(MPI_IN_PLACE, values.data(), count_of(values.size()), MPI_DOUBLE,
                         MPI_SUM, comm_, &request),
          "summing figures");
    complete(request, "a sum of " + std::to_string(values.size()) + " doubles");
  }

  void broadcast(std::span<std::byte> bytes, int root) override {
    // In pieces, since MPI counts in int.
    constexpr size_t kPiece = size_t{1} << 30;
    for (size_t done = 0; done < bytes.size(); done += kPiece) {
      const size_t n = std::min(kPiece, bytes.size() - done);
      MPI_Request request = MPI_REQUEST_NULL;
      check(MPI_Ibcast(bytes.data() + done, static_cast<int>(n), MPI_BYTE, root, comm_, &request),
            "broadcasting");
      complete(request, "a broadcast from rank " + std::to_string(root));
    }
  }

  void barrier() override {
    MPI_Request request = MPI_REQUEST_NULL;
    check(MPI_Ibarrier(comm_, &request), "entering a barrier");
    complete(request, "a barrier");
  }

  [[noreturn]] void abort(const std::string& message) override {
    // This communicator's own errors name the rank already.
    const std::string me = "rank " + std::to_string(rank_) + ": ";
    std::fprintf(stderr, "%s%s\n", message.starts_with(me) ? "" : me.c_str(), message.c_str());
    std::fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, 1);
    std::_Exit(1);
  }

 private:
  struct Sum {
    MpiRingSum ring;
    std::string what;  // for the timeout's message
  };

  Sum& sum_at(SumHandle handle) {
    FP_CHECK(handle >= 0 && static_cast<size_t>(handle) < sums_.size(), "no sum %d", handle);
    return sums_[static_cast<size_t>(handle)];
  }

  int count_of(size_t n) const {
    if (n > static_cast<size_t>(INT_MAX)) {
      throw CommError("rank " + std::to_string(rank_) + ": a sum of " + std::to_string(n) +
                      " values is more than MPI counts in one message (2^31 - 1)");
    }
    return static_cast<int>(n);
  }

  SumHandle prepare(void* values, void* scratch, size_t n, size_t scratch_n, MPI_Datatype type,
                    int element_bytes, const char* type_name) {
    (void)count_of(n);
    const auto needed = static_cast<size_t>(sum_scratch_size(static_cast<int64_t>(n), size_));
    FP_CHECK(scratch_n >= needed, "a sum of %zu values over %d ranks needs %zu of scratch, has %zu",
             n, size_, needed, scratch_n);
    // Tags tell the sums apart; MPI guarantees tags up to 32767 at least.
    const int tag = static_cast<int>(sums_.size());
    if (tag > 32767) throw CommError("more than 32768 prepared sums");
    sums_.push_back({.ring = MpiRingSum(values, scratch, static_cast<int64_t>(n), type,
                                        element_bytes, comm_, rank_, size_, tag),
                     .what = "a sum of " + std::to_string(n) + " " + type_name + "s"});
    return static_cast<SumHandle>(sums_.size() - 1);
  }

  void complete(MPI_Request& request, const std::string& what) {
    poll([&] {
      int done = 0;
      check(MPI_Test(&request, &done, MPI_STATUS_IGNORE), what.c_str());
      return done != 0;
    }, what);
  }

  // MPI moves a non-blocking collective on only inside its calls: test until done, giving the
  // core away between tests (ranks may share cores), until the deadline.
  template <typename Done>
  void poll(Done done, const std::string& what) {
    const auto start = Clock::now();
    for (int i = 0;; ++i) {
      if (done()) return;
      if ((i & 63) == 63 && Clock::now() - start > timeout_) {
        char seconds[32];
        std::snprintf(seconds, sizeof seconds, "%g", static_cast<double>(timeout_.count()) / 1000.0);
        throw CommError("rank " + std::to_string(rank_) + ": no answer from the other ranks for " +
                        seconds + " s (waiting for " + what + "): a rank died or hangs");
      }
      sched_yield();
    }
  }

  void check(int code, const std::string& doing) const {
    if (code == MPI_SUCCESS) return;
    char text[MPI_MAX_ERROR_STRING] = {};
    int length = 0;
    MPI_Error_string(code, text, &length);
    throw CommError("rank " + std::to_string(rank_) + ": MPI failed " + doing + ": " +
                    std::string(text, static_cast<size_t>(length)));
  }

  MPI_Comm comm_ = MPI_COMM_NULL;
  int rank_ = 0, size_ = 1;
  bool owns_mpi_ = false;
  std::string library_;
  std::deque<Sum> sums_;  // a deque: a sum in flight never moves
};

}  // namespace

std::unique_ptr<Communicator> mpi_world_communicator() {
  return std::make_unique<MpiCommunicator>();
}

}  // namespace footprint
