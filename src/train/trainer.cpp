// The training loop over a Runtime: shuffled batches read by a BatchLoader (ahead of the step,
// into the plan's data ring, when the plan has one), one train_step each, progress and
// per-epoch evaluation reported through callbacks; checkpoints and resuming from one. With a
// communicator of several ranks, each rank reads its share of every global batch
// (dist/rank_share.hpp) and the gradients are summed over the ranks during the backward pass
// (dist/gradient_sync.hpp) before the update.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>
#include <numeric>
#include <optional>
#include <vector>

#include "core/rng.hpp"
#include "core/stopwatch.hpp"
#include "dist/gradient_sync.hpp"
#include "dist/rank_share.hpp"
#include "footprint/batch_loader.hpp"
#include "footprint/error.hpp"
#include "footprint/train.hpp"

namespace footprint {
namespace {


int argmax(const float* row, int64_t n) {
  return static_cast<int>(std::max_element(row, row + n) - row);
}

// Correct predictions among the batch's samples (labels -1, float targets, count as wrong).
int64_t count_correct(const Runtime& runtime, std::span<const int32_t> labels) {
  const int64_t outputs = runtime.net().output_shape().n_elems();
  int64_t correct = 0;
  for (size_t i = 0; i < labels.size(); ++i)
    correct += argmax(runtime.output() + i * outputs, outputs) == labels[i];
  return correct;
}

void report_skips(BatchLoader& loader, const std::function<void(const std::string&)>& on_skip) {
  for (const std::string& message : loader.take_warnings())
    if (on_skip) on_skip(message);
}

// Each epoch's transforms draw from their own seed, so a resumed run repeats them too.
uint64_t augment_seed(uint64_t seed, int64_t epoch) {
  return mix64(seed ^ mix64(0xa5a5a5a5ull + static_cast<uint64_t>(epoch))) | 1;
}

// One pass over the loader's source in eval mode; with a communicator of several ranks each
// reads a contiguous shard of the samples and the figures are summed over the ranks.
EvalResult evaluate_with(Runtime& runtime, BatchLoader& loader, int64_t size,
                         const std::function<void(const std::string&)>& on_skip,
                         Communicator* comm) {
  const bool has_target = runtime.target() != nullptr;
  const bool shared = comm != nullptr && comm->size() > 1;
  std::vector<int64_t> shard;
  if (shared) {
    const int64_t begin = size * comm->rank() / comm->size();
    const int64_t end = size * (comm->rank() + 1) / comm->size();
    shard.resize(static_cast<size_t>(end - begin));
    std::iota(shard.begin(), shard.end(), begin);
  }
  double sums[3] = {0.0, 0.0, 0.0};  // loss times samples, correct, samples
  if (!shared || !shard.empty()) {  // (an empty order would mean every sample)
    loader.start(shard, 0, /*augment=*/0);
    for (int64_t b = 0; b < loader.batches(); ++b) {
      const LoadedBatch batch = loader.next();
      report_skips(loader, on_skip);
      if (batch.samples == 0) continue;
      runtime.forward(batch.samples, /*training=*/false);
      if (has_target) sums[0] += runtime.loss(batch.samples) * batch.samples;
      sums[1] += static_cast<double>(count_correct(runtime, batch.labels));
      sums[2] += batch.samples;
    }
    loader.stop();
  }
  if (shared) comm->sum(sums);
  EvalResult result;
  result.samples = static_cast<int64_t>(sums[2]);
  if (result.samples > 0) {
    result.accuracy = sums[1] / sums[2];
    result.loss = sums[0] / sums[2];
  }
  return result;
}

// Multiplies every weight gradient by `factor` (a step whose ranks skipped unreadable samples:
// the gradients were weighted by the batch's planned size, not by what was read).
void scale_gradients(Runtime& runtime, float factor) {
  for (const ParamView& p : runtime.parameters())
    if (p.grad)
      for (int64_t i = 0; i < p.n_elems; ++i) p.grad[i] *= factor;
}

[[noreturn]] void diverged(Runtime& runtime, int n, int64_t step, bool loss_finite) {
  const std::string where = n > 0 ? runtime.find_first_nonfinite(n) : "";
  throw TrainingDiverged("step " + std::to_string(step + 1) + ": " +
                             (loss_finite ? "a gradient" : "the loss") +
                             " is not finite; first non-finite values: " +
                             (where.empty() ? "not found again on a second pass" : where) +
                             "; try a smaller --lr",
                         step + 1);
}

}  // namespace

EvalResult evaluate(Runtime& runtime, const DataSource& data, int loader_threads,
                    const std::function<void(const std::string&)>& on_skip) {
  BatchLoader loader(data, runtime, loader_threads);
  return evaluate_with(runtime, loader, data.size(), on_skip, nullptr);
}

EvalResult evaluate(Runtime& runtime, const Dataset& data) {
  return evaluate(runtime, *dataset_source(data));
}

int rank_batch(int global_batch, int ranks) {
  if (ranks < 1) throw PlanError("ranks " + std::to_string(ranks) + ": must be at least 1");
  if (global_batch < ranks) {
    throw PlanError("a global batch of " + std::to_string(global_batch) + " over " +
                    std::to_string(ranks) + " ranks: every rank needs a sample a step; use a "
                    "batch of at least " + std::to_string(ranks));
  }
  return (global_batch + ranks - 1) / ranks;
}

int64_t train(Runtime& runtime, const DataSource& train_data, const DataSource* test_data,
              const TrainOptions& options,
              const std::function<void(const TrainProgress&)>& on_progress,
              const std::function<void(const EpochResult&)>& on_epoch) {
  Communicator* comm = options.communicator;
  const int ranks = comm ? comm->size() : 1;
  const int batch = runtime.plan().options.batch;
  const int global_batch = options.global_batch > 0 ? options.global_batch : batch * ranks;
  if (!comm && global_batch != batch) {
    throw PlanError("a global batch of " + std::to_string(global_batch) + " needs a communicator "
                    "(TrainOptions::communicator); one process trains on its plan's batch, " +
                    std::to_string(batch));
  }
  if (rank_batch(global_batch, ranks) > batch) {
    throw PlanError("a global batch of " + std::to_string(global_batch) + " over " +
                    std::to_string(ranks) + " ranks gives a rank up to " +
                    std::to_string(rank_batch(global_batch, ranks)) + " samples, but its plan "
                    "is for a batch of " + std::to_string(batch));
  }
  // Before any thread starts: a mismatched plan is an error, not a hang.
  std::optional<GradientSync> sync;
  if (comm) sync.emplace(runtime, *comm);
  BatchLoader loader(train_data, runtime, options.loader_threads);
  // One loader for every evaluation, so an unreadable test sample is named once, not per epoch.
  // The two share the runtime's data ring; only one runs a pass at a time.
  std::unique_ptr<BatchLoader> test_loader;
  if (test_data) test_loader = std::make_unique<BatchLoader>(*test_data, runtime, options.loader_threads);
  const int64_t size = train_data.size();
  const int64_t steps_per_epoch = (size + global_batch - 1) / global_batch;
  const int64_t end_step = train_end_step(options, steps_per_epoch);
  // Ranks stop together: each one's wish travels with the step's figures (GradientSync::finish),
  // and all of them see the same sum, so none is left waiting in a sum the others never start.
  bool stop_agreed = false;
  auto stop_asked = [&] {
    if (sync) return stop_agreed;
    return options.should_stop && options.should_stop();
  };
  // The data order: one permutation per epoch, drawn in turn from one stream, so a run repeats
  // exactly and a resumed run replays the earlier epochs' draws to continue where it stopped.
  // Every rank draws the same permutations and reads its share of each batch of them.
  std::vector<int64_t> order(static_cast<size_t>(size));
  RankShare share;
  Rng rng(options.seed);
  auto shuffle = [&] {
    std::iota(order.begin(), order.end(), 0);
    for (int64_t i = size - 1; i > 0; --i)
      std::swap(order[i], order[rng.below(static_cast<uint64_t>(i + 1))]);
  };
  int64_t step = options.start_step;
  const int64_t first_epoch = step / steps_per_epoch;
  for (int64_t e = 0; e < first_epoch; ++e) shuffle();
  for (int64_t epoch = first_epoch; step < end_step; ++epoch) {
    shuffle();
    const int64_t first_batch = step - epoch * steps_per_epoch;
    if (comm) {
      rank_share(order, global_batch, ranks, comm->rank(), share);
      loader.start(share.order, first_batch, augment_seed(options.seed, epoch), share.batch_ends);
    } else {
      loader.start(order, first_batch, augment_seed(options.seed, epoch));
    }
    const auto epoch_start = Clock::now();
    TrainProgress progress{.epoch = static_cast<int>(epoch), .end_step = end_step,
                           .steps_in_epoch = steps_per_epoch, .ranks = ranks};
    const double sync_wait_before = sync ? sync->wait_seconds() : 0.0;
    const double sync_progress_before = sync ? sync->progress_seconds() : 0.0;
    const double sync_step_sums_before = sync ? sync->step_sums_seconds() : 0.0;
    double loss_sum = 0.0;
    int64_t correct = 0, seen = 0;
    for (int64_t s = first_batch; s < steps_per_epoch && step < end_step; ++s) {
      if (stop_asked()) {
        loader.stop();
        return step;
      }
      const auto step_start = Clock::now();
      const LoadedBatch loaded = loader.next();
      report_skips(loader, options.on_skip);
      progress.data_wait_seconds += loaded.wait_seconds;
      const int n = loaded.samples;
      // This global batch's planned size, known to every rank without asking.
      const int64_t planned = std::min<int64_t>(global_batch, size - s * global_batch);
      // Synchronised batch norm sums over every rank inside the steps, so every rank must run
      // them: a last batch with fewer samples than ranks is dropped, on every rank alike (the
      // step is counted and reported, nothing is learnt from it).
      const bool steps_sum = sync && runtime.plan().rank_sums_buffer != kNoBuffer;
      if (steps_sum && planned < ranks) {
        // dropped
      } else if (!sync) {
        if (n > 0) {
          runtime.forward(n, /*training=*/true);
          // Read the output now: once the loss has read it, backward may reuse its bytes.
          correct += count_correct(runtime, loaded.labels);
          // A plan that updates in backward updates each layer there, once its gradients are
          // known finite. A non-finite loss is seen only after (it stops training all the same;
          // what it changed stays in memory, not in the last checkpoint written).
          if (runtime.updates_in_backward()) runtime.prepare_update(options.optimizer);
          const double loss_value = runtime.loss_and_backward(n);
          if (!std::isfinite(loss_value) || !runtime.gradients_finite())
            diverged(runtime, n, step, std::isfinite(loss_value));
          loss_sum += loss_value * n;
          if (!runtime.updates_in_backward()) runtime.update(options.optimizer);
          seen += n;
        }
      } else {
        // Each rank's mean gradient is weighted by its share of the global batch, n / m (m:
        // `planned`), on the gradient the backward pass starts from; the sum over the ranks is
        // then the mean over the global batch. When ranks skipped unreadable samples, the
        // figures' sum tells, and the gradients are scaled again by m / (what was read). With
        // synchronised batch norm a rank that could read none of its share cannot go on.
        if (steps_sum && n == 0) {
          throw IoError("rank " + std::to_string(comm->rank()) + " could read none of its " +
                          std::to_string(rank_slice_size(planned, ranks, comm->rank())) +
                          " samples of step " + std::to_string(step + 1) +
                          ", and synchronised batch norm needs every rank in every step");
        }
        sync->begin_step();
        runtime.set_first_sample(rank_slice_begin(planned, ranks, comm->rank()));
        GradientSync::Figures local{.samples = static_cast<double>(n),
                                    .stop = options.should_stop && options.should_stop() ? 1.0 : 0.0};
        const double step_sums_before = sync->step_sums_seconds();
        const auto compute_start = Clock::now();
        if (n > 0) {
          runtime.forward(n, /*training=*/true);
          local.correct = static_cast<double>(count_correct(runtime, loaded.labels));
          local.loss_sum = runtime.loss_and_backward(
                               n, static_cast<float>(n) / static_cast<float>(planned)) * n;
          progress.compute_seconds += seconds_since(compute_start) -
                                      (sync->step_sums_seconds() - step_sums_before);
        } else {
          // Counted as a forward all the same: every rank keeps the same count, which seeds
          // the dropout masks and goes into checkpoints.
          runtime.set_forward_calls(runtime.forward_calls() + 1);
          sync->contribute_nothing();
        }
        const GradientSync::Figures global = sync->finish(local);
        stop_agreed = global.stop > 0.0;
        if (global.samples > 0) {
          if (global.samples != static_cast<double>(planned))
            scale_gradients(runtime, static_cast<float>(static_cast<double>(planned) / global.samples));
          // The same sums on every rank, so every rank decides alike.
          if (!std::isfinite(global.loss_sum) || !runtime.gradients_finite())
            diverged(runtime, n, step, std::isfinite(global.loss_sum));
          loss_sum += global.loss_sum;
          correct += static_cast<int64_t>(global.correct);
          seen += static_cast<int64_t>(global.samples);
          const auto update_start = Clock::now();
          runtime.update(options.optimizer);
          progress.compute_seconds += seconds_since(update_start);
        }
        progress.sum_wait_seconds = sync->wait_seconds() - sync_wait_before +
                                    sync->step_sums_seconds() - sync_step_sums_before;
        progress.sum_progress_seconds = sync->progress_seconds() - sync_progress_before;
      }
      ++step;
      const auto now = Clock::now();
      progress.step_seconds += std::chrono::duration<double>(now - step_start).count();
      const double seconds = std::chrono::duration<double>(now - epoch_start).count();
      progress.step = step;
      progress.step_in_epoch = s + 1;
      progress.loss = seen > 0 ? loss_sum / static_cast<double>(seen) : 0.0;
      progress.accuracy = seen > 0 ? static_cast<double>(correct) / static_cast<double>(seen) : 0.0;
      progress.samples_per_second = seconds > 0 ? static_cast<double>(seen) / seconds : 0.0;
      progress.skipped = loader.skipped();
      if (on_progress) on_progress(progress);
    }
    loader.stop();
    // A stop asked during the epoch's last step skips its evaluation, which may take as long as
    // many steps.
    if (stop_asked()) return step;
    EpochResult result{.epoch = static_cast<int>(epoch), .last = progress,
                       .seconds = std::chrono::duration<double>(Clock::now() - epoch_start).count()};
    if (test_data) {
      result.has_test = true;
      result.test = evaluate_with(runtime, *test_loader, test_data->size(), options.on_skip, comm);
    }
    if (on_epoch) on_epoch(result);
  }
  return step;
}

int64_t train(Runtime& runtime, const Dataset& train_data, const Dataset* test_data,
              const TrainOptions& options,
              const std::function<void(const TrainProgress&)>& on_progress,
              const std::function<void(const EpochResult&)>& on_epoch) {
  const auto train_source = dataset_source(train_data);
  const auto test_source = test_data ? dataset_source(*test_data) : nullptr;
  return train(runtime, *train_source, test_source.get(), options, on_progress, on_epoch);
}

int64_t train_end_step(const TrainOptions& options, int64_t steps_per_epoch) {
  return options.steps > 0 ? options.steps : int64_t{options.epochs} * steps_per_epoch;
}

void save_checkpoint(const std::string& path, const Runtime& runtime, const TrainOptions& options,
                     int64_t steps_done, const ModelLabels& labels) {
  // A data-parallel run saves its global batch: the run is that batch's, whichever rank saves.
  const int ranks = options.communicator ? options.communicator->size() : 1;
  const int64_t batch = options.global_batch > 0 ? options.global_batch
                                                 : int64_t{runtime.plan().options.batch} * ranks;
  save_model(path, runtime, options.optimizer,
             {.seed = options.seed, .steps = steps_done, .forward_calls = runtime.forward_calls(),
              .batch = batch},
             labels);
}

ResumedTraining resume_training(const SavedModel& checkpoint, const PlanOptions& plan_options,
                                const TrainOptions& goal, const std::string& source_name) {
  const TrainState& state = checkpoint.train_state;
  if (state.batch < 1 || state.batch > (int64_t{1} << 30) || state.steps < 0) {
    throw Error(source_name + ": holds no training state (saved without one, or by an older "
                "version): it can be loaded and evaluated, not resumed");
  }
  ResumedTraining r{.net = parse_net(checkpoint.net_text, source_name),
                    .plan_options = plan_options, .options = goal};
  r.plan_options.mode = Mode::train;
  r.plan_options.optimizer = checkpoint.optimizer;
  r.plan_options.batch = static_cast<int>(state.batch);
  // A data-parallel run (the goal names a communicator of several ranks): the checkpoint holds
  // the global batch; each rank plans its share of it.
  if (goal.communicator && goal.communicator->size() > 1) {
    const int ranks = goal.communicator->size();
    r.options.global_batch = static_cast<int>(state.batch);
    r.plan_options.batch = rank_batch(static_cast<int>(state.batch), ranks);
    r.plan_options.ranks = ranks;
  }
  r.options.optimizer = checkpoint.optimizer_params;
  r.options.seed = state.seed;
  r.options.start_step = state.steps;
  return r;
}

}  // namespace footprint
