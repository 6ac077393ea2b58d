// The training loop: epochs of shuffled batches through a Runtime, with progress reported to a
// callback (the library prints nothing), and evaluation on a held-out set.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "footprint/communicator.hpp"
#include "footprint/data.hpp"
#include "footprint/data_source.hpp"
#include "footprint/error.hpp"
#include "footprint/runtime.hpp"

namespace footprint {

// Training stopped because the loss or a gradient became NaN or infinite; the weights are
// those before the step that diverged (its update was not applied).
class TrainingDiverged : public Error {
 public:
  TrainingDiverged(const std::string& message, int64_t step) : Error(message), step_(step) {}
  [[nodiscard]] int64_t step() const { return step_; }

 private:
  int64_t step_;
};

struct TrainOptions {
  int epochs = 1;
  int64_t steps = 0;   // > 0: stop after this many steps (overrides epochs)
  OptimizerParams optimizer;
  uint64_t seed = 1;   // data order
  int64_t start_step = 0;  // resume: steps already done (the data order is replayed to here)
  // Threads reading samples ahead when the runtime's plan has a data ring
  // (PlanOptions::prefetch_batches); without one the step's thread reads each batch.
  int loader_threads = 1;
  // Called with a message for each sample found unreadable (named once), from the training
  // thread; training goes on without it.
  std::function<void(const std::string&)> on_skip;
  // Data-parallel training: the job's ranks (world_communicator()), each running train() with
  // the same options, data and seed on a runtime planned with PlanOptions::ranks = size() and
  // batch = rank_batch(global_batch, size()). Every rank reads only its share of each global
  // batch; the gradients are summed over the ranks while the backward pass runs, so every rank
  // applies the same update; loss and accuracy are the global figures, on every rank.
  // nullptr: this process alone.
  Communicator* communicator = nullptr;
  // Samples per step over all ranks; 0: the plan's batch times the ranks.
  int global_batch = 0;
};

// The batch each rank's plan needs when `ranks` processes share `global_batch` samples a step:
// ceil(global_batch / ranks) (shares differ by at most one sample). PlanError when
// global_batch < ranks (a rank would never have a sample).
[[nodiscard]] int rank_batch(int global_batch, int ranks);

struct TrainProgress {
  int epoch = 0;                // 0-based
  int64_t step = 0;             // steps done so far
  int64_t steps_in_epoch = 0;
  int64_t step_in_epoch = 0;
  double loss = 0.0;            // running mean over the epoch so far
  double accuracy = 0.0;        // running, over the epoch so far
  double samples_per_second = 0.0;
  double data_wait_seconds = 0.0;  // over the epoch so far: time steps waited for their batch
  double step_seconds = 0.0;       // over the epoch so far: time in steps, waits included
  int64_t skipped = 0;             // samples skipped as unreadable, over the run so far
  // Data-parallel runs, over the epoch so far: time this rank's steps waited for the sums over
  // the ranks after its backward pass (slower ranks' compute shows here too), and time spent
  // between backward steps starting and testing them. The rest of step_seconds, less the data
  // wait, is compute.
  double sum_wait_seconds = 0.0;
  double sum_progress_seconds = 0.0;
  int ranks = 1;
};

struct EvalResult {
  double loss = 0.0;
  double accuracy = 0.0;
  int64_t samples = 0;
};

struct EpochResult {
  int epoch = 0;
  TrainProgress last;
  double seconds = 0.0;
  bool has_test = false;
  EvalResult test;
};

// Runs forward in eval mode (batchnorm running stats, no dropout) over the whole data set.
// Samples that cannot be read are left out of the figures (reported through on_skip).
[[nodiscard]] EvalResult evaluate(Runtime& runtime, const DataSource& data, int loader_threads = 1,
                                  const std::function<void(const std::string&)>& on_skip = {});
[[nodiscard]] EvalResult evaluate(Runtime& runtime, const Dataset& data);

// Trains; calls on_progress after every step (its update applied) and on_epoch after every
// epoch (with the test result when test is given). Returns the number of steps done in all,
// start_step included. With steps > 0 it runs that many more steps after start_step.
// A batch whose samples were all unreadable counts as a step but changes nothing.
int64_t train(Runtime& runtime, const DataSource& train_data, const DataSource* test_data,
              const TrainOptions& options,
              const std::function<void(const TrainProgress&)>& on_progress,
              const std::function<void(const EpochResult&)>& on_epoch);
int64_t train(Runtime& runtime, const Dataset& train_data, const Dataset* test_data,
              const TrainOptions& options,
              const std::function<void(const TrainProgress&)>& on_progress,
              const std::function<void(const EpochResult&)>& on_epoch);

}  // namespace footprint
