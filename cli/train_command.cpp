// footprint train NET --data ...: trains with a progress line, reports test accuracy per epoch
// and, at the end, the memory actually used beside the plan. Ctrl-C saves the run and says how
// to resume it; --resume continues one. Under an MPI launcher (mpirun -np N footprint train ...)
// the N processes train one model together (data parallel, --batch is the global batch): rank 0
// prints and writes files, the others only name what goes wrong on them.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>

#include "cli/common.hpp"
#include "cli/data_flags.hpp"
#include "footprint/blas_core.hpp"
#include "core/units.hpp"

namespace footprint::cli {
namespace {

// The training progress: on a terminal a bar for the current epoch, redrawn; elsewhere a line
// every few seconds. It ends where the run ends (--steps), not at the end of the epoch.
class TrainProgressLine {
 public:
  void update(const TrainProgress& p) {
    const int64_t epoch_first = p.epoch * p.steps_in_epoch;
    const int64_t epoch_steps = std::min(p.steps_in_epoch, p.end_step - epoch_first);
    const int64_t done_in_epoch = p.step - epoch_first;
    const bool last = p.step == p.end_step || p.step_in_epoch == p.steps_in_epoch;
    const int64_t epochs = (p.end_step + p.steps_in_epoch - 1) / std::max<int64_t>(1, p.steps_in_epoch);
    char text[256];
    if (line_.terminal()) {
      const int width = 24;
      const int filled = static_cast<int>(width * done_in_epoch / std::max<int64_t>(1, epoch_steps));
      std::string bar(static_cast<size_t>(std::clamp(filled, 0, width)), '#');
      bar.resize(width, '.');
      std::snprintf(text, sizeof text,
                    "epoch %d/%lld [%s] %lld/%lld  step %lld/%lld  loss %.4f  acc %.1f%%  %.0f samples/s",
                    p.epoch + 1, static_cast<long long>(epochs), bar.c_str(),
                    static_cast<long long>(done_in_epoch), static_cast<long long>(epoch_steps),
                    static_cast<long long>(p.step), static_cast<long long>(p.end_step), p.loss,
                    100.0 * p.accuracy, p.samples_per_second);
    } else {
      std::snprintf(text, sizeof text,
                    "step %lld/%lld  epoch %d/%lld  loss %.4f  acc %.1f%%  %.0f samples/s",
                    static_cast<long long>(p.step), static_cast<long long>(p.end_step),
                    p.epoch + 1, static_cast<long long>(epochs), p.loss, 100.0 * p.accuracy,
                    p.samples_per_second);
    }
    line_.show(text, last);
  }
  void end() { line_.end(); }

 private:
  ProgressLine line_;
};

// The --profile table: milliseconds per call of each layer's forward and backward, and each
// layer's share of the time spent in layers (test-set forwards included).
void print_layer_times(const Net& net, const std::vector<Runtime::LayerTime>& times) {
  double total = 0.0;
  for (const Runtime::LayerTime& t : times) total += t.forward_seconds + t.backward_seconds;
  auto per_call_ms = [](double seconds, int64_t calls) {
    return calls > 0 ? 1e3 * seconds / static_cast<double>(calls) : 0.0;
  };
  size_t longest = 0;
  for (const Net::Node& node : net.nodes()) longest = std::max(longest, node.spec.name.size());
  const size_t name_w = name_column_width(longest, 16);
  std::printf("GEMM: %s\n", blas_core_description().c_str());
  std::printf("Time per layer (ms per call; share of the time spent in layers)\n");
  std::printf("  %s%s%s %10s %10s %7s\n", pad("layer", name_w).c_str(), pad("op", 14).c_str(),
              pad("output", 14).c_str(), "forward", "backward", "share");
  for (int i = 0; i < net.n_layers(); ++i) {
    const Runtime::LayerTime& t = times[static_cast<size_t>(i)];
    const Net::Node& node = net.node(i);
    std::printf("  %s%s%s %10.3f %10.3f %6.1f%%\n", name_cell(node.spec.name, name_w).c_str(),
                name_cell(node.spec.op, 14).c_str(), name_cell(node.out_shape.str(), 14).c_str(),
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

namespace {

struct TrainFlags {
  std::string net_path, save, report, size, loss, memory_limit = "available";
  DataFlags data;
  PlanFlags plan;
  int epochs = 1;
  int64_t steps = 0;
  float lr = 0.01f, momentum = 0.9f, weight_decay = 0.0f;
  bool nesterov = false, profile = false;
  uint64_t seed = 1;
  std::string resume;
  int64_t checkpoint_every = 0;
  double comm_timeout = 60.0;  // seconds a rank waits for the others
  bool sync_bn = false;
  // Options a checkpoint fixes, and those that would change its net: --resume checks which
  // were given.
  std::vector<std::pair<std::string, CLI::Option*>> fixed_by_checkpoint, net_changing;
  CLI::Option* steps_option = nullptr;
  CLI::Option* epochs_option = nullptr;
};

// The median of the step times after the first (which warms up: OpenBLAS, first touches), or
// of the one there is; 0 without steps.
double median_after_first(std::vector<double> times) {
  if (times.size() > 1) times.erase(times.begin());
  if (times.empty()) return 0.0;
  std::sort(times.begin(), times.end());
  const size_t n = times.size();
  return n % 2 ? times[n / 2] : 0.5 * (times[n / 2 - 1] + times[n / 2]);
}

// Where an interrupted run without --save leaves its checkpoint: NAME.interrupted.fpm beside the
// net (or the checkpoint it resumed), else in the current directory when that one is read-only.
std::string interrupted_path(const std::string& source) {
  namespace fs = std::filesystem;
  std::string stem = fs::path(source).stem().string();
  const std::string suffix = ".interrupted";
  if (stem.size() > suffix.size() && stem.ends_with(suffix)) stem.resize(stem.size() - suffix.size());
  const std::string beside = (fs::path(source).parent_path() / (stem + ".interrupted.fpm")).string();
  try {
    check_writable("--save", beside);
    return beside;
  } catch (const Error&) {
    return stem + ".interrupted.fpm";
  }
}

// The flags that continue a run exactly as it was going: the data, the goal, and the planning
// options that change the arithmetic's order (threads, tiles, direct convolutions).
std::string resume_command(const std::string& checkpoint, const TrainFlags& f,
                           const PlanOptions& o, const TrainOptions& t) {
  // A data-parallel run resumes with as many ranks (another number sums in another order).
  const std::string launcher = o.ranks > 1 ? "mpirun -np " + std::to_string(o.ranks) + " " : "";
  std::string command = launcher + "footprint train --resume " + shell_quote(checkpoint) +
                        " --data " + shell_quote(f.data.spec);
  // How samples are read and transformed changes what the run sees.
  if (f.data.resize > 0) command += " --resize " + std::to_string(f.data.resize);
  if (f.data.random_crop) command += " --random-crop";
  if (f.data.mirror) command += " --mirror";
  if (f.data.val_split > 0) command += " --val-split " + std::to_string(f.data.val_split);
  command += t.steps > 0 ? " --steps " + std::to_string(t.steps) : " --epochs " + std::to_string(t.epochs);
  command += " --threads " + std::to_string(o.threads);
  if (o.conv_tile_bytes != kAutoConvTile) command += " --tile-bytes " + f.plan.tile_bytes;
  if (!o.direct_conv) command += " --no-direct-conv";
  if (!o.winograd_conv) command += " --no-winograd";
  if (o.sync_batch_norm) command += " --sync-bn";
  if (o.memory_budget > 0) command += " --memory-budget " + f.plan.memory_budget;
  if (o.saved_dtype != SavedDtype::f32) command += " --saved-dtype bf16";
  if (o.update_in_backward) command += " --update-in-backward";
  // Without --save the run would end unsaved: the checkpoint it resumes takes the result.
  command += " --save " + shell_quote(f.save.empty() ? checkpoint : f.save);
  if (f.checkpoint_every > 0) command += " --checkpoint-every " + std::to_string(f.checkpoint_every);
  return command;
}

void run_train(TrainFlags& flags, Communicator& comm) {
  TrainFlags* const f = &flags;
  const int ranks = comm.size();
  const bool lead = comm.rank() == 0;  // prints, and writes every file
  if (f->net_path.empty() == f->resume.empty()) {
    throw Error("train: give a NET (or MODEL.onnx), or --resume FILE, but not both");
  }
  if (f->checkpoint_every > 0 && f->save.empty()) {
    throw Error("--checkpoint-every: needs --save FILE (the checkpoint is written there)");
  }
  // Every path this run writes, before anything is loaded: no run ends unable to save.
  if (lead && !f->save.empty()) check_writable("--save", f->save);
  if (lead && !f->report.empty()) check_writable("--report", f->report);
  const std::string source = f->resume.empty() ? f->net_path : f->resume;
  const std::string interrupt_path = f->save.empty() ? interrupted_path(source) : f->save;

  PlanOptions options = to_plan_options(f->plan);
  options.mode = Mode::train;
  options.sync_batch_norm = f->sync_bn;
  TrainOptions train_options{.epochs = f->epochs, .steps = f->steps, .seed = f->seed};
  train_options.optimizer = {.lr = f->lr, .momentum = f->momentum, .nesterov = f->nesterov,
                             .weight_decay = f->weight_decay};
  // Data parallel: --batch is the global batch; each rank plans its share of it (resumed: the
  // checkpoint's, which resume_training splits).
  if (ranks > 1) train_options.communicator = &comm;
  if (ranks > 1 && f->resume.empty()) {
    train_options.global_batch = options.batch;
    options.batch = rank_batch(options.batch, ranks);
    options.ranks = ranks;
  }
  std::optional<SavedModel> resumed;
  LoadedNet loaded;
  Net net{Shape{}};
  if (!f->resume.empty()) {
    for (const auto& [flag, option] : f->net_changing) {
      if (option->count() > 0) {
        throw Error(flag + ": the checkpoint " + f->resume + " fixes the net; --resume takes no " +
                    flag);
      }
    }
    resumed = load_model(f->resume);
    ResumedTraining r = resume_training(*resumed, options, train_options, f->resume);
    std::vector<std::string> ignored;
    for (const auto& [flag, option] : f->fixed_by_checkpoint)
      if (option->count() > 0) ignored.push_back(flag);
    if (!ignored.empty()) {
      std::string names;
      for (const std::string& name : ignored) names += (names.empty() ? "" : ", ") + name;
      char fixed[256];
      std::snprintf(fixed, sizeof fixed,
                    "batch %d, optimizer %s, lr %g, momentum %g%s, weight decay %g, seed %llu",
                    ranks > 1 ? r.options.global_batch : r.plan_options.batch, optimizer_name(r.plan_options.optimizer),
                    r.options.optimizer.lr, r.options.optimizer.momentum,
                    r.options.optimizer.nesterov ? " (nesterov)" : "",
                    r.options.optimizer.weight_decay,
                    static_cast<unsigned long long>(r.options.seed));
      if (lead) {
        std::fprintf(stderr, "warning: --resume ignores %s: the checkpoint fixes them (%s)\n",
                     names.c_str(), fixed);
      }
    }
    net = std::move(r.net);
    options = r.plan_options;
    train_options = r.options;
  } else {
    loaded = load_any_net(f->net_path, OnnxImportOptions::Weights::deferred, parse_size(f->size));
    net = resize_input(with_loss(loaded.net, f->loss), f->size);
  }

  // Data read from disk is read ahead into the plan's ring; data held in memory needs none.
  options.prefetch_batches = prefetch_batches(f->data);
  Plan p = plan(net, options);
  const MemoryLimit limit = parse_memory_limit("--memory-limit", f->memory_limit, options.threads);
  // The advice names the flags as given: the global batch.
  PlanOptions given = options;
  if (ranks > 1) given.batch = train_options.global_batch;
  auto check_memory = [&](int64_t data_bytes) {
    check_memory_limit(net, p, data_bytes, limit.bytes,
                       memory_advice(limit, fit_command(source, given,
                                                        f->resume.empty() ? f->size : "",
                                                        f->resume.empty() ? f->loss : "",
                                                        limit.bytes - data_bytes)));
  };
  check_memory(0);  // before the data set is loaded
  // A fixed size, so the data order does not depend on --steps (runs can be resumed).
  const int64_t synthetic_size = 1024;
  // A resumed run reads its images as the first part did: the same classes, the same
  // normalisation (unless given again).
  DataFlags data_flags = f->data;
  std::vector<std::string> classes;
  if (resumed) {
    classes = resumed->labels.class_names;
    use_saved_normalisation(data_flags, resumed->labels);
  }
  const TrainingData data = open_training_data(data_flags, net, synthetic_size, classes);
  for (const Plan::OutsideLine& line : data.outside_lines(net.input_shape())) p.outside.push_back(line);
  const int64_t data_bytes = data.held_bytes();
  const int global_batch = ranks > 1 ? train_options.global_batch : options.batch;
  const int64_t steps_per_epoch = (data.train->size() + global_batch - 1) / global_batch;
  const int64_t end_step = train_end_step(train_options, std::max<int64_t>(1, steps_per_epoch));
  if (end_step <= train_options.start_step) {
    throw Error(std::string(f->steps > 0 ? "--steps " + std::to_string(f->steps)
                                         : "--epochs " + std::to_string(f->epochs)) +
                ": the run ends at step " + std::to_string(end_step) + ", and the checkpoint " +
                f->resume + " has done " + std::to_string(train_options.start_step) +
                " already (--steps and --epochs count the whole run, the checkpoint's steps "
                "included)");
  }
  if (lead) {
    std::fprintf(stderr, "%s: %s parameters; plan %s (arena %s + persistent %s), peak at %s%s\n",
                 source.c_str(), format_count(p.params).c_str(),
                 format_bytes(p.total_bytes).c_str(), format_bytes(p.arena_bytes).c_str(),
                 format_bytes(p.persistent_bytes).c_str(), p.step_label(p.peak_step).c_str(),
                 ranks > 1 ? " (each rank's)" : "");
    if (ranks > 1) {
      std::fprintf(stderr, "%d ranks (%s): global batch %d, %d or fewer samples a rank a step; "
                   "gradients summed in %zu buckets during the backward pass, %s of scratch a rank\n",
                   ranks, comm.kind().c_str(), global_batch, options.batch,
                   p.gradient_buckets.size(), format_bytes(p.bytes(Category::allreduce)).c_str());
    }
    for (const std::string& note : data.notes) std::fprintf(stderr, "%s\n", note.c_str());
    if (!data.class_names.empty()) {
      std::string names;
      for (size_t i = 0; i < data.class_names.size(); ++i)
        names += (i ? ", " : "") + std::to_string(i) + " " + data.class_names[i];
      std::fprintf(stderr, "classes: %s\n", names.c_str());
    }
    std::fprintf(stderr, "data: %s, %lld training samples, %lld test samples, %s held outside the plan%s\n",
                 f->data.spec.c_str(), static_cast<long long>(data.train->size()),
                 static_cast<long long>(data.test ? data.test->size() : 0),
                 format_bytes(data_bytes).c_str(),
                 options.prefetch_batches > 0
                     ? (", " + std::to_string(options.prefetch_batches) + " batches read ahead by " +
                        std::to_string(data.loader_threads) + " thread" +
                        (data.loader_threads > 1 ? "s" : "") + " into the plan's ring")
                           .c_str()
                     : "");
    if (train_options.start_step > 0) {
      std::fprintf(stderr, "resuming %s at step %lld of %lld\n", f->resume.c_str(),
                   static_cast<long long>(train_options.start_step), static_cast<long long>(end_step));
    }
  }
  check_memory(data_bytes);
  reset_tracked_peak();
  // What the process adds from here on is the plan and what the plan names outside it.
  const bool peak_restarted = restart_peak_resident();
  const int64_t resident_before = resident_bytes();
  Runtime runtime(net, p, train_options.seed);
  loaded.restore(runtime);  // an ONNX model's weights replace the seeded ones
  if (resumed) {
    restore_parameters(*resumed, runtime);
    resumed.reset();  // its weights are in the runtime now
  }
  runtime.set_layer_timing(f->profile);
  const InterruptFlag interrupt;
  train_options.should_stop = [&interrupt] { return interrupt.raised(); };
  train_options.loader_threads = data.loader_threads;
  int64_t skipped = 0;
  train_options.on_skip = [&skipped](const std::string& message) {
    end_progress_line();
    std::fprintf(stderr, "warning: skipped %s\n", message.c_str());
    ++skipped;
  };
  // The model's labels travel with every file this run writes.
  const ModelLabels labels{.class_names = data.class_names,
                           .has_normalisation = data.images,
                           .normalisation = data.normalise};
  // The time figures of the epochs done, and of the one in progress (a run may end mid-epoch).
  double data_wait_seconds = 0.0, step_seconds = 0.0, sum_wait_seconds = 0.0,
         sum_progress_seconds = 0.0, compute_seconds = 0.0;
  TrainProgress current{};
  TrainProgressLine progress;
  nlohmann::json epoch_log = nlohmann::json::array();
  double train_seconds = 0.0;
  double test_accuracy = -1.0;
  // Each step's time, for the median --report gives (a mean would carry the first steps' warm-up
  // and any one slow step): the first 4096, in a vector sized before training starts.
  std::vector<double> step_times;
  step_times.reserve(4096);
  double step_seconds_before = 0.0;  // the epoch's running total at the step before
  const auto started = std::chrono::steady_clock::now();
  const int64_t steps = train(
      runtime, *data.train, data.test.get(), train_options,
      [&](const TrainProgress& pr) {
        const double before = pr.step_in_epoch == 1 ? 0.0 : step_seconds_before;
        if (step_times.size() < step_times.capacity()) step_times.push_back(pr.step_seconds - before);
        step_seconds_before = pr.step_seconds;
        current = pr;
        if (lead) progress.update(pr);
        if (lead && f->checkpoint_every > 0 && pr.step % f->checkpoint_every == 0) {
          save_checkpoint(f->save, runtime, train_options, pr.step, labels);
        }
      },
      [&](const EpochResult& r) {
        if (lead) progress.end();
        train_seconds += r.seconds;
        data_wait_seconds += r.last.data_wait_seconds;
        step_seconds += r.last.step_seconds;
        sum_wait_seconds += r.last.sum_wait_seconds;
        sum_progress_seconds += r.last.sum_progress_seconds;
        compute_seconds += r.last.compute_seconds;
        current = TrainProgress{};
        nlohmann::json entry = {{"epoch", r.epoch + 1}, {"seconds", r.seconds},
                                {"train_loss", r.last.loss}, {"train_accuracy", r.last.accuracy}};
        if (!lead) {
          // (the figures are the global ones on every rank; rank 0 tells them)
        } else if (r.has_test) {
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
  if (lead) progress.end();
  data_wait_seconds += current.data_wait_seconds;
  step_seconds += current.step_seconds;
  sum_wait_seconds += current.sum_wait_seconds;
  sum_progress_seconds += current.sum_progress_seconds;
  compute_seconds += current.compute_seconds;
  // The ranks stop together, whichever of them the signal reached: a run that ended before its
  // end step was asked to stop.
  if (interrupt.raised() || (ranks > 1 && steps < end_step)) {
    if (!lead) throw ExitStatus{kInterruptedStatus};
    save_checkpoint(interrupt_path, runtime, train_options, steps, labels);
    std::fprintf(stderr,
                 "interrupted (%s) after step %lld of %lld: saved the run to %s\n"
                 "resume it with: %s\n",
                 interrupt.raised() ? interrupt.signal_name() : "another rank was stopped",
                 static_cast<long long>(steps),
                 static_cast<long long>(end_step), interrupt_path.c_str(),
                 resume_command(interrupt_path, *f, options, train_options).c_str());
    throw ExitStatus{kInterruptedStatus};
  }
  if (lead && !f->save.empty()) {
    save_checkpoint(f->save, runtime, train_options, steps, labels);
    std::fprintf(stderr, "saved %s after %lld steps\n", f->save.c_str(), static_cast<long long>(steps));
  }
  if (epoch_log.empty()) {  // no whole epoch: the time is the run's
    train_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  }
  const TrackedMemory tracked = tracked_memory();
  const int64_t rss = peak_rss_bytes();
  // Every rank's tracked peak against its plan: how many differ, the largest RSS.
  double rank_figures[2] = {tracked.peak_bytes == p.total_bytes ? 0.0 : 1.0, 0.0};
  if (ranks > 1) {
    comm.sum(rank_figures);
    if (!lead) return;
  }
  const bool every_rank_planned = rank_figures[0] == 0.0;
  const int64_t steps_run = steps - train_options.start_step;
  const double seconds_per_step = steps_run > 0 ? train_seconds / static_cast<double>(steps_run) : 0.0;
  std::printf("Memory report\n");
  std::printf("  planned (arena + persistent):   %12s B  %s\n", format_count(p.total_bytes).c_str(),
              format_bytes(p.total_bytes).c_str());
  std::printf("  counting allocator peak:        %12s B  %s%s\n",
              format_count(tracked.peak_bytes).c_str(), format_bytes(tracked.peak_bytes).c_str(),
              tracked.peak_bytes == p.total_bytes ? "  (equals the plan)" : "  (DIFFERS from the plan)");
  if (ranks > 1) {
    std::printf("  on every rank (%d): %s\n", ranks,
                every_rank_planned ? "the peak equals the plan"
                                   : (std::to_string(static_cast<int>(rank_figures[0])) +
                                      " ranks' peaks DIFFER from the plan").c_str());
  }
  std::printf("  data held, outside the plan:    %12s B  %s\n", format_count(data_bytes).c_str(),
              format_bytes(data_bytes).c_str());
  std::printf("  process peak RSS (VmHWM):       %12s B  %s\n", format_count(rss).c_str(),
              format_bytes(rss).c_str());
  const int64_t growth = peak_restarted ? peak_resident_bytes() - resident_before : -1;
  if (growth >= 0) {
    std::printf("  peak RSS growth from the runtime's creation: %s B  %s\n",
                format_count(growth).c_str(), format_bytes(growth).c_str());
  }
  std::printf("  %lld steps, %.4f s per step\n", static_cast<long long>(steps_run), seconds_per_step);
  const double wait_share = step_seconds > 0 ? data_wait_seconds / step_seconds : 0.0;
  if (f->profile || options.prefetch_batches > 0) {
    std::printf("  waiting for data: %.3f s of %.3f s in steps (%.1f%%)\n", data_wait_seconds,
                step_seconds, 100.0 * wait_share);
  }
  // A data-parallel step: compute (this rank's forward, backward and update, timed; moving the
  // sums on between backward steps is inside it, and shown on its own), the wait for the sums
  // over the ranks (which also holds slower ranks' compute), and idle: the rest, the data wait
  // and handing batches and figures around.
  const double idle_seconds = std::max(0.0, step_seconds - compute_seconds - sum_wait_seconds);
  if (ranks > 1) {
    std::printf("  %d ranks; step time on rank 0: compute %.3f s (of which moving sums on %.3f s), "
                "all-reduce wait %.3f s, idle %.3f s (of which data wait %.3f s)\n",
                ranks, compute_seconds, sum_progress_seconds, sum_wait_seconds, idle_seconds,
                data_wait_seconds);
  }
  if (skipped > 0) std::printf("  skipped %lld unreadable samples (named above)\n", static_cast<long long>(skipped));
  if (f->profile) print_layer_times(net, runtime.layer_times());
  if (!f->report.empty()) {
    nlohmann::json report = {{"planned_bytes", p.total_bytes},
                             {"tracked_peak_bytes", tracked.peak_bytes},
                             {"peak_rss_bytes", rss},
                             {"rss_growth_bytes", growth},
                             {"outside_bytes", p.outside_bytes()},
                             {"dataset_bytes", data_bytes},
                             {"prefetch_batches", options.prefetch_batches},
                             {"data_wait_seconds", data_wait_seconds},
                             {"step_seconds", step_seconds},
                             {"data_wait_fraction", wait_share},
                             {"skipped_samples", skipped},
                             {"seconds_per_step", seconds_per_step},
                             {"step_seconds_median", median_after_first(step_times)},
                             {"steps", steps_run},
                             {"threads", options.threads},
                               {"blas", blas_core_description()},
                             {"batch", ranks > 1 ? train_options.global_batch : options.batch},
                             {"ranks", ranks},
                             {"rank_batch", options.batch},
                             {"compute_seconds", compute_seconds},
                             {"allreduce_wait_seconds", sum_wait_seconds},
                             {"allreduce_progress_seconds", sum_progress_seconds},
                             {"idle_seconds", idle_seconds},
                             {"sync_batch_norm", options.sync_batch_norm},
                             {"tracked_equals_plan_on_every_rank", every_rank_planned},
                             {"epochs", epoch_log}};
    if (test_accuracy >= 0) report["test_accuracy"] = test_accuracy;
    if (f->profile) report["layer_times"] = layer_times_json(net, runtime.layer_times());
    write_file_atomic(f->report, report.dump(2) + "\n");
  }
}

}  // namespace

void add_train_command(CLI::App& app) {
  auto f = std::make_shared<TrainFlags>();
  CLI::App* cmd = app.add_subcommand("train", "Train a net and report the memory it used beside its plan");
  CLI::Option* net = cmd->add_option(
      "net", f->net_path,
      "Net file (.net) ending in a loss line, or ONNX model (.onnx) with --loss; not with --resume");
  CLI::Option* loss =
      cmd->add_option("--loss", f->loss, "Loss to add to a net without one (an ONNX model): mse or softmax_xent")
          ->check(CLI::IsMember({"mse", "softmax_xent"}));
  add_data_flags(*cmd, f->data);
  f->epochs_option = cmd->add_option("--epochs", f->epochs,
                                     "The run ends after this many epochs in all (a resumed run's "
                                     "earlier epochs count)")
                         ->check(at_least(1))
                         ->capture_default_str();
  f->steps_option = cmd->add_option("--steps", f->steps,
                                    "The run ends at this step in all, overriding --epochs (a "
                                    "resumed run's earlier steps count: --steps 1000 resumed at "
                                    "step 600 does 400 more)")
                        ->check(at_least(1));
  add_plan_flags(*cmd, f->plan, /*with_mode=*/false);
  CLI::Option* size = add_size_flag(*cmd, f->size);
  CLI::Option* lr = cmd->add_option("--lr", f->lr, "Learning rate")->check(greater_than_zero())->capture_default_str();
  CLI::Option* momentum =
      cmd->add_option("--momentum", f->momentum, "Momentum (momentum optimizer); Adam's beta1 stays 0.9")
          ->check(at_least(0))
          ->capture_default_str();
  CLI::Option* nesterov = cmd->add_flag("--nesterov", f->nesterov, "Nesterov momentum");
  CLI::Option* weight_decay =
      cmd->add_option("--weight-decay", f->weight_decay, "L2 penalty (decoupled for adamw)")
          ->check(at_least(0))
          ->capture_default_str();
  CLI::Option* seed = cmd->add_option("--seed", f->seed, "Seed for the initial weights, data order and dropout")
                          ->capture_default_str();
  cmd->add_option("--memory-limit", f->memory_limit,
                  "Refuse to start when the plan and the data set need more than this (512M, "
                  "4G, ...); available = the memory the process may still use (MemAvailable, "
                  "the cgroup's limit and ulimit -v, the tightest)")
      ->capture_default_str();
  cmd->add_option("--save", f->save,
                  "Write the trained model, optimizer state and data position here (atomic); "
                  "also where Ctrl-C leaves the run");
  cmd->add_option("--checkpoint-every", f->checkpoint_every,
                  "Also write --save every N steps, so a killed run can --resume")
      ->check(at_least(1));
  cmd->add_option("--resume", f->resume,
                  "Continue from a file written by --save (or by Ctrl-C): net, weights, optimizer "
                  "and its settings, batch, seed and data position come from it (use the same "
                  "--threads for identical results)");
  cmd->add_option("--report", f->report, "Write the memory and speed figures as JSON here");
  cmd->add_flag("--sync-bn", f->sync_bn,
                 "Under mpirun: batch norm normalises with the statistics of the whole global "
                 "batch, summed over the ranks in every step (without: each rank's share, as "
                 "PyTorch's DDP)");
  cmd->add_option("--comm-timeout", f->comm_timeout,
                  "Under mpirun: seconds a rank waits for the others before it ends the job "
                  "(a rank died or hangs)")
      ->check(greater_than_zero())
      ->capture_default_str();
  cmd->add_flag("--profile", f->profile,
                "Time every layer's forward and backward and print where the time went "
                "(also in --report as layer_times)");
  f->net_changing = {{"NET", net}, {"--loss", loss}, {"--size", size}};
  f->fixed_by_checkpoint = {{"--batch", cmd->get_option("--batch")},
                            {"--optimizer", cmd->get_option("--optimizer")},
                            {"--lr", lr},
                            {"--momentum", momentum},
                            {"--nesterov", nesterov},
                            {"--weight-decay", weight_decay},
                            {"--seed", seed}};
  cmd->callback([f] { run_in_job(f->comm_timeout, [f](Communicator& comm) { run_train(*f, comm); }); });
}

}  // namespace footprint::cli
