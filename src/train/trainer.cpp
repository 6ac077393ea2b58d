// The training loop over a Runtime: shuffled batches filled from the data set in its stored
// type, one train_step each, progress and per-epoch evaluation reported through callbacks;
// checkpoints and resuming from one.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>
#include <vector>

#include "core/rng.hpp"
#include "footprint/error.hpp"
#include "footprint/train.hpp"

namespace footprint {
namespace {

using Clock = std::chrono::steady_clock;

void check_fits(const Runtime& runtime, const Dataset& data) {
  const Net& net = runtime.net();
  if (!(data.sample_shape == net.input_shape())) {
    throw ShapeError(data.name + ": samples are " + data.sample_shape.str() +
                     " but the net's input is " + net.input_shape().str());
  }
  if (data.classes > net.output_shape().n_elems()) {
    throw ShapeError(data.name + ": " + std::to_string(data.classes) +
                     " classes do not fit a net with " +
                     std::to_string(net.output_shape().n_elems()) + " outputs");
  }
}

int argmax(const float* row, int64_t n) {
  return static_cast<int>(std::max_element(row, row + n) - row);
}

// Correct predictions among the first `n` outputs for samples `indices`.
int64_t count_correct(const Runtime& runtime, const Dataset& data, std::span<const int64_t> indices) {
  const int64_t outputs = runtime.net().output_shape().n_elems();
  int64_t correct = 0;
  for (size_t i = 0; i < indices.size(); ++i)
    correct += argmax(runtime.output() + i * outputs, outputs) == label_of(data, indices[i]);
  return correct;
}

}  // namespace

EvalResult evaluate(Runtime& runtime, const Dataset& data) {
  check_fits(runtime, data);
  const int batch = runtime.plan().options.batch;
  const LossKind loss = runtime.net().loss_kind();
  const int64_t outputs = runtime.net().output_shape().n_elems();
  const bool has_target = runtime.target() != nullptr;
  std::vector<int64_t> indices(batch);
  EvalResult result;
  double loss_sum = 0.0;
  for (int64_t start = 0; start < data.size; start += batch) {
    const int n = static_cast<int>(std::min<int64_t>(batch, data.size - start));
    std::iota(indices.begin(), indices.begin() + n, start);
    std::span<const int64_t> batch_indices(indices.data(), n);
    fill_batch(data, batch_indices, loss, outputs, runtime.input(),
               has_target ? runtime.target() : nullptr);
    runtime.forward(n, /*training=*/false);
    if (has_target) loss_sum += runtime.loss(n) * n;
    result.accuracy += static_cast<double>(count_correct(runtime, data, batch_indices));
    result.samples += n;
  }
  if (result.samples > 0) {
    result.accuracy /= static_cast<double>(result.samples);
    result.loss = loss_sum / static_cast<double>(result.samples);
  }
  return result;
}

int64_t train(Runtime& runtime, const Dataset& train_data, const Dataset* test_data,
              const TrainOptions& options,
              const std::function<void(const TrainProgress&)>& on_progress,
              const std::function<void(const EpochResult&)>& on_epoch) {
  check_fits(runtime, train_data);
  const int batch = runtime.plan().options.batch;
  const LossKind loss = runtime.net().loss_kind();
  const int64_t outputs = runtime.net().output_shape().n_elems();
  const int64_t steps_per_epoch = (train_data.size + batch - 1) / batch;
  const int64_t end_step = train_end_step(options, steps_per_epoch);
  auto stop_asked = [&] { return options.should_stop && options.should_stop(); };
  // The data order: one permutation per epoch, drawn in turn from one stream, so a run repeats
  // exactly and a resumed run replays the earlier epochs' draws to continue where it stopped.
  std::vector<int64_t> order(train_data.size);
  Rng rng(options.seed);
  auto shuffle = [&] {
    std::iota(order.begin(), order.end(), 0);
    for (int64_t i = train_data.size - 1; i > 0; --i)
      std::swap(order[i], order[rng.below(static_cast<uint64_t>(i + 1))]);
  };
  int64_t step = options.start_step;
  const int64_t first_epoch = step / steps_per_epoch;
  for (int64_t e = 0; e < first_epoch; ++e) shuffle();
  for (int64_t epoch = first_epoch; step < end_step; ++epoch) {
    shuffle();
    const auto epoch_start = Clock::now();
    TrainProgress progress{.epoch = static_cast<int>(epoch), .end_step = end_step,
                           .steps_in_epoch = steps_per_epoch};
    double loss_sum = 0.0;
    int64_t correct = 0, seen = 0;
    for (int64_t s = step - epoch * steps_per_epoch; s < steps_per_epoch && step < end_step; ++s) {
      if (stop_asked()) return step;
      const int64_t start = s * batch;
      const int n = static_cast<int>(std::min<int64_t>(batch, train_data.size - start));
      std::span<const int64_t> indices(order.data() + start, n);
      fill_batch(train_data, indices, loss, outputs, runtime.input(), runtime.target());
      runtime.forward(n, /*training=*/true);
      // Read the output now: once the loss has read it, backward may reuse its bytes.
      correct += count_correct(runtime, train_data, indices);
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
      ++step;
      const double seconds = std::chrono::duration<double>(Clock::now() - epoch_start).count();
      progress.step = step;
      progress.step_in_epoch = s + 1;
      progress.loss = loss_sum / static_cast<double>(seen);
      progress.accuracy = static_cast<double>(correct) / static_cast<double>(seen);
      progress.samples_per_second = seconds > 0 ? static_cast<double>(seen) / seconds : 0.0;
      if (on_progress) on_progress(progress);
    }
    // A stop asked during the epoch's last step skips its evaluation, which may take as long as
    // many steps.
    if (stop_asked()) return step;
    EpochResult result{.epoch = static_cast<int>(epoch), .last = progress,
                       .seconds = std::chrono::duration<double>(Clock::now() - epoch_start).count()};
    if (test_data) {
      result.has_test = true;
      result.test = evaluate(runtime, *test_data);
    }
    if (on_epoch) on_epoch(result);
  }
  return step;
}

int64_t train_end_step(const TrainOptions& options, int64_t steps_per_epoch) {
  return options.steps > 0 ? options.steps : int64_t{options.epochs} * steps_per_epoch;
}

void save_checkpoint(const std::string& path, const Runtime& runtime, const TrainOptions& options,
                     int64_t steps_done) {
  save_model(path, runtime, options.optimizer,
             {.seed = options.seed, .steps = steps_done, .forward_calls = runtime.forward_calls(),
              .batch = runtime.plan().options.batch});
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
