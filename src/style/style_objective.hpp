// The style-transfer objective and its exact gradient with respect to the image, computed tile
// by tile in bounded memory:
//   pass 1, per tile: forward the crop, add its owned positions to the Gram matrices (and the
//     content loss); then the global losses and each style layer's (G - A) are known;
//   pass 2, per tile: forward again (the last tile of pass 1 is still in the runtime, so it is
//     not recomputed: untiled, an evaluation is one forward and one backward), write the
//     feature gradients of the owned positions, back-propagate and add the crop's pixel
//     gradient into the image gradient.
// Each tile's work is a function of (image, tile, global Grams) only, so tiles run in separate
// processes when a job shares them (RankSums): each rank takes a band of tile rows, the Gram
// sums and content losses are summed over the ranks between the passes, and the pixel gradient
// after pass 2, so every rank ends with the whole objective and gradient. A rank keeps the
// content target only for the feature rows its tiles own.
//
// Losses (M: feature positions of the whole image, C: channels, L: style layers):
//   content  ||F - P||^2 / (C M)
//   style    (1/L) sum_l ||G_l - A_l||^2 / (4 C_l^2),  G = F F^T / M (so the style image may
//            have another size)
//   tv       sum of squared differences of neighbouring pixels / (3 H W)
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/tracked_buffer.hpp"
#include "footprint/model_io.hpp"
#include "footprint/plan.hpp"
#include "style/feature_net.hpp"
#include "style/tiling.hpp"

namespace footprint {

class Runtime;
class RankSums;

struct StyleWeights {
  double content = 1.0;
  double style = 1.0;
  double tv = 0.0;
};

struct StyleLossParts {
  double content = 0.0, style = 0.0, tv = 0.0, total = 0.0;
};

// How the feature net's runtimes are made: threads, im2col tile budget, and the weights
// (tensors by parameter name; empty: drawn from seed, as for a .net file).
struct FeatureRuntimeOptions {
  int threads = 1;
  int64_t conv_tile_bytes = kAutoConvTile;
  bool winograd_conv = true;
  uint64_t seed = 1;
  const std::vector<SavedTensor>* weights = nullptr;
  bool compact_content = false;  // the content target in bfloat16 (StyleOptions::compact_state)
};

// The plan options of a tile runtime: train mode for the pixel gradient, frozen parameters,
// the style and content layers tapped.
[[nodiscard]] PlanOptions feature_plan_options(const FeatureNet& features,
                                               const FeatureRuntimeOptions& options);

class StyleObjective {
 public:
  // For an image of height x width split into crops of crop_h x crop_w (equal to the image:
  // untiled). Allocates the style and content targets; the runtime is made on first use.
  // sums: the job sharing the tiles (nullptr or one rank: this process takes them all).
  StyleObjective(const FeatureNet& features, FeatureRuntimeOptions options, int64_t height,
                 int64_t width, int64_t crop_h, int64_t crop_w, RankSums* sums = nullptr);
  ~StyleObjective();
  StyleObjective(const StyleObjective&) = delete;
  StyleObjective& operator=(const StyleObjective&) = delete;

  // Gram targets from a preprocessed style image [3, h, w], tiled by crops of crop_h x crop_w.
  void set_style(const float* image, int64_t h, int64_t w, int64_t crop_h, int64_t crop_w);
  // Content target from a preprocessed image of the objective's size.
  void set_content(const float* image);
  // Loss at x ([3, height, width], preprocessed) and its gradient, written to grad.
  double evaluate(const float* x, float* grad, const StyleWeights& weights);
  [[nodiscard]] const StyleLossParts& parts() const { return parts_; }
  [[nodiscard]] int tiles() const { return static_cast<int>(tiles_.size()); }
  // Drops the tile runtime (its arena) until the next evaluation.
  void release_runtime();

  // Bytes the objective itself holds beyond its runtime (targets, accumulators), by name; with
  // ranks > 1, on the rank holding the most (its content rows depend on the crops).
  [[nodiscard]] static std::vector<std::pair<std::string, int64_t>> target_bytes(
      const FeatureNet& features, int64_t height, int64_t width, bool compact_content,
      int64_t crop_h = 0, int64_t crop_w = 0, int ranks = 1);

 private:
  struct TileRuntime;
  struct TapState {
    Shape full;                  // the tap's features for the whole image
    TrackedBuffer<float> target;      // style: A (C x C)
    TrackedBuffer<double> sum;        // style: sum of F F^T over tiles
    TrackedBuffer<float> scratch;     // style: one tile's F F^T, then (G - A) scaled
    TrackedBuffer<float> content;     // content: P, the content image's features [C, rows, w]
    TrackedBuffer<uint16_t> content_half;  // the same in bfloat16 (compact_content)
    int64_t first_row = 0, rows = 0;  // content: the feature rows held, those this rank's tiles own
  };
  // One row of a content target, float or bfloat16.
  struct ContentRow {
    float* f = nullptr;
    uint16_t* half = nullptr;
    [[nodiscard]] float get(int64_t i) const;
    void set(int64_t i, float value) const;
  };

  Runtime& runtime_for(int64_t crop_h, int64_t crop_w);
  void forward_tile(const float* image, int64_t h, int64_t w, const Tile& tile);
  void accumulate_grams(const Tile& tile, int64_t h, int64_t w,
                        const std::vector<Shape>& full_shapes);
  // fn(feature_offset, target_row (ContentRow), x0, x1) for each owned row of content tap t in the runtime's
  // crop of tile: the row's features start at feature_offset in the tap's crop-sized buffers,
  // and positions [x0, x1) of both rows are the same feature positions.
  template <typename Fn>
  void for_each_owned_content_row(const Tile& tile, size_t t, Fn&& fn);
  [[nodiscard]] std::vector<Shape> full_shapes() const;
  static std::vector<Shape> full_shapes(const FeatureNet& features, int64_t h, int64_t w);

  const FeatureNet& features_;
  FeatureRuntimeOptions options_;
  int64_t height_, width_;
  int64_t crop_h_, crop_w_;
  std::vector<Tile> tiles_;
  RankSums* sums_;
  TileRange mine_;  // the tiles this rank works on
  std::vector<TapState> taps_;
  std::unique_ptr<TileRuntime> runtime_;
  StyleLossParts parts_;
};

// The largest crop (by a common fraction of both sides, keeping split_axis valid) whose tile
// runtime plans within budget_bytes; the whole image when it fits. nullopt-like {0, 0} when not
// even the smallest crop fits.
struct CropChoice {
  int64_t crop_h = 0, crop_w = 0;
  int64_t runtime_bytes = 0;
};
[[nodiscard]] CropChoice choose_crop(const FeatureNet& features,
                                     const FeatureRuntimeOptions& options, int64_t height,
                                     int64_t width, int64_t budget_bytes);

}  // namespace footprint
