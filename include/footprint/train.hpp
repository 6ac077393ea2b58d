// The training loop: epochs of shuffled batches through a Runtime, with progress reported to a
// callback (the library prints nothing), evaluation on a held-out set, and checkpoints: a run
// saved with save_checkpoint() and continued with resume_training() gives the same weights as
// one that never stopped.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "footprint/communicator.hpp"
#include "footprint/data.hpp"
#include "footprint/data_source.hpp"
#include "footprint/error.hpp"
#include "footprint/model_io.hpp"
#include "footprint/net.hpp"
#include "footprint/plan.hpp"
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

// Where a run ends is counted over the whole run, from step 0: a run resumed after 6 steps with
// steps = 10 does 4 more, exactly as the uninterrupted run with steps = 10 would end.
struct TrainOptions {
  int epochs = 1;      // the run ends after this many epochs in all
  int64_t steps = 0;   // > 0: the run ends at this step in all (overrides epochs)
  OptimizerParams optimizer;
  uint64_t seed = 1;   // data order (and, by convention, the Runtime's seed: dropout masks)
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
  // Asked before every step and before each epoch's evaluation: true ends the run there, after
  // the step in progress has been applied, so the runtime holds a consistent state to save
  // (save_checkpoint). Meant for a flag set by a signal handler: it runs on the training thread
  // and must be cheap. Empty: never stop early.
  std::function<bool()> should_stop{};
};

// The batch each rank's plan needs when `ranks` processes share `global_batch` samples a step:
// ceil(global_batch / ranks) (shares differ by at most one sample). PlanError when
// global_batch < ranks (a rank would never have a sample).
[[nodiscard]] int rank_batch(int global_batch, int ranks);

// The step a run with these options ends at, given the steps in one epoch of its data.
[[nodiscard]] int64_t train_end_step(const TrainOptions& options, int64_t steps_per_epoch);

struct TrainProgress {
  int epoch = 0;                // 0-based
  int64_t step = 0;             // steps done so far (a resumed run's earlier steps included)
  int64_t end_step = 0;         // the step the run ends at (train_end_step)
  int64_t steps_in_epoch = 0;
  int64_t step_in_epoch = 0;
  double loss = 0.0;            // running mean over the epoch so far
  double accuracy = 0.0;        // running, over the epoch so far
  double samples_per_second = 0.0;
  double data_wait_seconds = 0.0;  // over the epoch so far: time steps waited for their batch
  double step_seconds = 0.0;       // over the epoch so far: time in steps, waits included
  int64_t skipped = 0;             // samples skipped as unreadable, over the run so far
  // Data-parallel runs, over the epoch so far: time this rank's steps waited for the sums over
  // the ranks (after its backward pass, and inside steps that sum, such as synchronised batch
  // norm; slower ranks' compute shows here too), time spent between backward steps starting and
  // testing them (inside compute), and compute itself: forward, backward and update, timed, less
  // the waits inside them. What step_seconds holds besides compute and the sums' wait is idle:
  // the data wait, and handing batches and figures around.
  double sum_wait_seconds = 0.0;
  double sum_progress_seconds = 0.0;
  double compute_seconds = 0.0;
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

// Trains from options.start_step to train_end_step(options, ...); calls on_progress after every
// step (its update applied) and on_epoch after every whole epoch (with the test result when
// test is given). Returns the number of steps done in all, start_step included: less than the
// end step when options.should_stop ended the run early (or nothing when the checkpoint had
// already reached it). A batch whose samples were all unreadable counts as a step but changes
// nothing.
int64_t train(Runtime& runtime, const DataSource& train_data, const DataSource* test_data,
              const TrainOptions& options,
              const std::function<void(const TrainProgress&)>& on_progress,
              const std::function<void(const EpochResult&)>& on_epoch);
int64_t train(Runtime& runtime, const Dataset& train_data, const Dataset* test_data,
              const TrainOptions& options,
              const std::function<void(const TrainProgress&)>& on_progress,
              const std::function<void(const EpochResult&)>& on_epoch);

// Writes a checkpoint (atomically): the runtime's parameters and optimizer state, and where the
// run stands (options.seed, steps_done, the runtime's forward count and batch), which is all
// resume_training needs to continue it exactly. A data-parallel run saves its global batch
// (options.global_batch, or the plan's batch times the ranks); call it on rank 0 only (every
// rank holds the same weights), so one file is written.
// labels (class names, normalisation) travel with it, as with save_model.
void save_checkpoint(const std::string& path, const Runtime& runtime, const TrainOptions& options,
                     int64_t steps_done, const ModelLabels& labels = {});

// A run continued from a checkpoint: its net, and the options the checkpoint fixes merged into
// the caller's. Continue it with
//   SavedModel checkpoint = load_model("run.fpm");
//   ResumedTraining r = resume_training(checkpoint, {.threads = 2}, {.steps = 1000});
//   Plan p = plan(r.net, r.plan_options);
//   Runtime runtime(r.net, p, r.options.seed);
//   restore_parameters(checkpoint, runtime);  // weights, optimizer state, step and forward counts
//   train(runtime, data, test, r.options, on_progress, on_epoch);
// With the same threads (and planning options) as the first run, the weights after the goal are
// bit-identical to those of a run that never stopped.
struct ResumedTraining {
  Net net{Shape{}};          // the checkpoint's net (parse_net of its text)
  // The caller's plan options (threads, reuse, tiles, memory budget, ...) with what changes the
  // arithmetic taken from the checkpoint: mode train, its optimizer and its batch (with a
  // communicator of N ranks in the goal: ranks = N, batch = rank_batch(saved batch, N)).
  PlanOptions plan_options;
  // The caller's goal (epochs, steps, should_stop) with the checkpoint's optimizer settings,
  // seed and steps done (start_step).
  TrainOptions options;
};
// Error naming source_name when the checkpoint holds no training state (a version-1 file, or
// one written by save_model without a TrainState) or its net does not parse.
[[nodiscard]] ResumedTraining resume_training(const SavedModel& checkpoint,
                                              const PlanOptions& plan_options,
                                              const TrainOptions& goal,
                                              const std::string& source_name = "checkpoint");

}  // namespace footprint
