#include "cli/common.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <span>
#include <thread>

#include "footprint/onnx.hpp"
#include "io/atomic_file.hpp"

namespace footprint::cli {

int default_threads() {
  const unsigned cores = std::thread::hardware_concurrency();
  return cores == 0 ? 1 : static_cast<int>(cores);
}

void add_plan_flags(CLI::App& cmd, PlanFlags& flags, bool with_mode) {
  cmd.add_option("--batch", flags.batch, "Samples per step")->check(CLI::Range(1, 1 << 20));
  if (with_mode) {
    cmd.add_option("--mode", flags.mode, "train (forward, backward, update) or infer (forward only)")
        ->check(CLI::IsMember({"train", "infer"}));
  }
  cmd.add_option("--optimizer", flags.optimizer, "sgd, momentum, adam or adamw")
      ->check(CLI::IsMember({"sgd", "momentum", "adam", "adamw"}));
  cmd.add_option("--threads", flags.threads, "Worker threads (default: the number of cores)")
      ->check(CLI::Range(1, 256));
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
               "Run 3x3 stride-1 convolutions by im2col + GEMM (or direct loops) instead of "
               "Winograd F(2x2, 3x3), which the wide ones use by default");
  cmd.add_flag("--no-join-concat", flags.no_join_concat,
               "Give every concat its own output and copy into it, instead of having its inputs "
               "written in place (shows what joining saves)");
  cmd.add_option("--memory-budget", flags.memory_budget,
                 "Most bytes the plan may take, e.g. 16M (training): when the plain plan is "
                 "larger, recompute forward values in the backward pass instead of keeping them, "
                 "at the least extra compute found; refused, naming the smallest budget, when "
                 "nothing fits");
}

OptimizerKind parse_optimizer(const std::string& name) {
  if (name == "sgd") return OptimizerKind::sgd;
  if (name == "momentum") return OptimizerKind::momentum;
  if (name == "adam") return OptimizerKind::adam;
  if (name == "adamw") return OptimizerKind::adamw;
  throw Error("--optimizer " + name + ": expected sgd, momentum, adam or adamw");
}

PlanOptions to_plan_options(const PlanFlags& flags) {
  return {.batch = flags.batch,
          .mode = flags.mode == "infer" ? Mode::infer : Mode::train,
          .optimizer = parse_optimizer(flags.optimizer),
          .threads = flags.threads > 0 ? flags.threads : default_threads(),
          .reuse = !flags.no_reuse,
          .inplace = !flags.no_inplace,
          .save_all = flags.save_all,
          .conv_tile_bytes = flags.full_im2col || flags.tile_bytes == "0" ? 0
                             : flags.tile_bytes == "auto"               ? kAutoConvTile
                                                                        : parse_bytes(flags.tile_bytes),
          .join_concat = !flags.no_join_concat,
          .direct_conv = !flags.no_direct_conv,
          .winograd_conv = !flags.no_winograd,
          .memory_budget = flags.memory_budget.empty() ? 0 : parse_bytes(flags.memory_budget)};
}

void add_size_flag(CLI::App& cmd, std::string& size) {
  cmd.add_option("--size", size,
                 "Input width x height, e.g. 1024x768 (for nets whose layers take any size)");
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

LoadedNet load_any_net(const std::string& path, OnnxImportOptions::Weights weights,
                       const std::optional<Shape>& input_shape) {
  LoadedNet loaded;
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

}  // namespace footprint::cli
