// footprint train NET --data ...: trains with a progress bar, reports test accuracy per epoch
// and, at the end, the memory actually used beside the plan.
#include <unistd.h>

#include <chrono>
#include <optional>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/common.hpp"
#include "footprint/blas_core.hpp"
#include "core/units.hpp"

namespace footprint::cli {
namespace {

// Redraws one status line on a terminal; elsewhere prints a line every tenth of an epoch.
class ProgressLine {
 public:
  explicit ProgressLine(int epochs) : epochs_(epochs), tty_(isatty(STDERR_FILENO) != 0) {}

  void update(const TrainProgress& p) {
    const bool last = p.step_in_epoch == p.steps_in_epoch;
    const auto now = std::chrono::steady_clock::now();
    if (tty_) {
      if (!last && now - drawn_ < std::chrono::milliseconds(100)) return;
    } else {
      const int64_t tenth = std::max<int64_t>(1, p.steps_in_epoch / 10);
      if (!last && p.step_in_epoch % tenth != 0) return;
    }
    drawn_ = now;
    const int width = 24;
    const int filled = static_cast<int>(width * p.step_in_epoch / std::max<int64_t>(1, p.steps_in_epoch));
    std::string bar(filled, '#');
    bar.resize(width, '.');
    std::fprintf(stderr, "%sepoch %d/%d [%s] %lld/%lld  loss %.4f  acc %.1f%%  %.0f samples/s%s",
                 tty_ ? "\r" : "", p.epoch + 1, epochs_, bar.c_str(),
                 static_cast<long long>(p.step_in_epoch), static_cast<long long>(p.steps_in_epoch),
                 p.loss, 100.0 * p.accuracy, p.samples_per_second, tty_ ? "" : "\n");
    if (tty_ && last) std::fprintf(stderr, "\n");
  }

 private:
  int epochs_;
  bool tty_;
  std::chrono::steady_clock::time_point drawn_{};
};

// The --profile table: milliseconds per call of each layer's forward and backward, and each
// layer's share of the time spent in layers (test-set forwards included).
void print_layer_times(const Net& net, const std::vector<Runtime::LayerTime>& times) {
  double total = 0.0;
  for (const Runtime::LayerTime& t : times) total += t.forward_seconds + t.backward_seconds;
  auto per_call_ms = [](double seconds, int64_t calls) {
    return calls > 0 ? 1e3 * seconds / static_cast<double>(calls) : 0.0;
  };
  std::printf("GEMM: %s\n", blas_core_description().c_str());
  std::printf("Time per layer (ms per call; share of the time spent in layers)\n");
  std::printf("  %-16s %-10s %-14s %10s %10s %7s\n", "layer", "op", "output", "forward", "backward",
              "share");
  for (int i = 0; i < net.n_layers(); ++i) {
    const Runtime::LayerTime& t = times[static_cast<size_t>(i)];
    const Net::Node& node = net.node(i);
    std::printf("  %-16s %-10s %-14s %10.3f %10.3f %6.1f%%\n", node.spec.name.c_str(),
                node.spec.op.c_str(), node.out_shape.str().c_str(),
                per_call_ms(t.forward_seconds, t.forward_calls),
                per_call_ms(t.backward_seconds, t.backward_calls),
                total > 0 ? 100.0 * (t.forward_seconds + t.backward_seconds) / total : 0.0);
  }
}

nlohmann::json layer_times_json(const Net& net, const std::vector<Runtime::LayerTime>& times) {
  nlohmann::json rows = nlohmann::json::array();
  for (int i = 0; i < net.n_layers(); ++i) {
    const Runtime::LayerTime& t = times[static_cast<size_t>(i)];
    rows.push_back({{"layer", net.node(i).spec.name}, {"op", net.node(i).spec.op},
                    {"forward_seconds", t.forward_seconds}, {"forward_calls", t.forward_calls},
                    {"backward_seconds", t.backward_seconds}, {"backward_calls", t.backward_calls}});
  }
  return rows;
}

}  // namespace

void add_train_command(CLI::App& app) {
  struct Flags {
    std::string net_path, data = "fashion-mnist", save, report, size, loss, memory_limit;
    PlanFlags plan;
    int epochs = 1;
    int64_t steps = 0;
    float lr = 0.01f, momentum = 0.9f, weight_decay = 0.0f;
    bool nesterov = false, profile = false;
    uint64_t seed = 1;
    std::string resume;
    int64_t checkpoint_every = 0;
  };
  auto f = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand("train", "Train a net and report the memory it used beside its plan");
  cmd->add_option("net", f->net_path,
                  "Net file (.net) ending in a loss line, or ONNX model (.onnx) with --loss; "
                  "not needed with --resume");
  cmd->add_option("--loss", f->loss, "Loss to add to a net without one (an ONNX model): mse or softmax_xent")
      ->check(CLI::IsMember({"mse", "softmax_xent"}));
  cmd->add_option("--data", f->data, "fashion-mnist[:DIR], mnist:DIR or synthetic")
      ->capture_default_str();
  cmd->add_option("--epochs", f->epochs, "Passes over the training set")->check(CLI::Range(1, 100000));
  cmd->add_option("--steps", f->steps, "Stop after this many steps (overrides --epochs)")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 40));
  add_plan_flags(*cmd, f->plan, /*with_mode=*/false);
  add_size_flag(*cmd, f->size);
  cmd->add_option("--lr", f->lr, "Learning rate")->capture_default_str();
  cmd->add_option("--momentum", f->momentum, "Momentum (momentum optimizer); Adam's beta1 stays 0.9")
      ->capture_default_str();
  cmd->add_flag("--nesterov", f->nesterov, "Nesterov momentum");
  cmd->add_option("--weight-decay", f->weight_decay, "L2 penalty (decoupled for adamw)");
  cmd->add_option("--seed", f->seed, "Seed for the initial weights, data order and dropout");
  cmd->add_option("--memory-limit", f->memory_limit,
                  "Refuse to start when the plan needs more than this (512M, 4G, ...; default: "
                  "the memory available to the process)");
  cmd->add_option("--save", f->save,
                  "Write the trained model, optimizer state and data position here (atomic)");
  cmd->add_option("--checkpoint-every", f->checkpoint_every,
                  "Also write --save every N steps, so an interrupted run can --resume")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 40));
  cmd->add_option("--resume", f->resume,
                  "Continue from a file written by --save: net, weights, optimizer, batch, seed "
                  "and data position come from it (use the same --threads for identical results)");
  cmd->add_option("--report", f->report, "Write the memory and speed figures as JSON here");
  cmd->add_flag("--profile", f->profile,
                "Time every layer's forward and backward and print where the time went "
                "(also in --report as layer_times)");
  cmd->callback([f] {
    if (f->net_path.empty() == f->resume.empty()) {
      throw Error("train: give a NET (or MODEL.onnx), or --resume FILE, but not both");
    }
    if (f->checkpoint_every > 0 && f->save.empty()) {
      throw Error("--checkpoint-every: needs --save FILE (the checkpoint is written there)");
    }
    std::optional<SavedModel> resumed;
    LoadedNet loaded;
    if (!f->resume.empty()) {
      resumed = load_model(f->resume);
      loaded.net = parse_net(resumed->net_text, f->resume);
    } else {
      loaded = load_any_net(f->net_path, OnnxImportOptions::Weights::deferred, parse_size(f->size));
    }
    const Net net = resize_input(with_loss(loaded.net, f->loss), f->size);
    PlanOptions options = to_plan_options(f->plan);
    options.mode = Mode::train;
    TrainOptions train_options{.epochs = f->epochs, .steps = f->steps, .seed = f->seed};
    train_options.optimizer = {.lr = f->lr, .momentum = f->momentum, .nesterov = f->nesterov,
                               .weight_decay = f->weight_decay};
    if (resumed) {  // the run continues exactly as it was set up
      options.optimizer = resumed->optimizer;
      options.batch = static_cast<int>(std::max<int64_t>(1, resumed->train_state.batch));
      train_options.optimizer = resumed->optimizer_params;
      train_options.seed = resumed->train_state.seed;
      train_options.start_step = resumed->train_state.steps;
    }
    const Plan p = plan(net, options);
    const int64_t limit =
        f->memory_limit.empty() ? available_memory_bytes() : parse_bytes(f->memory_limit);
    check_memory_limit(net, p, /*other_bytes=*/0, limit);  // before the data set is loaded
    // A fixed size, so the data order does not depend on --steps (runs can be resumed).
    const int64_t synthetic_size = 1024;
    const DataSplit data = load_data(f->data, net, synthetic_size);
    std::fprintf(stderr, "%s: %s parameters; plan %s (arena %s + persistent %s), peak at %s\n",
                 f->net_path.c_str(), format_count(p.params).c_str(),
                 format_bytes(p.total_bytes).c_str(), format_bytes(p.arena_bytes).c_str(),
                 format_bytes(p.persistent_bytes).c_str(), p.step_label(p.peak_step).c_str());
    std::fprintf(stderr, "data: %s, %lld training samples, %lld test samples, %s held as stored\n",
                 f->data.c_str(), static_cast<long long>(data.train.size),
                 static_cast<long long>(data.test.size),
                 format_bytes(data.train.bytes() + data.test.bytes()).c_str());
    check_memory_limit(net, p, data.train.bytes() + data.test.bytes(), limit);
    reset_tracked_peak();
    // What the process adds from here on is the plan and what the plan names outside it.
    const bool peak_restarted = restart_peak_resident();
    const int64_t resident_before = resident_bytes();
    Runtime runtime(net, p, f->seed);
    loaded.restore(runtime);  // an ONNX model's weights replace the seeded ones
    if (resumed) {
      restore_parameters(*resumed, runtime);
      resumed.reset();  // its weights are in the runtime now
    }
    runtime.set_layer_timing(f->profile);
    auto save = [&](int64_t steps_done) {
      save_model(f->save, runtime, train_options.optimizer,
                 {.seed = train_options.seed, .steps = steps_done,
                  .forward_calls = runtime.forward_calls(), .batch = options.batch});
    };
    const int epochs = f->steps > 0 ? static_cast<int>((f->steps * options.batch + data.train.size - 1) /
                                                       std::max<int64_t>(1, data.train.size))
                                    : f->epochs;
    ProgressLine progress(std::max(1, epochs));
    nlohmann::json epoch_log = nlohmann::json::array();
    double train_seconds = 0.0;
    double test_accuracy = -1.0;
    const Dataset* test = data.test.size > 0 ? &data.test : nullptr;
    const int64_t steps = train(
        runtime, data.train, test, train_options,
        [&](const TrainProgress& pr) {
          progress.update(pr);
          if (f->checkpoint_every > 0 && pr.step % f->checkpoint_every == 0) save(pr.step);
        },
        [&](const EpochResult& r) {
          train_seconds += r.seconds;
          nlohmann::json entry = {{"epoch", r.epoch + 1}, {"seconds", r.seconds},
                                  {"train_loss", r.last.loss}, {"train_accuracy", r.last.accuracy}};
          if (r.has_test) {
            test_accuracy = r.test.accuracy;
            entry["test_loss"] = r.test.loss;
            entry["test_accuracy"] = r.test.accuracy;
            std::fprintf(stderr, "epoch %d: %.1f s, test accuracy %.2f%%, test loss %.4f\n",
                         r.epoch + 1, r.seconds, 100.0 * r.test.accuracy, r.test.loss);
          } else {
            std::fprintf(stderr, "epoch %d: %.1f s\n", r.epoch + 1, r.seconds);
          }
          epoch_log.push_back(entry);
        });
    if (!f->save.empty()) {
      save(steps);
      std::fprintf(stderr, "saved %s after %lld steps\n", f->save.c_str(), static_cast<long long>(steps));
    }
    const TrackedMemory tracked = tracked_memory();
    const int64_t rss = peak_rss_bytes();
    const int64_t steps_run = steps - train_options.start_step;
    const double seconds_per_step = steps_run > 0 ? train_seconds / static_cast<double>(steps_run) : 0.0;
    std::printf("Memory report\n");
    std::printf("  planned (arena + persistent):   %12s B  %s\n", format_count(p.total_bytes).c_str(),
                format_bytes(p.total_bytes).c_str());
    std::printf("  counting allocator peak:        %12s B  %s%s\n",
                format_count(tracked.peak_bytes).c_str(), format_bytes(tracked.peak_bytes).c_str(),
                tracked.peak_bytes == p.total_bytes ? "  (equals the plan)" : "  (DIFFERS from the plan)");
    std::printf("  data set, outside the plan:     %12s B  %s\n",
                format_count(data.train.bytes() + data.test.bytes()).c_str(),
                format_bytes(data.train.bytes() + data.test.bytes()).c_str());
    std::printf("  process peak RSS (VmHWM):       %12s B  %s\n", format_count(rss).c_str(),
                format_bytes(rss).c_str());
    const int64_t growth = peak_restarted ? peak_resident_bytes() - resident_before : -1;
    if (growth >= 0) {
      std::printf("  peak RSS growth from the runtime's creation: %s B  %s\n",
                  format_count(growth).c_str(), format_bytes(growth).c_str());
    }
    std::printf("  %lld steps, %.4f s per step\n", static_cast<long long>(steps_run), seconds_per_step);
    if (f->profile) print_layer_times(net, runtime.layer_times());
    if (!f->report.empty()) {
      nlohmann::json report = {{"planned_bytes", p.total_bytes},
                               {"tracked_peak_bytes", tracked.peak_bytes},
                               {"peak_rss_bytes", rss},
                               {"rss_growth_bytes", growth},
                               {"outside_bytes", p.outside_bytes()},
                               {"dataset_bytes", data.train.bytes() + data.test.bytes()},
                               {"seconds_per_step", seconds_per_step},
                               {"steps", steps_run},
                               {"threads", options.threads},
                               {"blas", blas_core_description()},
                               {"batch", options.batch},
                               {"epochs", epoch_log}};
      if (test_accuracy >= 0) report["test_accuracy"] = test_accuracy;
      if (f->profile) report["layer_times"] = layer_times_json(net, runtime.layer_times());
      write_file_atomic(f->report, report.dump(2) + "\n");
    }
  });
}

}  // namespace footprint::cli
