// The style-transfer driver: sizes per scale, the memory plan, image conversions, and the loop
// that runs the optimizer on the tiled objective. The order of allocations within a scale is
// what plan_style counts:
//   1. the image at this scale (the previous scale's, resized, is freed right after)
//   2. the objective's targets (Gram matrices, content features)
//   3. the style image as floats and a runtime for its crops -> Gram targets; both freed
//   4. the gradient (first holding the content image while its features are taken), the
//      runtime for this scale's crops, the optimizer's state
// With several ranks, the staging of their sums comes first and stays for the run; each rank
// holds the whole image and gradient (its tiles read any rows) but only its part of the
// optimizer's state, and gathers the others' parts of the image before each evaluation.
#include "footprint/style.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>

#include "core/rng.hpp"
#include "core/tracked_buffer.hpp"
#include "dist/rank_sums.hpp"
#include "footprint/communicator.hpp"
#include "footprint/error.hpp"
#include "footprint/plan.hpp"
#include "style/feature_net.hpp"
#include "style/image_optimizer.hpp"
#include "style/style_objective.hpp"

namespace footprint {
namespace {

constexpr int kChannels = 3;

ImagePreprocess preprocess_of(StylePreprocess kind) {
  if (kind == StylePreprocess::torch) return {};
  // Caffe's VGG: 0..255 minus the ImageNet mean, which in [0, 1] units is mean / 255, std 1/255.
  return {.mean = {123.68f / 255.0f, 116.779f / 255.0f, 103.939f / 255.0f},
          .std = {1.0f / 255.0f, 1.0f / 255.0f, 1.0f / 255.0f}};
}

void swap_red_blue(float* planes, int64_t plane) {
  std::swap_ranges(planes, planes + plane, planes + 2 * plane);
}

// Image -> [3, h, w] model input (resized when sizes differ).
void to_input(const Image& image, int64_t h, int64_t w, StylePreprocess kind, float* dst) {
  image_to_input(image, Shape{kChannels, h, w}, preprocess_of(kind), dst);
  if (kind == StylePreprocess::caffe) swap_red_blue(dst, h * w);
}

Image to_image(const float* x, int64_t h, int64_t w, StylePreprocess kind) {
  const ImagePreprocess pre = preprocess_of(kind);
  Image image{.width = w, .height = h, .channels = kChannels};
  image.pixels.resize(static_cast<size_t>(h * w * kChannels));
  for (int64_t c = 0; c < kChannels; ++c) {
    // Caffe order is BGR: pixel channel c is plane 2 - c.
    const int64_t plane = kind == StylePreprocess::caffe ? 2 - c : c;
    for (int64_t i = 0; i < h * w; ++i) {
      const float v = (x[plane * h * w + i] * pre.std[c] + pre.mean[c]) * 255.0f;
      image.pixels[static_cast<size_t>(i * kChannels + c)] =
          static_cast<uint8_t>(std::clamp(std::lround(v), 0L, 255L));
    }
  }
  return image;
}

// Bilinear resize of [C, sh, sw] planes to [C, dh, dw] (pixel centres aligned, as image resizes).
void resize_planes(const float* src, int64_t sh, int64_t sw, float* dst, int64_t dh, int64_t dw) {
  auto axis = [](int64_t d, int64_t dn, int64_t sn, int64_t& i0, int64_t& i1, float& f) {
    const double pos = std::clamp((d + 0.5) * sn / dn - 0.5, 0.0, static_cast<double>(sn - 1));
    i0 = static_cast<int64_t>(pos);
    i1 = std::min(i0 + 1, sn - 1);
    f = static_cast<float>(pos - i0);
  };
  for (int64_t c = 0; c < kChannels; ++c) {
    const float* s = src + c * sh * sw;
    for (int64_t y = 0; y < dh; ++y) {
      int64_t y0, y1;
      float fy;
      axis(y, dh, sh, y0, y1, fy);
      for (int64_t x = 0; x < dw; ++x) {
        int64_t x0, x1;
        float fx;
        axis(x, dw, sw, x0, x1, fx);
        const float top = s[y0 * sw + x0] * (1 - fx) + s[y0 * sw + x1] * fx;
        const float bottom = s[y1 * sw + x0] * (1 - fx) + s[y1 * sw + x1] * fx;
        dst[(c * dh + y) * dw + x] = top * (1 - fy) + bottom * fy;
      }
    }
  }
}

FeatureRuntimeOptions runtime_options(const StyleModel& model, const StyleOptions& options) {
  return {.threads = options.threads, .conv_tile_bytes = options.conv_tile_bytes,
          .winograd_conv = options.winograd_conv,
          .seed = options.seed, .weights = model.weights.empty() ? nullptr : &model.weights,
          .compact_content = options.compact_state};
}

int64_t optimizer_bytes(const StyleOptions& options, int64_t n) {
  return options.optimizer == StyleOptimizer::adam
             ? AdamImageOptimizer::state_bytes(n, options.compact_state)
             : LbfgsImageOptimizer::state_bytes(n, options.lbfgs_history, options.compact_state);
}

struct ScaleSize {
  int64_t h, w, style_h, style_w;
};

// The style image's size at an output size: long side style_scale times the output's.
std::pair<int64_t, int64_t> style_size(const StyleOptions& options, int64_t h, int64_t w,
                                       double style_aspect) {
  const double long_side = options.style_scale * static_cast<double>(std::max(h, w));
  if (style_aspect >= 1.0) {  // wider than tall
    return {std::max<int64_t>(1, std::lround(long_side / style_aspect)),
            std::max<int64_t>(1, std::lround(long_side))};
  }
  return {std::max<int64_t>(1, std::lround(long_side)),
          std::max<int64_t>(1, std::lround(long_side * style_aspect))};
}

std::vector<ScaleSize> scale_sizes(const StyleOptions& options, int64_t h, int64_t w,
                                   double style_aspect) {
  std::vector<ScaleSize> sizes;
  for (int s = 0; s < options.scales; ++s) {
    const double f = std::ldexp(1.0, -(options.scales - 1 - s));
    const int64_t sh = std::max<int64_t>(1, std::lround(static_cast<double>(h) * f));
    const int64_t sw = std::max<int64_t>(1, std::lround(static_cast<double>(w) * f));
    const auto [th, tw] = style_size(options, sh, sw, style_aspect);
    sizes.push_back({sh, sw, th, tw});
  }
  return sizes;
}

struct Crops {
  CropChoice main, style;
};

Crops choose_crops(const FeatureNet& features, const FeatureRuntimeOptions& rt,
                   const StyleOptions& options, int64_t main_fixed, int64_t style_fixed,
                   int64_t h, int64_t w, int64_t sh, int64_t sw) {
  constexpr int64_t kUnlimited = int64_t{1} << 62;
  const int64_t budget = options.memory_budget > 0 ? options.memory_budget : kUnlimited;
  Crops c;
  c.main = choose_crop(features, rt, h, w, budget - main_fixed);
  c.style = choose_crop(features, rt, sh, sw, budget - style_fixed);
  if (c.main.crop_h == 0 || c.style.crop_h == 0) {
    throw PlanError("style transfer at " + std::to_string(w) + "x" + std::to_string(h) +
                    " does not fit a memory budget of " + std::to_string(options.memory_budget) +
                    " bytes even with the smallest tiles; lower the size (see --fit)");
  }
  return c;
}

}  // namespace

StyleModel make_style_model(const Net& net, std::vector<SavedTensor> weights,
                             const StyleOptions& options) {
  const FeatureNet features(net, options.style_layers, options.content_layer);
  StyleModel model{.net = net};
  for (SavedTensor& t : weights) {
    const std::string layer = t.name.substr(0, t.name.rfind('.'));
    const int index = net.find_layer(layer);
    if (index >= 0 && index < features.n_layers()) {
      t.optimizer_state.clear();
      model.weights.push_back(std::move(t));
    }
  }
  return model;
}

std::pair<int64_t, int64_t> scaled_size(int64_t height, int64_t width, int64_t long_side) {
  if (long_side <= 0) return {height, width};
  const double f = static_cast<double>(long_side) / static_cast<double>(std::max(height, width));
  return {std::max<int64_t>(1, std::lround(height * f)), std::max<int64_t>(1, std::lround(width * f))};
}

StyleMemoryPlan plan_style(const StyleModel& model, const StyleOptions& options, int64_t height,
                           int64_t width, int64_t style_height, int64_t style_width) {
  const FeatureNet features(model.net, options.style_layers, options.content_layer);
  const FeatureRuntimeOptions rt = runtime_options(model, options);
  const int ranks = std::max(1, options.ranks);
  StyleMemoryPlan p{.height = height, .width = width, .style_height = style_height,
                    .style_width = style_width, .ranks = ranks};
  const int64_t n = kChannels * height * width;
  const int64_t image = tracked_bytes<float>(n);
  const int64_t staging = RankSums::staging_bytes(ranks);
  int64_t targets = 0;
  // The run's buffers at a crop size: with ranks, those of the rank holding the most (the
  // largest part of the optimizer's state, the most content rows).
  auto set_buffers = [&](int64_t crop_h, int64_t crop_w) {
    p.buffers.clear();
    p.buffers.push_back({"image being optimised", image});
    p.buffers.push_back({"its gradient", image});
    const std::string dtype = options.compact_state ? ", bfloat16" : "";
    const std::string part = ranks > 1 ? ", this rank's part" : "";
    p.buffers.push_back({options.optimizer == StyleOptimizer::adam
                             ? "Adam moments (2 images" + dtype + part + ")"
                             : "L-BFGS history (" + std::to_string(options.lbfgs_history) +
                                   " pairs" + dtype + part + ") and direction",
                         optimizer_bytes(options, ranks > 1 ? sum_scratch_size(n, ranks) : n)});
    targets = 0;
    for (const auto& entry : StyleObjective::target_bytes(features, height, width,
                                                          options.compact_state, crop_h, crop_w,
                                                          ranks)) {
      p.buffers.push_back(entry);
      targets += entry.second;
    }
    if (ranks > 1) p.buffers.push_back({"sums over the ranks (staging)", staging});
    p.buffer_bytes = 0;
    for (const auto& entry : p.buffers) p.buffer_bytes += entry.second;
  };
  set_buffers(height, width);  // an upper bound of any crop's, for choosing the crop
  const int64_t style_floats = tracked_bytes<float>(kChannels * style_height * style_width);
  Crops crops = choose_crops(features, rt, options, p.buffer_bytes,
                             image + targets + staging + style_floats, height, width,
                             style_height, style_width);
  if (ranks > 1) {
    // At least one row of tiles per rank, and of the crops that give that the one whose
    // busiest rank computes the fewest rows: ceil(rows / ranks) crops of crop_h each (a crop
    // just under the image's height would give two tiles, one owning almost everything).
    const AxisReach& reach = features.reach_h();
    auto rows = [&](int64_t crop) {
      try {
        return static_cast<int64_t>(split_axis(height, crop, reach).size());
      } catch (const PlanError&) {
        return int64_t{0};  // too small to own anything, as is every smaller crop
      }
    };
    int64_t crop_h = 0, fewest = 0, most_rows = 0;
    for (int64_t crop = crops.main.crop_h; crop > 0;) {
      const int64_t r = rows(crop);
      if (r == 0) break;
      most_rows = std::max(most_rows, r);
      const int64_t busiest = (r + ranks - 1) / ranks * crop;
      if (r >= ranks && (crop_h == 0 || busiest < fewest)) {
        crop_h = crop;
        fewest = busiest;
      }
      const int64_t smaller = valid_crop(height, crop - 1, reach);
      if (smaller >= crop) break;
      crop = smaller;
    }
    if (crop_h == 0) {
      throw PlanError("style transfer at " + std::to_string(width) + "x" +
                      std::to_string(height) + " cannot give " + std::to_string(ranks) +
                      " ranks a row of tiles each: the model's receptive field allows at most " +
                      std::to_string(std::max<int64_t>(1, most_rows)) +
                      " rows at this height; use fewer ranks or a taller image");
    }
    if (crop_h != crops.main.crop_h) {
      crops.main.crop_h = crop_h;
      crops.main.runtime_bytes =
          plan(features.at_size(crop_h, crops.main.crop_w), feature_plan_options(features, rt))
              .total_bytes;
    }
  }
  p.crop_h = crops.main.crop_h;
  p.crop_w = crops.main.crop_w;
  set_buffers(p.crop_h, p.crop_w);
  p.style_crop_h = crops.style.crop_h;
  p.style_crop_w = crops.style.crop_w;
  p.tiles = static_cast<int>(split_image(height, width, p.crop_h, p.crop_w, features).size());
  p.tile_runtime_bytes = crops.main.runtime_bytes;
  p.style_phase_bytes = image + targets + staging + style_floats + crops.style.runtime_bytes;
  p.peak_bytes = std::max(p.buffer_bytes + p.tile_runtime_bytes, p.style_phase_bytes);
  return p;
}

int64_t fit_style_height(const StyleModel& model, const StyleOptions& options, double aspect,
                         double style_aspect, int64_t budget_bytes) {
  StyleOptions o = options;
  o.memory_budget = budget_bytes;
  auto fits = [&](int64_t h) {
    const int64_t w = std::max<int64_t>(1, std::lround(static_cast<double>(h) * aspect));
    const auto [sh, sw] = style_size(o, h, w, style_aspect);
    try {
      return plan_style(model, o, h, w, sh, sw).peak_bytes <= budget_bytes;
    } catch (const Error&) {
      return false;  // too small for the net, or no tile fits
    }
  };
  int64_t lo = 0, hi = 1 << 17;
  while (hi - lo > 1) {
    const int64_t mid = lo + (hi - lo) / 2;
    (fits(mid) ? lo : hi) = mid;
  }
  return lo;
}

Image style_transfer(const StyleModel& model, const StyleOptions& options, const Image& content,
                     const Image& style, int64_t height, int64_t width, const Image* init,
                     bool random_init, const StyleCallbacks& callbacks) {
  const FeatureNet features(model.net, options.style_layers, options.content_layer);
  if (features.channels() != kChannels) {
    throw ShapeError("style transfer needs a model with 3 input channels, this one has " +
                     std::to_string(features.channels()));
  }
  const FeatureRuntimeOptions rt = runtime_options(model, options);
  const StyleWeights weights{.content = options.content_weight, .style = options.style_weight,
                             .tv = options.tv_weight};
  const double style_aspect = static_cast<double>(style.width) / static_cast<double>(style.height);
  const std::vector<ScaleSize> sizes = scale_sizes(options, height, width, style_aspect);
  Communicator* const comm =
      options.comm && options.comm->size() > 1 ? options.comm : nullptr;
  StyleOptions planned = options;
  planned.ranks = comm ? comm->size() : 1;
  const std::unique_ptr<RankSums> sums = comm ? std::make_unique<RankSums>(*comm) : nullptr;
  // Any rank asked to stop stops every rank, after the same iteration.
  auto stop_requested = [&] {
    double stop = callbacks.should_stop && callbacks.should_stop() ? 1.0 : 0.0;
    if (sums) stop = sums->sum(stop);
    return stop > 0.0;
  };

  TrackedBuffer<float> x;
  int64_t prev_h = 0, prev_w = 0;
  for (int s = 0; s < options.scales; ++s) {
    const auto [h, w, sh, sw] = sizes[s];
    const int64_t n = kChannels * h * w;
    const StyleMemoryPlan p = plan_style(model, planned, h, w, sh, sw);

    // 1. The image at this scale.
    TrackedBuffer<float> next(n);
    if (s > 0) {
      resize_planes(x.data(), prev_h, prev_w, next.data(), h, w);
    } else if (random_init) {
      Rng rng(options.seed);
      const ImagePreprocess pre = preprocess_of(options.preprocess);
      for (int64_t c = 0; c < kChannels; ++c)
        for (int64_t i = 0; i < h * w; ++i)
          next[c * h * w + i] = (rng.uniform(0.0f, 1.0f) - pre.mean[c]) / pre.std[c];
    } else {
      to_input(init ? *init : content, h, w, options.preprocess, next.data());
    }
    x = std::move(next);
    prev_h = h;
    prev_w = w;

    // 2-3. Targets, then the style image's Gram matrices.
    StyleObjective objective(features, rt, h, w, p.crop_h, p.crop_w, sums.get());
    {
      TrackedBuffer<float> style_input(kChannels * sh * sw);
      to_input(style, sh, sw, options.preprocess, style_input.data());
      objective.set_style(style_input.data(), sh, sw, p.style_crop_h, p.style_crop_w);
      objective.release_runtime();
    }

    // 4. The content features (the gradient's bytes hold the content image meanwhile), then
    // the optimizer.
    TrackedBuffer<float> grad(n);
    to_input(content, h, w, options.preprocess, grad.data());
    objective.set_content(grad.data());
    // The optimizer moves this rank's part of the image, [begin, end); the objective gathers
    // every part before evaluating, and leaves the whole gradient on every rank.
    const int64_t begin = comm ? sum_chunk_begin(n, comm->size(), comm->rank()) : 0;
    const int64_t end = comm ? sum_chunk_begin(n, comm->size(), comm->rank() + 1) : n;
    const ImageObjective evaluate = [&](const float*, float*) {
      if (sums) sums->gather_parts(std::span<float>(x.data(), static_cast<size_t>(n)));
      return objective.evaluate(x.data(), grad.data(), weights);
    };
    std::unique_ptr<ImageOptimizer> optimizer;
    if (options.optimizer == StyleOptimizer::adam) {
      optimizer = std::make_unique<AdamImageOptimizer>(
          end - begin, options.lr > 0 ? options.lr : 0.02, options.compact_state);
    } else {
      optimizer = std::make_unique<LbfgsImageOptimizer>(end - begin, options.lbfgs_history,
                                                        options.lr > 0 ? options.lr : 1.0,
                                                        options.compact_state);
    }
    if (sums) {
      optimizer->set_reduction({.sum = [&](std::span<double> v) { sums->sum(v); },
                                .max = [&](double v) { return sums->max(v); }});
    }
    double loss = evaluate(x.data(), grad.data());
    StyleProgress progress{.scale = s, .scales = options.scales, .height = h, .width = w,
                           .iterations = options.iterations, .tiles = objective.tiles()};
    for (int it = 1; it <= options.iterations; ++it) {
      if (stop_requested()) {
        return to_image(x.data(), h, w, options.preprocess);
      }
      const auto start = std::chrono::steady_clock::now();
      loss = optimizer->step(x.data() + begin, grad.data() + begin, loss, evaluate);
      const StyleLossParts& parts = objective.parts();
      progress.iteration = it;
      progress.evaluations = optimizer->evaluations() + 1;
      progress.loss = loss;
      progress.content = parts.content;
      progress.style = parts.style;
      progress.tv = parts.tv;
      progress.seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      if (!std::isfinite(loss)) {
        throw PlanError("style transfer: the loss is not finite at iteration " +
                        std::to_string(it) + "; lower --lr or the weights");
      }
      if (callbacks.progress) callbacks.progress(progress);
      const bool last = s + 1 == options.scales && it == options.iterations;
      if (callbacks.save && callbacks.save_every > 0 && it % callbacks.save_every == 0 && !last) {
        callbacks.save(progress, to_image(x.data(), h, w, options.preprocess));
      }
    }
  }
  return to_image(x.data(), prev_h, prev_w, options.preprocess);
}

}  // namespace footprint
