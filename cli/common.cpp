#include "cli/common.hpp"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <span>
#include <thread>

#include "footprint/onnx.hpp"
#include "core/units.hpp"
#include "io/atomic_file.hpp"

namespace footprint::cli {

int default_threads() {
  const unsigned cores = std::thread::hardware_concurrency();
  return cores == 0 ? 1 : static_cast<int>(cores);
}

void add_plan_flags(CLI::App& cmd, PlanFlags& flags, bool with_mode) {
  add_batch_flag(cmd, flags.batch, "Samples per step");
  if (with_mode) {
    cmd.add_option("--mode", flags.mode, "train (forward, backward, update) or infer (forward only)")
        ->check(CLI::IsMember({"train", "infer"}))
        ->capture_default_str();
  }
  cmd.add_option("--optimizer", flags.optimizer, "sgd, momentum, adam or adamw")
      ->check(CLI::IsMember({"sgd", "momentum", "adam", "adamw"}))
      ->capture_default_str();
  add_threads_flag(cmd, flags.threads);
  cmd.add_flag("--no-reuse", flags.no_reuse,
               "Give every buffer bytes of its own (shows what lifetime sharing saves)");
  cmd.add_flag("--no-inplace", flags.no_inplace,
               "Never let an activation overwrite its input (shows what in-place saves)");
  cmd.add_flag("--save-all", flags.save_all,
               "Keep every layer's input and output until its backward (shows what saving only "
               "what backward reads saves)");
  cmd.add_flag("--full-im2col", flags.full_im2col,
               "Build each conv's whole column matrix at once (same as --tile-bytes 0)");
  cmd.add_flag("--no-direct-conv", flags.no_direct_conv,
               "Run every convolution by im2col + GEMM, also the 3x3 ones with few channels that "
               "otherwise run direct loops with no workspace (shows what those save)");
  cmd.add_option("--tile-bytes", flags.tile_bytes,
                 "Budget for one convolution im2col tile (e.g. 4M); auto = 16 output positions per "
                 "output channel, 1 to 16 MiB, at most a quarter of the layer's column matrix; "
                 "0 = whole layer (no tiling)")
      ->capture_default_str();
  cmd.add_flag("--no-winograd", flags.no_winograd,
               "Run 3x3 stride-1 convolutions by im2col + GEMM or direct loops, never by "
               "Winograd F(4x4, 3x3), which otherwise takes those where it pays, within the "
               "bytes of their GEMM tile (with --no-direct-conv: im2col + GEMM for every "
               "convolution)");
  cmd.add_flag("--no-join-concat", flags.no_join_concat,
               "Give every concat its own output and copy into it, instead of having its inputs "
               "written in place (shows what joining saves)");
  cmd.add_option("--memory-budget", flags.memory_budget,
                 "Most bytes the plan may take, e.g. 16M (training): when the plain plan is "
                 "larger, recompute forward values in the backward pass instead of keeping them, "
                 "at the least extra compute found; refused, naming the smallest budget, when "
                 "nothing fits; none = no budget")
      ->capture_default_str();
  cmd.add_option("--saved-dtype", flags.saved_dtype,
                 "Type of the values kept from forward for backward between the two passes "
                 "(training): f32, or bf16 for half their bytes (each is rounded to bfloat16 "
                 "after its forward step and expanded back before its backward readers; not "
                 "bit-identical to f32, see the README)")
      ->check(CLI::IsMember({"f32", "bf16"}))
      ->capture_default_str();
  cmd.add_flag("--update-in-backward", flags.update_in_backward,
               "Update each layer's parameters right after its backward step (training, one "
               "process): its weight gradients then live only from one step to the other instead "
               "of for the whole run; the same results, bit for bit");
}

OptimizerKind parse_optimizer(const std::string& name) {
  if (name == "sgd") return OptimizerKind::sgd;
  if (name == "momentum") return OptimizerKind::momentum;
  if (name == "adam") return OptimizerKind::adam;
  if (name == "adamw") return OptimizerKind::adamw;
  throw Error("--optimizer " + name + ": expected sgd, momentum, adam or adamw");
}

PlanOptions to_plan_options(const PlanFlags& flags) {
  int64_t tile_bytes = kAutoConvTile;
  if (flags.full_im2col || flags.tile_bytes == "0") {
    tile_bytes = 0;
  } else if (flags.tile_bytes != "auto") {
    tile_bytes = parse_bytes_flag("--tile-bytes", flags.tile_bytes);
  }
  return {.batch = flags.batch,
          .mode = flags.mode == "infer" ? Mode::infer : Mode::train,
          .optimizer = parse_optimizer(flags.optimizer),
          .threads = flags.threads,
          .reuse = !flags.no_reuse,
          .inplace = !flags.no_inplace,
          .save_all = flags.save_all,
          .conv_tile_bytes = tile_bytes,
          .join_concat = !flags.no_join_concat,
          .direct_conv = !flags.no_direct_conv,
          .winograd_conv = !flags.no_winograd,
          .memory_budget = flags.memory_budget == "none" || flags.memory_budget == "0"
                               ? 0
                               : parse_bytes_flag("--memory-budget", flags.memory_budget),
          .saved_dtype = flags.saved_dtype == "bf16" ? SavedDtype::bf16 : SavedDtype::f32,
          .update_in_backward = flags.update_in_backward};
}

namespace {

// The number a flag was given, when it reads as one.
std::optional<double> number_of(const std::string& text) {
  try {
    size_t used = 0;
    const double value = std::stod(text, &used);
    if (used == text.size() && std::isfinite(value)) return value;
  } catch (const std::exception&) {
  }
  return std::nullopt;
}

std::string shortest(double value) {
  char text[64];
  std::snprintf(text, sizeof text, "%g", value);
  return text;
}

}  // namespace

CLI::Validator greater_than_zero() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        const std::optional<double> value = number_of(text);
        if (!value) return "expected a number, got '" + text + "'";
        if (!(*value > 0)) return "must be greater than 0 (got " + text + ")";
        return "";
      },
      "", "greater than zero");
}

CLI::Validator at_least(double minimum) {
  return CLI::Validator(
      [minimum](std::string& text) -> std::string {
        const std::optional<double> value = number_of(text);
        if (!value) return "expected a number, got '" + text + "'";
        if (*value < minimum) return "must be at least " + shortest(minimum) + " (got " + text + ")";
        return "";
      },
      "", "at least " + shortest(minimum));
}

std::string HelpFormatter::make_option_opts(const CLI::Option* opt) const {
  std::string out;
  if (opt->get_type_size() != 0) {
    if (!opt->get_type_name().empty()) out += " " + get_label(opt->get_type_name());
    if (opt->get_expected_max() == CLI::detail::expected_max_vector_size) out += " ...";
    if (opt->get_required()) out += " " + get_label("REQUIRED");
  }
  return out;
}

std::string HelpFormatter::make_option_desc(const CLI::Option* opt) const {
  std::string desc = opt->get_description();
  if (opt->get_type_size() != 0 && !opt->get_default_str().empty()) {
    desc += " [default: " + opt->get_default_str() + "]";
  }
  return desc;
}

CLI::Option* add_threads_flag(CLI::App& cmd, int& threads) {
  return cmd.add_option("--threads", threads, "Worker threads (by default one per core)")
      ->check(at_least(1))
      ->capture_default_str();
}

CLI::Option* add_batch_flag(CLI::App& cmd, int& batch, const std::string& help) {
  return cmd.add_option("--batch", batch, help)->check(at_least(1))->capture_default_str();
}

int64_t parse_bytes_flag(const std::string& flag, const std::string& text) {
  try {
    return parse_bytes(text);
  } catch (const Error& e) {
    throw Error(flag + " " + text + ": expected a size such as 512M, 4G or 1000000 (bytes), "
                "greater than 0");
  }
}

MemoryLimit parse_memory_limit(const std::string& flag, const std::string& text, int threads) {
  if (text == "available") return memory_limit(threads);
  return {.bytes = parse_bytes_flag(flag, text), .source = flag};
}

ImagePreprocess parse_mean_std(const std::vector<float>& mean, const std::vector<float>& std) {
  for (const auto& [flag, values] : {std::pair{"--mean", &mean}, std::pair{"--std", &std}}) {
    if (values->size() != 1 && values->size() != 3) {
      throw Error(std::string(flag) + ": give 1 value (every channel) or 3 (R G B), not " +
                  std::to_string(values->size()));
    }
  }
  ImagePreprocess pre;
  for (size_t c = 0; c < 3; ++c) {
    pre.mean[c] = mean[mean.size() == 1 ? 0 : c];
    pre.std[c] = std[std.size() == 1 ? 0 : c];
    if (!(pre.std[c] > 0) || !std::isfinite(pre.std[c])) {
      throw Error("--std: must be greater than 0 (got " + shortest(pre.std[c]) + ")");
    }
    if (!std::isfinite(pre.mean[c])) throw Error("--mean: must be a finite number");
  }
  return pre;
}

void check_writable(const std::string& flag, const std::string& path) {
  namespace fs = std::filesystem;
  const std::string where = flag + " " + path + ": ";
  if (path.empty()) throw Error(flag + ": the path is empty");
  std::error_code error;
  const fs::file_status status = fs::status(path, error);
  if (fs::is_directory(status)) throw Error(where + "is a directory; give a file name");
  fs::path dir = fs::path(path).parent_path();
  if (dir.empty()) dir = ".";
  if (!fs::is_directory(dir, error)) {
    throw Error(where + "directory '" + dir.string() + "' does not exist" +
                (fs::exists(dir, error) ? " (it is a file)" : "; create it first"));
  }
  // The file is written as NAME.tmp beside it and renamed over it, so the directory must take
  // new files; a file already there is replaced, so it must be a file we may write.
  if (::access(dir.c_str(), W_OK | X_OK) != 0) {
    throw Error(where + "directory '" + dir.string() + "' is not writable (" +
                std::strerror(errno) + ")");
  }
  if (fs::exists(status)) {
    if (!fs::is_regular_file(status)) throw Error(where + "exists and is not a regular file");
    if (::access(path.c_str(), W_OK) != 0) {
      throw Error(where + "exists and is not writable (" + std::strerror(errno) + ")");
    }
  }
}

namespace {
bool g_line_open = false;  // a progress line is being redrawn on stderr
}  // namespace

ProgressLine::ProgressLine(double log_every_seconds)
    : tty_(::isatty(STDERR_FILENO) != 0),
      log_every_seconds_(log_every_seconds),
      shown_(std::chrono::steady_clock::now()) {
  if (const char* every = std::getenv("FOOTPRINT_PROGRESS_SECONDS")) {
    if (const std::optional<double> seconds = number_of(every); seconds && *seconds >= 0) {
      log_every_seconds_ = *seconds;
    }
  }
}

ProgressLine::~ProgressLine() { end(); }

void ProgressLine::show(const std::string& text, bool last) {
  const auto now = std::chrono::steady_clock::now();
  const double since = std::chrono::duration<double>(now - shown_).count();
  // On a terminal the first update is drawn at once; in a log it waits as long as the others.
  if (!last && since < (tty_ ? (drawn_ ? 0.1 : 0.0) : log_every_seconds_)) return;
  drawn_ = true;
  if (tty_) {
    std::fprintf(stderr, "\r%s\033[K", text.c_str());  // \033[K clears what a longer line left
    g_line_open = true;
    if (last) end_progress_line();
  } else {
    std::fprintf(stderr, "%s\n", text.c_str());
  }
  std::fflush(stderr);
  shown_ = now;
}

void ProgressLine::end() {
  if (tty_) end_progress_line();
}

void end_progress_line() {
  if (!g_line_open) return;
  std::fprintf(stderr, "\n");
  std::fflush(stderr);
  g_line_open = false;
}

namespace {

volatile std::sig_atomic_t g_signal = 0;  // the signal that arrived, 0 while none

extern "C" void on_interrupt(int signal_number) { g_signal = signal_number; }

struct sigaction g_previous_int {}, g_previous_term {};

}  // namespace

InterruptFlag::InterruptFlag() {
  g_signal = 0;
  struct sigaction action {};
  action.sa_handler = on_interrupt;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESETHAND;  // a second signal takes its default action: the end
  sigaction(SIGINT, &action, &g_previous_int);
  sigaction(SIGTERM, &action, &g_previous_term);
}

InterruptFlag::~InterruptFlag() {
  sigaction(SIGINT, &g_previous_int, nullptr);
  sigaction(SIGTERM, &g_previous_term, nullptr);
}

bool InterruptFlag::raised() const { return g_signal != 0; }

const char* InterruptFlag::signal_name() const {
  return g_signal == SIGTERM ? "SIGTERM" : "SIGINT";
}

CLI::Option* add_size_flag(CLI::App& cmd, std::string& size) {
  return cmd.add_option("--size", size,
                        "Input width x height, e.g. 1024x768, for nets whose layers take any size "
                        "(default: the net's)");
}

std::optional<Shape> parse_size(const std::string& size) {
  if (size.empty()) return std::nullopt;
  long long width = 0, height = 0;
  char x = 0, extra = 0;
  if (std::sscanf(size.c_str(), "%lld%c%lld%c", &width, &x, &height, &extra) != 3 ||
      (x != 'x' && x != 'X') || width < 1 || height < 1 || width > (1 << 24) || height > (1 << 24)) {
    throw Error("--size " + size + ": expected WIDTHxHEIGHT such as 1024x768");
  }
  return Shape{.c = 0, .h = height, .w = width};
}

Net resize_input(const Net& net, const std::string& size) {
  const std::optional<Shape> shape = parse_size(size);
  if (!shape) return net;
  if (net.input_shape().h == shape->h && net.input_shape().w == shape->w) return net;
  try {
    return with_input_size(net, shape->h, shape->w);
  } catch (const ShapeError& e) {
    throw ShapeError("--size " + size + ": " + e.what());
  }
}

int64_t peak_rss_bytes() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stoll(line.substr(6)) * 1024;
  }
  return 0;
}

DataSplit load_data(const std::string& spec, const Net& net, int64_t synthetic_size) {
  if (spec == "synthetic") {
    const int classes = static_cast<int>(std::min<int64_t>(net.output_shape().n_elems(), 1000));
    DataSplit split;
    split.train = synthetic_dataset(net.input_shape(), classes, synthetic_size, 1);
    return split;  // no test part: accuracy on random labels would mean nothing
  }
  if (spec == "fashion-mnist") return load_mnist_dir(kFashionMnistDir);
  for (const char* prefix : {"fashion-mnist:", "mnist:"}) {
    const std::string p = prefix;
    if (spec.rfind(p, 0) == 0 && spec.size() > p.size()) return load_mnist_dir(spec.substr(p.size()));
  }
  throw Error("--data " + spec + ": expected fashion-mnist[:DIR], mnist:DIR or synthetic");
}

void write_file_atomic(const std::string& path, const std::string& text) {
  write_file_atomically(path, std::as_bytes(std::span(text.data(), text.size())), "writing");
}

namespace {

bool is_model_file(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  char magic[8] = {};
  return file.read(magic, sizeof magic) && std::memcmp(magic, "FPMODEL", 8) == 0;
}

}  // namespace

LoadedNet load_any_net(const std::string& path, OnnxImportOptions::Weights weights,
                       const std::optional<Shape>& input_shape) {
  LoadedNet loaded;
  if (is_model_file(path)) {
    SavedModel model = load_model(path);
    loaded.net = parse_net(model.net_text, path);
    if (weights != OnnxImportOptions::Weights::none) loaded.weights = std::move(model);
    return loaded;
  }
  if (!looks_like_onnx(path)) {
    loaded.net = load_net_file(path);
    return loaded;
  }
  auto model = std::make_shared<OnnxModel>(import_onnx(path, {.weights = weights, .input_shape = input_shape}));
  loaded.net = std::move(model->net);
  if (weights == OnnxImportOptions::Weights::in_memory) loaded.weights = std::move(model->weights);
  if (weights == OnnxImportOptions::Weights::deferred) loaded.onnx = std::move(model);
  return loaded;
}

void LoadedNet::restore(Runtime& runtime) {
  if (weights) {
    restore_parameters(*weights, runtime);
    weights.reset();
  }
  if (onnx) {
    onnx->restore_weights(runtime);
    onnx.reset();
  }
}

Net with_loss(const Net& net, const std::string& loss_kind) {
  if (loss_kind.empty()) return net;
  if (net.loss_kind() != LossKind::none) {
    throw Error(std::string("--loss ") + loss_kind + ": the net already ends in loss " + loss_name(net.loss_kind()));
  }
  Net out = net;
  out << LayerSpec{.op = "loss", .arg = loss_kind};
  return out;
}

std::string shell_quote(const std::string& text) {
  const bool plain = !text.empty() && text.find_first_not_of(
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./:=,+@%") == std::string::npos;
  if (plain) return text;
  std::string quoted = "'";
  for (char c : text) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

std::string memory_advice(const MemoryLimit& limit, const std::string& fit_command) {
  std::string advice;
  if (limit.reserved_bytes > 0) {
    advice = "the limit is what " + limit.source + " leaves after " +
             format_bytes(limit.reserved_bytes) +
             " of address space for the threads' OpenBLAS buffers, stacks and malloc arenas "
             "(fewer --threads leave more); ";
  } else if (!limit.source.empty() && !limit.source.starts_with("--")) {
    advice = "the limit is what " + limit.source + " leaves; ";
  }
  return advice + "to see what fits: " + fit_command;
}

std::string bytes_flag_value(int64_t bytes) {
  if (bytes > 0 && bytes % (int64_t{1} << 20) == 0) return std::to_string(bytes >> 20) + "M";
  return std::to_string(std::max<int64_t>(1, bytes));
}

std::string fit_command(const std::string& path, const PlanOptions& options,
                        const std::string& size, const std::string& loss, int64_t budget_bytes) {
  std::string command = "footprint plan " + shell_quote(path);
  if (options.mode == Mode::infer) command += " --mode infer";
  if (!loss.empty()) command += " --loss " + loss;
  if (!size.empty()) command += " --size " + shell_quote(size);
  command += " --batch " + std::to_string(options.batch);
  if (options.optimizer != OptimizerKind::sgd) command += std::string(" --optimizer ") + optimizer_name(options.optimizer);
  command += " --threads " + std::to_string(options.threads);
  if (options.conv_tile_bytes != kAutoConvTile) command += " --tile-bytes " + (options.conv_tile_bytes == 0 ? std::string("0") : bytes_flag_value(options.conv_tile_bytes));
  if (!options.reuse) command += " --no-reuse";
  if (!options.inplace) command += " --no-inplace";
  if (options.save_all) command += " --save-all";
  if (!options.join_concat) command += " --no-join-concat";
  if (!options.direct_conv) command += " --no-direct-conv";
  if (!options.winograd_conv) command += " --no-winograd";
  if (options.saved_dtype != SavedDtype::f32) command += " --saved-dtype bf16";
  if (options.update_in_backward) command += " --update-in-backward";
  return command + " --fit " + bytes_flag_value(budget_bytes);
}

void run_in_job(double timeout_seconds, const std::function<void(Communicator&)>& run) {
  Communicator& comm = world_communicator(
      std::chrono::milliseconds(static_cast<int64_t>(timeout_seconds * 1000.0)));
  if (comm.size() == 1) return run(comm);
  try {
    run(comm);
  } catch (const ExitStatus&) {
    throw;
  } catch (const std::exception& e) {
    comm.abort(e.what());
  }
}

}  // namespace footprint::cli
