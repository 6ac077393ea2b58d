// Neural style transfer (Gatys et al.) at any size in bounded memory: the exact global objective
// computed tile by tile (see src/style/style_objective.hpp), optimised with L-BFGS or Adam,
// coarse to fine over several scales. The memory plan is known before anything runs.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "footprint/image.hpp"
#include "footprint/model_io.hpp"
#include "footprint/net.hpp"

namespace footprint {

class Communicator;

enum class StyleOptimizer { lbfgs, adam };

// How pixels become the model's input, and back.
//   torch: RGB, (p / 255 - mean) / std with ImageNet's mean and std (torchvision's VGG-19)
//   caffe: BGR, p - mean with p in 0..255 (the original VGG-19 weights, Gatys' code)
enum class StylePreprocess { torch, caffe };

struct StyleOptions {
  std::vector<std::string> style_layers = {"relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"};
  std::string content_layer = "conv4_2";
  double content_weight = 1.0;
  double style_weight = 1e3;
  double tv_weight = 0.0;
  // The style image is resized so its long side is style_scale times the output's (at every
  // scale), so brush strokes keep their size relative to the picture.
  double style_scale = 1.0;
  int iterations = 200;  // per scale
  int scales = 1;        // > 1: coarse to fine, each scale half the next one's size
  StyleOptimizer optimizer = StyleOptimizer::lbfgs;
  double lr = 0.0;       // 0: 0.02 for Adam; L-BFGS's first step, in input units
  int lbfgs_history = 5;
  // The optimizer's state (L-BFGS pairs, Adam moments) and the content target in bfloat16: half
  // their bytes, for the largest images (the arithmetic stays in float and double).
  bool compact_state = false;
  StylePreprocess preprocess = StylePreprocess::torch;
  int threads = 1;
  uint64_t seed = 1;     // random init, and weights for a model without them
  int64_t conv_tile_bytes = kAutoConvTile;
  bool winograd_conv = true;  // PlanOptions::winograd_conv for the feature net
  int64_t memory_budget = 0;  // bytes for the whole run; 0: no limit (untiled); per rank
  // Tile-parallel: the ranks of `comm` share the tiles (each a band of tile rows) and the
  // optimizer's state (each a contiguous part of the image), and every rank ends with the
  // single process's image (up to float rounding). nullptr: one process. plan_style plans for
  // `ranks` (style_transfer sets it from comm) and reports the rank that holds the most.
  Communicator* comm = nullptr;
  int ranks = 1;
};

// Where the bytes of a style run at one size go.
struct StyleMemoryPlan {
  int64_t height = 0, width = 0;         // output
  int64_t style_height = 0, style_width = 0;
  int64_t crop_h = 0, crop_w = 0;        // tile crop (== output size: untiled)
  int64_t style_crop_h = 0, style_crop_w = 0;  // the style image's
  int tiles = 1;
  std::vector<std::pair<std::string, int64_t>> buffers;  // image, gradient, optimizer, targets
  int64_t buffer_bytes = 0;
  int64_t tile_runtime_bytes = 0;        // the feature net's arena and weights for one crop
  int64_t style_phase_bytes = 0;         // while the style image's Gram matrices are computed
  int64_t peak_bytes = 0;                // what the run allocates at most (tracked)
  int ranks = 1;                         // > 1: the plan of the rank that holds the most
};

class FeatureNet;

// The model's layers up to the deepest style/content layer, with its weights (empty: drawn
// from options.seed).
struct StyleModel {
  Net net{Shape{}};
  std::vector<SavedTensor> weights;
};

// The model for style transfer: the net, and of its weights only the tensors of the layers up
// to the deepest style/content layer (a VGG-19 file's classifier is most of its bytes).
[[nodiscard]] StyleModel make_style_model(const Net& net, std::vector<SavedTensor> weights,
                                          const StyleOptions& options);

// Output size for the content image: --size, or --long-side, or the content image's own.
[[nodiscard]] std::pair<int64_t, int64_t> scaled_size(int64_t height, int64_t width,
                                                      int64_t long_side);

// The plan for one run at height x width (the last scale), without running anything.
[[nodiscard]] StyleMemoryPlan plan_style(const StyleModel& model, const StyleOptions& options,
                                         int64_t height, int64_t width, int64_t style_height,
                                         int64_t style_width);

// Largest output height (width = round(height * aspect)) whose plan fits budget_bytes; 0 if none.
[[nodiscard]] int64_t fit_style_height(const StyleModel& model, const StyleOptions& options,
                                       double aspect, double style_aspect, int64_t budget_bytes);

struct StyleProgress {
  int scale = 0, scales = 1;
  int64_t height = 0, width = 0;
  int iteration = 0, iterations = 0;
  int64_t evaluations = 0;
  double loss = 0, content = 0, style = 0, tv = 0;
  double seconds = 0;  // this iteration
  int tiles = 1;
};

struct StyleCallbacks {
  std::function<void(const StyleProgress&)> progress;
  // Called every save_every iterations with the current image (not after the last).
  int save_every = 0;
  std::function<void(const StyleProgress&, const Image&)> save;
  // Asked before every iteration: true ends the run there, after the iteration in progress, and
  // style_transfer returns the image as it is (at the current scale's size). Meant for a flag set
  // by a signal handler; empty: never stop early.
  std::function<bool()> should_stop{};
};

// Runs style transfer; `init` empty starts from the content image, otherwise from it (any size,
// resized). random_init starts from noise instead. Returns the output image (the current one
// when callbacks.should_stop ended the run early).
[[nodiscard]] Image style_transfer(const StyleModel& model, const StyleOptions& options,
                                   const Image& content, const Image& style, int64_t height,
                                   int64_t width, const Image* init, bool random_init,
                                   const StyleCallbacks& callbacks = {});

}  // namespace footprint
