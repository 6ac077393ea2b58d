// The gradient buckets' sums during the backward pass (gradient_sync.hpp).
#include "dist/gradient_sync.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>

#include "core/check.hpp"
#include "core/stopwatch.hpp"
#include "footprint/error.hpp"

namespace footprint {

GradientSync::GradientSync(Runtime& runtime, Communicator& comm) : runtime_(runtime), comm_(comm) {
  const Plan& plan = runtime.plan();
  if (plan.options.ranks != comm.size()) {
    throw PlanError("the plan was made for " + std::to_string(plan.options.ranks) +
                    " ranks, but this job has " + std::to_string(comm.size()) +
                    ": plan with PlanOptions::ranks = " + std::to_string(comm.size()));
  }
  for (size_t k = 0; k < plan.gradient_buckets.size(); ++k) {
    bucket_sums_.push_back(comm.prepare_sum(runtime.gradient_bucket(static_cast<int>(k)),
                                            runtime.gradient_bucket_scratch(static_cast<int>(k))));
    ready_step_.push_back(plan.gradient_buckets[k].ready_step);
  }
  if (!runtime.synced_state().empty())
    state_sum_ = comm.prepare_sum(runtime.synced_state(), runtime.synced_state_scratch());
  figures_sum_ = comm.prepare_sum(std::span<double>(figures_), std::span<double>(figures_scratch_));
  if (!runtime.rank_sums().empty()) {
    step_sum_ = comm.prepare_sum(runtime.rank_sums(), runtime.rank_sums_scratch());
    runtime.set_rank_step_sums(this);
  }
  runtime.set_after_backward_step([this](int step) { after_step(step); });
}

GradientSync::~GradientSync() {
  runtime_.set_after_backward_step({});
  runtime_.set_rank_step_sums(nullptr);
}

void GradientSync::sum(int64_t n) {
  const auto start = Clock::now();
  const std::span<double> v = runtime_.rank_sums();
  std::fill(v.begin() + n, v.end(), 0.0);
  comm_.start(step_sum_);
  comm_.wait(step_sum_);
  step_sums_seconds_ += seconds_since(start);
}

void GradientSync::begin_step() {
  started_ = done_ = 0;
  state_started_ = false;
}

// The averaged state (batch-norm running statistics) is final once the forward pass is over:
// each rank's share is scaled by 1/N first, so the sum is the mean.
void GradientSync::start_state() {
  state_started_ = true;
  if (state_sum_ < 0) return;
  const float share = 1.0f / static_cast<float>(comm_.size());
  for (float& x : runtime_.synced_state()) x *= share;
  comm_.start(state_sum_);
}

void GradientSync::after_step(int step) {
  const auto start = Clock::now();
  if (!state_started_) start_state();
  while (started_ < bucket_sums_.size() && ready_step_[started_] <= step)
    comm_.start(bucket_sums_[started_++]);
  // Every sum in flight moves on (a ring sum passes a message per test), not only the oldest.
  for (size_t k = done_; k < started_; ++k) (void)comm_.test(bucket_sums_[k]);
  while (done_ < started_ && comm_.test(bucket_sums_[done_])) ++done_;
  progress_seconds_ += seconds_since(start);
}

void GradientSync::contribute_nothing() {
  for (size_t k = 0; k < bucket_sums_.size(); ++k) {
    const std::span<float> bucket = runtime_.gradient_bucket(static_cast<int>(k));
    std::memset(bucket.data(), 0, bucket.size_bytes());
  }
  after_step(static_cast<int>(runtime_.plan().steps.size()));  // every bucket is ready
}

GradientSync::Figures GradientSync::finish(const Figures& local) {
  const auto start = Clock::now();
  if (!state_started_) start_state();  // a plan without backward steps
  FP_CHECK(started_ == bucket_sums_.size(), "%zu of %zu gradient buckets started by the end of "
           "the backward pass", started_, bucket_sums_.size());
  figures_ = {local.samples, local.loss_sum, local.correct, local.stop};
  comm_.start(figures_sum_);
  for (size_t k = done_; k < bucket_sums_.size(); ++k) comm_.wait(bucket_sums_[k]);
  if (state_sum_ >= 0) comm_.wait(state_sum_);
  comm_.wait(figures_sum_);
  wait_seconds_ += seconds_since(start);
  return {figures_[0], figures_[1], figures_[2], figures_[3]};
}

}  // namespace footprint
