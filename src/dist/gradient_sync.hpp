// Sums a step's weight gradients over the ranks while the backward pass still runs. The plan
// lays the gradients out in the order backward finishes them and cuts them into buckets
// (Plan::gradient_buckets); the runtime calls this after each backward-phase step, which starts
// every bucket that step completed and tests those in flight, so MPI moves them on between
// steps. finish() waits for the rest before the optimizer update, so every rank applies the
// same update. Allocates nothing per step.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "footprint/communicator.hpp"
#include "footprint/layer.hpp"
#include "footprint/runtime.hpp"

namespace footprint {

class GradientSync final : private RankStepSums {
 public:
  // Prepares one sum per bucket (and one for the averaged state, one for the figures and, with
  // synchronised batch norm, one for the layers' sums within steps) and sets the runtime's
  // hooks; the destructor removes them. The runtime's plan must
  // be made for comm.size() ranks.
  GradientSync(Runtime& runtime, Communicator& comm);
  ~GradientSync();
  GradientSync(const GradientSync&) = delete;
  GradientSync& operator=(const GradientSync&) = delete;

  // Before a step: nothing of it has been started.
  void begin_step();
  // A rank without a sample in this global batch adds zeros (the others wait for its part).
  void contribute_nothing();

  // The step's figures on this rank, summed over the ranks by finish().
  struct Figures {
    double samples = 0.0;
    double loss_sum = 0.0;  // the loss times the samples
    double correct = 0.0;
    double stop = 0.0;  // 1: this rank was asked to stop (TrainOptions::should_stop)
  };
  // Waits until every bucket is summed and the state averaged; returns the summed figures.
  Figures finish(const Figures& local);

  // Over the run so far: time finish() waited (other ranks still computing, or the sums still
  // moving), and time the hook spent starting and testing sums between backward steps.
  [[nodiscard]] double wait_seconds() const { return wait_seconds_; }
  [[nodiscard]] double progress_seconds() const { return progress_seconds_; }
  // Time the layers' sums within steps (synchronised batch norm) waited for the other ranks.
  [[nodiscard]] double step_sums_seconds() const { return step_sums_seconds_; }

 private:
  void after_step(int step);
  void start_state();
  // RankStepSums: the plan's rank-sums buffer, summed whole (zeros past n).
  std::span<double> values() override { return runtime_.rank_sums(); }
  void sum(int64_t n) override;

  Runtime& runtime_;
  Communicator& comm_;
  std::vector<Communicator::SumHandle> bucket_sums_;  // per bucket, in the plan's order
  std::vector<int> ready_step_;                       // per bucket
  Communicator::SumHandle state_sum_ = -1;
  std::array<double, 4> figures_{};
  std::array<double, 4> figures_scratch_{};  // at least ceil(4 / ranks) for the ring
  Communicator::SumHandle figures_sum_ = -1;
  Communicator::SumHandle step_sum_ = -1;  // the rank-sums buffer
  size_t started_ = 0;  // buckets started this step
  size_t done_ = 0;     // buckets known complete this step (a prefix: they finish in order)
  bool state_started_ = false;
  double wait_seconds_ = 0.0, progress_seconds_ = 0.0, step_sums_seconds_ = 0.0;
};

}  // namespace footprint
