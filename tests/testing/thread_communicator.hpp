// Ranks as threads of one process, for testing data-parallel training without MPI: each
// thread gets a Communicator of the group; a sum is made, in rank order, by the last rank to
// start it, into every rank's values. Start, test and wait allocate nothing, as MPI's are
// expected to (apart from MPI's own request state).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <vector>

#include "footprint/communicator.hpp"

namespace footprint::testing {

class ThreadGroup {
 public:
  explicit ThreadGroup(int size) : size_(size) {
    for (int r = 0; r < size; ++r) members_.push_back(std::make_unique<Member>(*this, r));
  }
  [[nodiscard]] Communicator& rank(int r) { return *members_[static_cast<size_t>(r)]; }

 private:
  struct Sum {
    std::vector<void*> values;   // per rank
    std::vector<size_t> counts;  // per rank
    bool doubles = false;
    int arrived = 0;
    int64_t generation = 0;      // sums completed
    std::vector<int64_t> waits_for;  // per rank: the generation that completes its sum
  };

  class Member final : public Communicator {
   public:
    Member(ThreadGroup& group, int rank) : group_(group), rank_(rank) {}
    int rank() const override { return rank_; }
    int size() const override { return group_.size_; }
    std::string kind() const override { return "threads"; }
    // The scratch is not needed (the last rank to arrive adds every rank's values) but must be
    // as large as an MPI ring's would be.
    SumHandle prepare_sum(std::span<float> v, std::span<float> scratch) override {
      check_scratch(v.size(), scratch.size());
      return prepare(v.data(), v.size(), false);
    }
    SumHandle prepare_sum(std::span<double> v, std::span<double> scratch) override {
      check_scratch(v.size(), scratch.size());
      return prepare(v.data(), v.size(), true);
    }
    void start(SumHandle h) override {
      std::lock_guard lock(group_.mutex_);
      Sum& s = sum_of(h);
      s.waits_for[static_cast<size_t>(rank_)] = s.generation + 1;
      if (++s.arrived < group_.size_) return;
      if (s.doubles) add_all<double>(s); else add_all<float>(s);
      s.arrived = 0;
      ++s.generation;
      group_.done_.notify_all();
    }
    bool test(SumHandle h) override {
      std::lock_guard lock(group_.mutex_);
      const Sum& s = sum_of(h);
      return s.generation >= s.waits_for[static_cast<size_t>(rank_)];
    }
    void wait(SumHandle h) override {
      std::unique_lock lock(group_.mutex_);
      const Sum& s = sum_of(h);
      if (!group_.done_.wait_for(lock, timeout_, [&] {
            return s.generation >= s.waits_for[static_cast<size_t>(rank_)];
          })) {
        throw CommError("rank " + std::to_string(rank_) + ": no answer from the other ranks");
      }
    }
    void sum(std::span<double> values) override {
      // Not per step: a fresh sum each call (handles are per rank, in the same order).
      const SumHandle h = prepare(values.data(), values.size(), true);
      start(h);
      wait(h);
    }
    void broadcast(std::span<std::byte> bytes, int root) override {
      std::vector<double> words((bytes.size() + 7) / 8, 0.0);
      if (rank_ == root) std::memcpy(words.data(), bytes.data(), bytes.size());
      sum(words);  // only the root adds anything but zeros (exact)
      std::memcpy(bytes.data(), words.data(), bytes.size());
    }
    void barrier() override {
      double zero = 0.0;
      sum(std::span<double>(&zero, 1));
    }
    [[noreturn]] void abort(const std::string&) override { std::abort(); }

   private:
    void check_scratch(size_t n, size_t scratch) const {
      if (scratch < static_cast<size_t>(sum_scratch_size(static_cast<int64_t>(n), group_.size_)))
        throw CommError("a sum of " + std::to_string(n) + " values with too little scratch");
    }
    SumHandle prepare(void* values, size_t count, bool doubles) {
      std::lock_guard lock(group_.mutex_);
      const size_t h = next_++;
      if (group_.sums_.size() <= h) {
        group_.sums_.emplace_back();
        Sum& s = group_.sums_.back();
        s.values.assign(static_cast<size_t>(group_.size_), nullptr);
        s.counts.assign(static_cast<size_t>(group_.size_), 0);
        s.waits_for.assign(static_cast<size_t>(group_.size_), 0);
        s.doubles = doubles;
      }
      Sum& s = group_.sums_[h];
      s.values[static_cast<size_t>(rank_)] = values;
      s.counts[static_cast<size_t>(rank_)] = count;
      return static_cast<SumHandle>(h);
    }
    Sum& sum_of(SumHandle h) { return group_.sums_[static_cast<size_t>(h)]; }
    template <typename T>
    void add_all(Sum& s) {
      const size_t n = s.counts[0];
      for (size_t i = 0; i < n; ++i) {
        T total = static_cast<T*>(s.values[0])[i];
        for (size_t r = 1; r < s.values.size(); ++r) total += static_cast<T*>(s.values[r])[i];
        for (void* v : s.values) static_cast<T*>(v)[i] = total;
      }
    }

    ThreadGroup& group_;
    int rank_;
    size_t next_ = 0;
  };

  int size_;
  std::mutex mutex_;
  std::condition_variable done_;
  std::deque<Sum> sums_;  // a deque: references stay valid as sums are added
  std::vector<std::unique_ptr<Member>> members_;
};

}  // namespace footprint::testing
