#include "style/style_objective.hpp"

#include "kernels/eltwise/bf16.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <unordered_map>

#include "core/check.hpp"
#include "dist/rank_sums.hpp"
#include "footprint/error.hpp"
#include "footprint/runtime.hpp"
#include "runtime/runtime_internal.hpp"
#include "style/gram.hpp"

namespace footprint {

struct StyleObjective::TileRuntime {
  std::unique_ptr<Net> net;
  Plan plan;
  std::unique_ptr<Runtime> runtime;
  int64_t crop_h = 0, crop_w = 0;
};

PlanOptions feature_plan_options(const FeatureNet& features, const FeatureRuntimeOptions& options) {
  return {.batch = 1, .mode = Mode::train, .threads = options.threads, .input_grad = true,
          .conv_tile_bytes = options.conv_tile_bytes, .winograd_conv = options.winograd_conv,
          .train_params = false,
          .taps = features.tap_values()};
}

std::vector<Shape> StyleObjective::full_shapes(const FeatureNet& features, int64_t h, int64_t w) {
  const Net net = features.at_size(h, w);
  std::vector<Shape> shapes;
  for (const FeatureTap& t : features.taps()) shapes.push_back(net.value_shape(t.value));
  return shapes;
}

namespace {

// The tiles of rank `rank` of `ranks` among split_image(height, width, crop_h, crop_w).
TileRange tiles_of_rank(const std::vector<Tile>& tiles, const FeatureNet& features, int64_t width,
                        int64_t crop_w, int ranks, int rank) {
  if (ranks <= 1) return {.begin = 0, .end = tiles.size()};
  const size_t per_row = split_axis(width, std::min(crop_w, width), features.reach_w()).size();
  return rank_tiles(tiles.size(), per_row, ranks, rank);
}

// The whole image's feature rows [first, end) of a tap that the tiles of `range` own.
std::pair<int64_t, int64_t> owned_feature_rows(const std::vector<Tile>& tiles, TileRange range,
                                               const FeatureTap& tap, int64_t height,
                                               int64_t width, const Shape& full) {
  if (range.begin == range.end) return {0, 0};
  int64_t first = full.h, end = 0;
  for (size_t k = range.begin; k < range.end; ++k) {
    const FeatureRect r = owned_rect(tiles[k], tap, height, width, full.h, full.w);
    const int64_t gy = tiles[k].y.crop_begin / tap.jump_h;
    first = std::min(first, gy + r.y0);
    end = std::max(end, gy + r.y1);
  }
  return {first, end};
}

}  // namespace

std::vector<std::pair<std::string, int64_t>> StyleObjective::target_bytes(
    const FeatureNet& features, int64_t height, int64_t width, bool compact_content,
    int64_t crop_h, int64_t crop_w, int ranks) {
  std::vector<std::pair<std::string, int64_t>> bytes;
  const std::vector<Shape> shapes = full_shapes(features, height, width);
  std::vector<Tile> tiles;
  if (ranks > 1) tiles = split_image(height, width, crop_h, crop_w, features);
  for (size_t t = 0; t < shapes.size(); ++t) {
    const FeatureTap& tap = features.taps()[t];
    const int64_t cc = shapes[t].c * shapes[t].c;
    if (tap.style) {
      bytes.push_back({tap.name + " Gram target, sum and tile scratch",
                       2 * tracked_bytes<float>(cc) + tracked_bytes<double>(cc)});
    }
    if (tap.content) {
      int64_t rows = shapes[t].h;
      if (ranks > 1) {
        rows = 0;
        for (int r = 0; r < ranks; ++r) {
          const auto [first, end] = owned_feature_rows(
              tiles, tiles_of_rank(tiles, features, width, crop_w, ranks, r), tap, height, width,
              shapes[t]);
          rows = std::max(rows, end - first);
        }
      }
      const int64_t n = shapes[t].c * rows * shapes[t].w;
      bytes.push_back({tap.name + " content features" + (compact_content ? " (bfloat16)" : "") +
                           (ranks > 1 ? " of the rows this rank owns" : ""),
                       compact_content ? tracked_bytes<uint16_t>(n) : tracked_bytes<float>(n)});
    }
  }
  return bytes;
}

StyleObjective::StyleObjective(const FeatureNet& features, FeatureRuntimeOptions options,
                               int64_t height, int64_t width, int64_t crop_h, int64_t crop_w,
                               RankSums* sums)
    : features_(features), options_(options), height_(height), width_(width),
      crop_h_(std::min(crop_h, height)), crop_w_(std::min(crop_w, width)),
      tiles_(split_image(height, width, crop_h, crop_w, features)),
      sums_(sums && sums->comm().size() > 1 ? sums : nullptr),
      mine_(sums_ ? tiles_of_rank(tiles_, features, width, crop_w_, sums_->comm().size(),
                                  sums_->comm().rank())
                  : TileRange{.begin = 0, .end = tiles_.size()}) {
  const std::vector<Shape> shapes = full_shapes(features, height, width);
  for (size_t t = 0; t < shapes.size(); ++t) {
    const FeatureTap& tap = features.taps()[t];
    TapState s;
    s.full = shapes[t];
    const int64_t cc = shapes[t].c * shapes[t].c;
    if (tap.style) {
      s.target = TrackedBuffer<float>(cc);
      s.sum = TrackedBuffer<double>(cc);
      s.scratch = TrackedBuffer<float>(cc);
      std::fill_n(s.target.data(), cc, 0.0f);
    }
    if (tap.content) {
      const auto [first, end] = owned_feature_rows(tiles_, mine_, tap, height, width, shapes[t]);
      s.first_row = first;
      s.rows = end - first;
    }
    const int64_t content_n = shapes[t].c * s.rows * shapes[t].w;
    if (tap.content && options_.compact_content) {
      s.content_half = TrackedBuffer<uint16_t>(content_n);
      std::fill_n(s.content_half.data(), content_n, uint16_t{0});
    } else if (tap.content) {
      s.content = TrackedBuffer<float>(content_n);
      std::fill_n(s.content.data(), content_n, 0.0f);
    }
    taps_.push_back(std::move(s));
  }
}

StyleObjective::~StyleObjective() = default;

void StyleObjective::release_runtime() { runtime_.reset(); }

Runtime& StyleObjective::runtime_for(int64_t crop_h, int64_t crop_w) {
  if (runtime_ && runtime_->crop_h == crop_h && runtime_->crop_w == crop_w) {
    return *runtime_->runtime;
  }
  runtime_.reset();  // first, so two arenas never coexist
  auto r = std::make_unique<TileRuntime>();
  r->crop_h = crop_h;
  r->crop_w = crop_w;
  r->net = std::make_unique<Net>(features_.at_size(crop_h, crop_w));
  r->plan = plan(*r->net, feature_plan_options(features_, options_));
  r->runtime = std::make_unique<Runtime>(*r->net, r->plan, options_.seed);
  if (options_.weights) {
    std::unordered_map<std::string, const SavedTensor*> by_name;
    for (const SavedTensor& t : *options_.weights) by_name.emplace(t.name, &t);
    for (const ParamView& p : r->runtime->parameters()) {
      const auto it = by_name.find(p.name);
      if (it == by_name.end() || static_cast<int64_t>(it->second->data.size()) != p.n_elems) {
        throw IoError("style transfer: the model's weights have no '" + p.name + "' of " +
                      std::to_string(p.n_elems) + " floats");
      }
      std::copy(it->second->data.begin(), it->second->data.end(), p.data);
    }
  }
  runtime_ = std::move(r);
  return *runtime_->runtime;
}

void StyleObjective::forward_tile(const float* image, int64_t h, int64_t w, const Tile& tile) {
  const Shape& in = runtime_->net->input_shape();
  float* dst = runtime_->runtime->input();
  for (int64_t c = 0; c < in.c; ++c) {
    for (int64_t y = 0; y < in.h; ++y) {
      const float* row = image + (c * h + tile.y.crop_begin + y) * w + tile.x.crop_begin;
      std::memcpy(dst + (c * in.h + y) * in.w, row, sizeof(float) * in.w);
    }
  }
  runtime_->runtime->forward(1, /*training=*/true);
}

void StyleObjective::accumulate_grams(const Tile& tile, int64_t h, int64_t w,
                                      const std::vector<Shape>& full) {
  Runtime& rt = *runtime_->runtime;
  for (size_t t = 0; t < taps_.size(); ++t) {
    const FeatureTap& tap = features_.taps()[t];
    if (!tap.style) continue;
    const Shape local = runtime_->net->value_shape(tap.value);
    const FeatureRect rect = owned_rect(tile, tap, h, w, full[t].h, full[t].w);
    TapState& s = taps_[t];
    const int64_t cc = local.c * local.c;
    // One tile's sum in float (a tile is small enough), the running sum over tiles in double.
    std::fill_n(s.scratch.data(), cc, 0.0f);
    accumulate_gram(runtime_pool(rt), rt.tap_value(static_cast<int>(t)), local.c, local.h,
                    local.w, rect, s.scratch.data());
    for (int64_t i = 0; i < cc; ++i) s.sum[i] += s.scratch[i];
  }
}

void StyleObjective::set_style(const float* image, int64_t h, int64_t w, int64_t crop_h,
                               int64_t crop_w) {
  const std::vector<Shape> full = full_shapes(features_, h, w);
  for (size_t t = 0; t < taps_.size(); ++t)
    if (features_.taps()[t].style) std::fill_n(taps_[t].sum.data(), taps_[t].sum.size(), 0.0);
  runtime_for(crop_h, crop_w);
  const std::vector<Tile> tiles = split_image(h, w, crop_h, crop_w, features_);
  const TileRange mine =
      sums_ ? tiles_of_rank(tiles, features_, w, std::min(crop_w, w), sums_->comm().size(),
                            sums_->comm().rank())
            : TileRange{.begin = 0, .end = tiles.size()};
  for (size_t k = mine.begin; k < mine.end; ++k) {
    forward_tile(image, h, w, tiles[k]);
    accumulate_grams(tiles[k], h, w, full);
  }
  for (size_t t = 0; t < taps_.size(); ++t) {
    if (!features_.taps()[t].style) continue;
    if (sums_) sums_->sum(std::span<double>(taps_[t].sum.data(), taps_[t].sum.size()));
    const double positions = static_cast<double>(full[t].h * full[t].w);
    for (int64_t i = 0; i < taps_[t].target.size(); ++i)
      taps_[t].target[i] = static_cast<float>(taps_[t].sum[i] / positions);
  }
}

std::vector<Shape> StyleObjective::full_shapes() const {
  std::vector<Shape> full;
  for (const TapState& s : taps_) full.push_back(s.full);
  return full;
}

template <typename Fn>
void StyleObjective::for_each_owned_content_row(const Tile& tile, size_t t, Fn&& fn) {
  const FeatureTap& tap = features_.taps()[t];
  const Shape& full = taps_[t].full;
  const Shape local = runtime_->net->value_shape(tap.value);
  const FeatureRect r = owned_rect(tile, tap, height_, width_, full.h, full.w);
  // The crop's feature position 0 is this position of the whole image's features.
  const int64_t gy = tile.y.crop_begin / tap.jump_h, gx = tile.x.crop_begin / tap.jump_w;
  for (int64_t c = 0; c < local.c; ++c) {
    for (int64_t y = r.y0; y < r.y1; ++y) {
      const int64_t row = (c * taps_[t].rows + gy + y - taps_[t].first_row) * full.w + gx;
      const ContentRow target =
          options_.compact_content ? ContentRow{.half = taps_[t].content_half.data() + row}
                                   : ContentRow{.f = taps_[t].content.data() + row};
      fn((c * local.h + y) * local.w, target, r.x0, r.x1);
    }
  }
}

float StyleObjective::ContentRow::get(int64_t i) const { return f ? f[i] : from_bf16(half[i]); }

void StyleObjective::ContentRow::set(int64_t i, float value) const {
  if (f) {
    f[i] = value;
  } else {
    half[i] = to_bf16(value);
  }
}

void StyleObjective::set_content(const float* image) {
  runtime_for(crop_h_, crop_w_);
  for (size_t k = mine_.begin; k < mine_.end; ++k) {
    const Tile& tile = tiles_[k];
    forward_tile(image, height_, width_, tile);
    for (size_t t = 0; t < taps_.size(); ++t) {
      if (!features_.taps()[t].content) continue;
      const float* f = runtime_->runtime->tap_value(static_cast<int>(t));
      for_each_owned_content_row(tile, t, [&](int64_t at, const ContentRow& target, int64_t x0,
                                              int64_t x1) {
        for (int64_t i = x0; i < x1; ++i) target.set(i, f[at + i]);
      });
    }
  }
}

namespace {

// Sum of squared neighbour differences of [C, H, W] and its gradient, added to grad * scale.
double total_variation(const float* x, int64_t c, int64_t h, int64_t w, double scale,
                       float* grad) {
  double sum = 0.0;
  for (int64_t ch = 0; ch < c; ++ch) {
    const float* p = x + ch * h * w;
    float* g = grad + ch * h * w;
    for (int64_t y = 0; y < h; ++y) {
      for (int64_t i = 0; i < w; ++i) {
        const int64_t at = y * w + i;
        if (i + 1 < w) {
          const float d = p[at + 1] - p[at];
          sum += double{d} * d;
          g[at + 1] += static_cast<float>(2.0 * scale * d);
          g[at] -= static_cast<float>(2.0 * scale * d);
        }
        if (y + 1 < h) {
          const float d = p[at + w] - p[at];
          sum += double{d} * d;
          g[at + w] += static_cast<float>(2.0 * scale * d);
          g[at] -= static_cast<float>(2.0 * scale * d);
        }
      }
    }
  }
  return sum;
}

}  // namespace

double StyleObjective::evaluate(const float* x, float* grad, const StyleWeights& weights) {
  const std::vector<Shape> full = full_shapes();
  Runtime& rt = runtime_for(crop_h_, crop_w_);
  const int n_style = static_cast<int>(
      std::count_if(features_.taps().begin(), features_.taps().end(),
                    [](const FeatureTap& t) { return t.style; }));
  for (size_t t = 0; t < taps_.size(); ++t)
    if (features_.taps()[t].style) std::fill_n(taps_[t].sum.data(), taps_[t].sum.size(), 0.0);

  // Pass 1: Gram matrices and the content loss over every tile's owned positions.
  std::vector<double> content_sum(taps_.size(), 0.0);
  for (size_t k = mine_.begin; k < mine_.end; ++k) {
    const Tile& tile = tiles_[k];
    forward_tile(x, height_, width_, tile);
    accumulate_grams(tile, height_, width_, full);
    for (size_t t = 0; t < taps_.size(); ++t) {
      if (!features_.taps()[t].content) continue;
      const float* f = rt.tap_value(static_cast<int>(t));
      for_each_owned_content_row(tile, t, [&](int64_t at, const ContentRow& target, int64_t x0,
                                              int64_t x1) {
        for (int64_t i = x0; i < x1; ++i) {
          const double d = double{f[at + i]} - target.get(i);
          content_sum[t] += d * d;
        }
      });
    }
  }

  if (sums_) {  // every rank's share of the sums, so every rank holds the whole objective
    sums_->sum(std::span<double>(content_sum));
    for (size_t t = 0; t < taps_.size(); ++t)
      if (features_.taps()[t].style)
        sums_->sum(std::span<double>(taps_[t].sum.data(), taps_[t].sum.size()));
  }

  // The global losses; each style layer's gradient matrix (G - A) / (L C^2 M), times its weight.
  parts_ = {};
  for (size_t t = 0; t < taps_.size(); ++t)
    parts_.content += content_sum[t] / static_cast<double>(full[t].n_elems());
  for (size_t t = 0; t < taps_.size(); ++t) {
    if (!features_.taps()[t].style) continue;
    TapState& s = taps_[t];
    const double c = static_cast<double>(s.full.c);
    const double positions = static_cast<double>(s.full.h * s.full.w);
    double sq = 0.0;
    for (int64_t i = 0; i < s.sum.size(); ++i) {
      const double diff = s.sum[i] / positions - s.target[i];
      sq += diff * diff;
      s.scratch[i] = static_cast<float>(weights.style * diff / (n_style * c * c * positions));
    }
    parts_.style += sq / (4.0 * c * c) / n_style;
  }

  // Pass 2, last tile first: it is still in the runtime from pass 1.
  const int64_t pixels = features_.channels() * height_ * width_;
  std::fill_n(grad, pixels, 0.0f);
  for (size_t k = mine_.end; k-- > mine_.begin;) {
    const Tile& tile = tiles_[k];
    if (k + 1 != mine_.end) forward_tile(x, height_, width_, tile);
    rt.backward_from_taps(1, [&](int t, const float* f, float* d) {
      const FeatureTap& tap = features_.taps()[t];
      const Shape local = runtime_->net->value_shape(tap.value);
      if (!d) return;
      std::fill_n(d, local.n_elems(), 0.0f);
      const FeatureRect r = owned_rect(tile, tap, height_, width_, full[t].h, full[t].w);
      if (tap.style) {
        apply_gram_gradient(runtime_pool(rt), taps_[t].scratch.data(), f, local.c, local.h,
                            local.w, r, d);
      }
      if (tap.content) {
        const float scale = static_cast<float>(2.0 * weights.content /
                                               static_cast<double>(full[t].n_elems()));
        for_each_owned_content_row(tile, static_cast<size_t>(t), [&](int64_t at,
                                                                     const ContentRow& target,
                                                                     int64_t x0, int64_t x1) {
          for (int64_t i = x0; i < x1; ++i) d[at + i] += scale * (f[at + i] - target.get(i));
        });
      }
    });
    // The whole crop's pixel gradient: its halo pixels belong to neighbours but feed this
    // tile's owned features.
    const Shape& in = runtime_->net->input_shape();
    const float* g = rt.input_grad();
    for (int64_t c = 0; c < in.c; ++c) {
      for (int64_t y = 0; y < in.h; ++y) {
        float* row = grad + (c * height_ + tile.y.crop_begin + y) * width_ + tile.x.crop_begin;
        const float* src = g + (c * in.h + y) * in.w;
        for (int64_t i = 0; i < in.w; ++i) row[i] += src[i];
      }
    }
  }

  if (sums_) sums_->sum(std::span<float>(grad, static_cast<size_t>(pixels)));

  if (weights.tv != 0.0) {
    const double scale = weights.tv / static_cast<double>(pixels);
    parts_.tv = total_variation(x, features_.channels(), height_, width_, scale, grad) /
                static_cast<double>(pixels);
  }
  parts_.total = weights.content * parts_.content + weights.style * parts_.style +
                 weights.tv * parts_.tv;
  return parts_.total;
}

CropChoice choose_crop(const FeatureNet& features, const FeatureRuntimeOptions& options,
                       int64_t height, int64_t width, int64_t budget_bytes) {
  const PlanOptions plan_options = feature_plan_options(features, options);
  auto bytes = [&](int64_t ch, int64_t cw) {
    return plan(features.at_size(ch, cw), plan_options).total_bytes;
  };
  if (const int64_t whole = bytes(height, width); whole <= budget_bytes) {
    return {.crop_h = height, .crop_w = width, .runtime_bytes = whole};
  }
  const int64_t min_h = smallest_crop(height, features.reach_h());
  const int64_t min_w = smallest_crop(width, features.reach_w());
  auto crop_at = [&](double f) {
    return std::pair{std::max(min_h, valid_crop(height, static_cast<int64_t>(f * height), features.reach_h())),
                     std::max(min_w, valid_crop(width, static_cast<int64_t>(f * width), features.reach_w()))};
  };
  CropChoice best;
  double lo = 0.0, hi = 1.0;
  for (int i = 0; i < 24; ++i) {
    const double mid = (lo + hi) / 2;
    const auto [ch, cw] = crop_at(mid);
    const int64_t b = bytes(ch, cw);
    if (b <= budget_bytes) {
      lo = mid;
      if (ch * cw > best.crop_h * best.crop_w) best = {.crop_h = ch, .crop_w = cw, .runtime_bytes = b};
    } else {
      hi = mid;
    }
  }
  if (best.crop_h == 0) {
    const auto [ch, cw] = crop_at(0.0);
    if (const int64_t b = bytes(ch, cw); b <= budget_bytes) best = {ch, cw, b};
  }
  if (best.crop_h == 0) return best;
  // The same number of tiles with the smallest crops: less halo computed twice, fewer bytes.
  auto shrink = [](int64_t extent, int64_t crop, const AxisReach& reach) {
    if (crop >= extent) return crop;
    const size_t tiles = split_axis(extent, crop, reach).size();
    while (crop - reach.align > 0) {
      try {
        if (split_axis(extent, crop - reach.align, reach).size() != tiles) break;
      } catch (const PlanError&) {
        break;  // too small to own anything
      }
      crop -= reach.align;
    }
    return crop;
  };
  best.crop_h = shrink(height, best.crop_h, features.reach_h());
  best.crop_w = shrink(width, best.crop_w, features.reach_w());
  best.runtime_bytes = bytes(best.crop_h, best.crop_w);
  return best;
}

}  // namespace footprint
