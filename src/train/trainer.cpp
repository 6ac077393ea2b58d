// The training loop over a Runtime: shuffled batches read by a BatchLoader (ahead of the step,
// into the plan's data ring, when the plan has one), one train_step each, progress and
// per-epoch evaluation reported through callbacks; checkpoints and resuming from one.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>
#include <numeric>
#include <vector>

#include "core/rng.hpp"
#include "footprint/batch_loader.hpp"
#include "footprint/error.hpp"
#include "footprint/train.hpp"

namespace footprint {
namespace {

using Clock = std::chrono::steady_clock;

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

// One pass over the loader's source in eval mode.
EvalResult evaluate_with(Runtime& runtime, BatchLoader& loader,
                         const std::function<void(const std::string&)>& on_skip) {
  const bool has_target = runtime.target() != nullptr;
  EvalResult result;
  double loss_sum = 0.0;
  loader.start({}, 0, /*augment=*/0);
  for (int64_t b = 0; b < loader.batches(); ++b) {
    const LoadedBatch batch = loader.next();
    report_skips(loader, on_skip);
    if (batch.samples == 0) continue;
    runtime.forward(batch.samples, /*training=*/false);
    if (has_target) loss_sum += runtime.loss(batch.samples) * batch.samples;
    result.accuracy += static_cast<double>(count_correct(runtime, batch.labels));
    result.samples += batch.samples;
  }
  if (result.samples > 0) {
    result.accuracy /= static_cast<double>(result.samples);
    result.loss = loss_sum / static_cast<double>(result.samples);
  }
  return result;
}

}  // namespace

EvalResult evaluate(Runtime& runtime, const DataSource& data, int loader_threads,
                    const std::function<void(const std::string&)>& on_skip) {
  BatchLoader loader(data, runtime, loader_threads);
  return evaluate_with(runtime, loader, on_skip);
}

EvalResult evaluate(Runtime& runtime, const Dataset& data) {
  return evaluate(runtime, *dataset_source(data));
}

int64_t train(Runtime& runtime, const DataSource& train_data, const DataSource* test_data,
              const TrainOptions& options,
              const std::function<void(const TrainProgress&)>& on_progress,
              const std::function<void(const EpochResult&)>& on_epoch) {
  BatchLoader loader(train_data, runtime, options.loader_threads);
  // One loader for every evaluation, so an unreadable test sample is named once, not per epoch.
  // The two share the runtime's data ring; only one runs a pass at a time.
  std::unique_ptr<BatchLoader> test_loader;
  if (test_data) test_loader = std::make_unique<BatchLoader>(*test_data, runtime, options.loader_threads);
  const int batch = runtime.plan().options.batch;
  const int64_t size = train_data.size();
  const int64_t steps_per_epoch = (size + batch - 1) / batch;
  const int64_t end_step = train_end_step(options, steps_per_epoch);
  auto stop_asked = [&] { return options.should_stop && options.should_stop(); };
  // The data order: one permutation per epoch, drawn in turn from one stream, so a run repeats
  // exactly and a resumed run replays the earlier epochs' draws to continue where it stopped.
  std::vector<int64_t> order(static_cast<size_t>(size));
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
    loader.start(order, first_batch, augment_seed(options.seed, epoch));
    const auto epoch_start = Clock::now();
    TrainProgress progress{.epoch = static_cast<int>(epoch), .end_step = end_step,
                           .steps_in_epoch = steps_per_epoch};
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
      if (n > 0) {
        runtime.forward(n, /*training=*/true);
        // Read the output now: once the loss has read it, backward may reuse its bytes.
        correct += count_correct(runtime, loaded.labels);
        const double loss_value = runtime.loss_and_backward(n);
        if (!std::isfinite(loss_value) || !runtime.gradients_finite()) {
          const std::string where = runtime.find_first_nonfinite(n);
          throw TrainingDiverged("step " + std::to_string(step + 1) + ": " +
                                     (std::isfinite(loss_value) ? "a gradient" : "the loss") +
                                     " is not finite; first non-finite values: " +
                                     (where.empty() ? "not found again on a second pass" : where) +
                                     "; try a smaller --lr",
                                 step + 1);
        }
        loss_sum += loss_value * n;
        runtime.update(options.optimizer);
        seen += n;
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
      result.test = evaluate_with(runtime, *test_loader, options.on_skip);
      test_loader->stop();
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
  save_model(path, runtime, options.optimizer,
             {.seed = options.seed, .steps = steps_done, .forward_calls = runtime.forward_calls(),
              .batch = runtime.plan().options.batch},
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
  r.options.optimizer = checkpoint.optimizer_params;
  r.options.seed = state.seed;
  r.options.start_step = state.steps;
  return r;
}

}  // namespace footprint
