// Helpers shared by the subcommands: flag parsing to library types, process memory figures.
#pragma once

#include <CLI/CLI.hpp>
#include <chrono>
#include <functional>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "footprint/communicator.hpp"
#include "footprint/footprint.hpp"
#include "footprint/onnx.hpp"

namespace footprint::cli {

[[nodiscard]] int default_threads();

// Flags every command that plans a net takes.
struct PlanFlags {
  int batch = 1;
  std::string mode = "train";
  std::string optimizer = "sgd";
  int threads = default_threads();
  bool no_reuse = false;
  bool no_inplace = false;
  bool save_all = false;
  bool full_im2col = false;
  bool no_direct_conv = false;
  std::string tile_bytes = "auto";
  std::string memory_budget = "none";
  bool no_join_concat = false;
  bool no_winograd = false;
  std::string saved_dtype = "f32";
  bool update_in_backward = false;
};

void add_plan_flags(CLI::App& cmd, PlanFlags& flags, bool with_mode);
[[nodiscard]] PlanOptions to_plan_options(const PlanFlags& flags);
[[nodiscard]] OptimizerKind parse_optimizer(const std::string& name);

// ---- Numbers: one rule per kind of flag, the same in every subcommand. A bad value is refused
// at parsing with the flag and the rule: "--lr: must be greater than 0 (got 0)".
// value > 0 (learning rates, scales, standard deviations).
[[nodiscard]] CLI::Validator greater_than_zero();
// value >= minimum, for integers and reals alike (--batch 1, --iterations 1, --threads 1, ...).
[[nodiscard]] CLI::Validator at_least(double minimum);
// Help that shows every option's default: "--lr FLOAT  Learning rate [default: 0.01]".
class HelpFormatter : public CLI::Formatter {
 public:
  std::string make_option_opts(const CLI::Option* opt) const override;
  std::string make_option_desc(const CLI::Option* opt) const override;
};

// --threads T (T >= 1, default the number of cores) and --batch N (N >= 1), as every
// subcommand takes them.
CLI::Option* add_threads_flag(CLI::App& cmd, int& threads);
CLI::Option* add_batch_flag(CLI::App& cmd, int& batch, const std::string& help);
// A byte count given to a flag ("512M", "4G", "1000000"): Error naming the flag otherwise.
[[nodiscard]] int64_t parse_bytes_flag(const std::string& flag, const std::string& text);
// --memory-limit and the like: "available" (memory_limit(threads): what the process may still
// use) or a size.
[[nodiscard]] MemoryLimit parse_memory_limit(const std::string& flag, const std::string& text,
                                             int threads);
// --mean / --std for images: 1 value (every channel) or 3 (R G B), standard deviations > 0.
[[nodiscard]] ImagePreprocess parse_mean_std(const std::vector<float>& mean,
                                             const std::vector<float>& std);

// ---- Output paths, checked before a run starts so that no work is lost to a path that
// cannot be written: its directory must exist and be writable, and a file already there must be
// a writable file. Error, one line naming the flag: "--save out/m.fpm: directory 'out' does not
// exist". Every subcommand checks every path it will write with this, before it loads data.
void check_writable(const std::string& flag, const std::string& path);

// ---- Progress on stderr. On a terminal, one line redrawn in place (at most ten times a
// second); elsewhere (CI, nohup, a pipe) a line of its own every few seconds and at the end, so
// logs show progress without a flood (FOOTPRINT_PROGRESS_SECONDS=N sets how often; 0: every
// update). A line being redrawn is ended before anything else is
// printed: by end(), by the destructor, and by end_progress_line() (main calls it before an
// error message).
class ProgressLine {
 public:
  explicit ProgressLine(double log_every_seconds = 5.0);
  ~ProgressLine();
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;
  // text: the line without a newline; last: the run's last update (always shown).
  void show(const std::string& text, bool last);
  void end();
  [[nodiscard]] bool terminal() const { return tty_; }

 private:
  bool tty_;
  double log_every_seconds_;
  std::chrono::steady_clock::time_point shown_;
  bool drawn_ = false;
};
// Ends a progress line being redrawn, if there is one, so the next output starts a line.
void end_progress_line();

// ---- Ctrl-C and SIGTERM during a long run (train, style). The first one only sets a flag (the
// handler does nothing else, so it is async-signal-safe); the run checks it between steps, saves
// what it has, says where and how to resume, and exits with kInterruptedStatus. The handlers are
// reset as they fire, so a second Ctrl-C ends the process at once.
class InterruptFlag {
 public:
  InterruptFlag();   // installs the handlers (one InterruptFlag at a time)
  ~InterruptFlag();  // restores the previous ones
  InterruptFlag(const InterruptFlag&) = delete;
  InterruptFlag& operator=(const InterruptFlag&) = delete;
  [[nodiscard]] bool raised() const;
  [[nodiscard]] const char* signal_name() const;  // "SIGINT" or "SIGTERM"
};
inline constexpr int kInterruptedStatus = 130;  // as shells report a process ended by SIGINT

// Thrown by a subcommand that has printed what it had to and exits with this status.
struct ExitStatus {
  int code = 0;
};

// Runs a subcommand in the job this process was started in (world_communicator, waiting
// timeout_seconds for the other ranks): with several ranks, one rank's error ends the job with
// its message (the others would wait for it until the timeout), while an ExitStatus (an
// interrupted run, on every rank alike) passes on.
void run_in_job(double timeout_seconds, const std::function<void(Communicator&)>& run);

// --size WxH: overrides the input's height and width.
CLI::Option* add_size_flag(CLI::App& cmd, std::string& size);
// A --size value as an input shape for an ONNX model's symbolic dims (channels 0: the
// model's); nullopt for "". Error for a malformed value.
[[nodiscard]] std::optional<Shape> parse_size(const std::string& size);
// The net with its input resized by a --size value ("" keeps it); ShapeError when it cannot be.
[[nodiscard]] Net resize_input(const Net& net, const std::string& size);

// Peak resident set size of this process so far (VmHWM), in bytes; 0 if unknown.
[[nodiscard]] int64_t peak_rss_bytes();

// Loads "fashion-mnist[:DIR]", "mnist:DIR" or "synthetic" for a net; synthetic_size samples.
[[nodiscard]] DataSplit load_data(const std::string& spec, const Net& net, int64_t synthetic_size);

// Writes text to path atomically (NAME.tmp, then rename); IoError on failure.
void write_file_atomic(const std::string& path, const std::string& text);

void add_plan_command(CLI::App& app);
void add_train_command(CLI::App& app);
void add_eval_command(CLI::App& app);
void add_run_command(CLI::App& app);
void add_export_command(CLI::App& app);
void add_style_command(CLI::App& app);

// A .net file, an ONNX model (told apart by extension or content) or a model file written by
// train --save (its net; plan takes one, so that advice about a checkpoint can name it). An ONNX model brings its
// weights as `weights` says; a .net file has none (parameters start from the seed). input_shape
// resolves an ONNX model's symbolic dims (from --size or the data), and is ignored for .net files.
struct LoadedNet {
  Net net{Shape{}};
  std::optional<SavedModel> weights;  // Weights::in_memory
  std::shared_ptr<OnnxModel> onnx;    // Weights::deferred: still in the file (its net moved out)
  // Writes the model's weights into a runtime planned for `net` (deferred ones straight from the
  // file, then released); nothing for a .net file.
  void restore(Runtime& runtime);
};
[[nodiscard]] LoadedNet load_any_net(const std::string& path, OnnxImportOptions::Weights weights,
                                     const std::optional<Shape>& input_shape = std::nullopt);
// Adds a loss kind ("mse" or "softmax_xent", "" for none) to a net that has none.
[[nodiscard]] Net with_loss(const Net& net, const std::string& loss_kind);

// The `footprint plan` command that shows what fits in budget_bytes for the net at `path` as it
// was planned here: the refusal of a run that does not fit names it, and it runs as printed.
[[nodiscard]] std::string fit_command(const std::string& path, const PlanOptions& options,
                                      const std::string& size, const std::string& loss,
                                      int64_t budget_bytes);
// What a memory refusal adds to the library's message: where the limit comes from (when it is
// not a flag) and the command that shows what fits.
[[nodiscard]] std::string memory_advice(const MemoryLimit& limit, const std::string& fit_command);
// A byte count as a flag value that parse_bytes reads back exactly: "50M" when whole MiB, else
// the bytes.
[[nodiscard]] std::string bytes_flag_value(int64_t bytes);
// Quotes a path for a shell command line when it needs it.
[[nodiscard]] std::string shell_quote(const std::string& text);

}  // namespace footprint::cli
