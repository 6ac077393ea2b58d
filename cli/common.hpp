// Helpers shared by the subcommands: flag parsing to library types, process memory figures.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <optional>
#include <string>

#include "footprint/footprint.hpp"
#include "footprint/onnx.hpp"

namespace footprint::cli {

// Flags every command that plans a net takes.
struct PlanFlags {
  int batch = 1;
  std::string mode = "train";
  std::string optimizer = "sgd";
  int threads = 0;  // 0: the number of cores
  bool no_reuse = false;
  bool no_inplace = false;
  bool save_all = false;
  bool full_im2col = false;
  bool no_direct_conv = false;
  std::string tile_bytes = "auto";
  std::string memory_budget;  // "": none
  bool no_join_concat = false;
  bool no_winograd = false;
};

void add_plan_flags(CLI::App& cmd, PlanFlags& flags, bool with_mode);
[[nodiscard]] PlanOptions to_plan_options(const PlanFlags& flags);
[[nodiscard]] OptimizerKind parse_optimizer(const std::string& name);
[[nodiscard]] int default_threads();

// --size WxH: overrides the input's height and width.
void add_size_flag(CLI::App& cmd, std::string& size);
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
void add_style_command(CLI::App& app);

// A .net file or an ONNX model (told apart by extension or content). An ONNX model brings its
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

}  // namespace footprint::cli
