// Exact tiling: the tiled style objective (loss and pixel gradient) equals the untiled one for
// several crop sizes, including crops that do not divide the image, and the untiled gradient
// matches finite differences.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "core/tracked_alloc.hpp"
#include "footprint/error.hpp"
#include "footprint/net.hpp"
#include "footprint/runtime.hpp"
#include "style/feature_net.hpp"
#include "style/style_objective.hpp"
#include "style/tiling.hpp"

namespace footprint {
namespace {

// A small VGG: three blocks, names as VGG's (the content layer is a conv whose ReLU would
// otherwise run in place over it).
Net small_vgg(int64_t h, int64_t w) {
  Net net{Shape{3, h, w}};
  net << conv(8, {.k = 3, .pad = 1, .name = "conv1_1"}) << relu("relu1_1")
      << conv(8, {.k = 3, .pad = 1, .name = "conv1_2"}) << relu("relu1_2")
      << maxpool(2, {.name = "pool1"})
      << conv(12, {.k = 3, .pad = 1, .name = "conv2_1"}) << relu("relu2_1")
      << conv(12, {.k = 3, .pad = 1, .name = "conv2_2"}) << relu("relu2_2")
      << avgpool(2, {.name = "pool2"})
      << conv(16, {.k = 3, .pad = 1, .name = "conv3_1"}) << relu("relu3_1")
      << conv(16, {.k = 3, .pad = 1, .name = "conv3_2"}) << relu("relu3_2");
  return net;
}

std::vector<float> random_image(int64_t n, uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> u(-1.5f, 1.5f);
  std::vector<float> x(n);
  for (float& v : x) v = u(gen);
  return x;
}

const std::vector<std::string> kStyle = {"relu1_1", "relu2_1", "relu3_1"};
constexpr int64_t kH = 80, kW = 96;

struct Result {
  double loss;
  std::vector<float> grad;
};

Result evaluate(const FeatureNet& features, int64_t crop_h, int64_t crop_w,
                const StyleWeights& weights) {
  const std::vector<float> style = random_image(3 * 64 * 72, 1);
  const std::vector<float> content = random_image(3 * kH * kW, 2);
  const std::vector<float> x = random_image(3 * kH * kW, 3);
  StyleObjective objective(features, {.threads = 2, .seed = 7}, kH, kW, crop_h, crop_w);
  objective.set_style(style.data(), 64, 72, std::min<int64_t>(crop_h, 64),
                      std::min<int64_t>(crop_w, 72));
  objective.set_content(content.data());
  Result r{0.0, std::vector<float>(x.size())};
  r.loss = objective.evaluate(x.data(), r.grad.data(), weights);
  return r;
}

TEST(StyleFeatures, ReachOfASmallVgg) {
  const FeatureNet features(small_vgg(kH, kW), kStyle, "conv3_2");
  EXPECT_EQ(features.reach_h().align, 4);
  // 2 + 2 convs at jump 1 and 2 + 2 at jump 2 and 4: 1 + 1 + 2 + 2 + 4 + 4 = 14 before.
  EXPECT_EQ(features.reach_h().halo_before, 14);
  EXPECT_EQ(features.n_layers(), 13);  // up to conv3_2
  ASSERT_EQ(features.taps().size(), 4u);
  EXPECT_TRUE(features.taps().back().content);
  EXPECT_EQ(features.taps().back().name, "conv3_2");
}

TEST(StyleFeatures, VggNamesForNetsNamedOtherwise) {
  Net net{Shape{3, 32, 32}};
  net << conv(4, {.k = 3, .pad = 1}) << relu() << maxpool(2) << conv(4, {.k = 3, .pad = 1})
      << relu();
  const std::vector<std::string> names = vgg_layer_names(net);
  EXPECT_EQ(names, (std::vector<std::string>{"conv1_1", "relu1_1", "pool1", "conv2_1", "relu2_1"}));
  const FeatureNet features(net, {"relu1_1", "relu2_1"}, "");
  EXPECT_EQ(features.taps().size(), 2u);
  EXPECT_THROW(FeatureNet(net, {"relu3_1"}, ""), ParseError);
}

TEST(StyleTiling, OwnedBandsPartitionTheAxis) {
  const FeatureNet features(small_vgg(kH, kW), kStyle, "conv3_2");
  for (int64_t crop : {40, 44, 52, 60, 76}) {
    const std::vector<AxisTile> tiles = split_axis(kH, crop, features.reach_h());
    ASSERT_GT(tiles.size(), 1u) << crop;
    int64_t next = 0;
    for (const AxisTile& t : tiles) {
      EXPECT_EQ(t.owned_begin, next);
      EXPECT_EQ(t.crop_begin % 4, 0);
      EXPECT_TRUE(t.crop_begin == 0 || t.owned_begin - t.crop_begin >= 14);
      EXPECT_LE(t.crop_begin + crop, kH);
      next = t.owned_end;
    }
    EXPECT_EQ(next, kH);
  }
  EXPECT_THROW((void)split_axis(kH, 30, features.reach_h()), PlanError);  // 80 - 30 not aligned
}

TEST(StyleObjective, TiledEqualsUntiled) {
  const FeatureNet features(small_vgg(kH, kW), kStyle, "conv3_2");
  const StyleWeights weights{.content = 1.0, .style = 50.0, .tv = 0.1};
  const Result whole = evaluate(features, kH, kW, weights);
  double rms = 0.0;
  for (float g : whole.grad) rms += double{g} * g;
  rms = std::sqrt(rms / static_cast<double>(whole.grad.size()));
  ASSERT_GT(rms, 0.0);
  // Crops that divide nothing evenly, the smallest crop, and one axis untiled.
  const std::vector<std::pair<int64_t, int64_t>> crops = {
      {48, 64}, {36, 44}, {smallest_crop(kH, features.reach_h()), smallest_crop(kW, features.reach_w())},
      {kH, 52}, {60, kW}};
  for (const auto& [ch, cw] : crops) {
    SCOPED_TRACE("crop " + std::to_string(ch) + "x" + std::to_string(cw));
    const Result tiled = evaluate(features, ch, cw, weights);
    EXPECT_NEAR(tiled.loss, whole.loss, 1e-4 * std::abs(whole.loss));
    // Element by element, relative to the element (with a floor far below the typical size,
    // so near-zero elements do not divide by zero).
    double worst = 0.0;
    for (size_t i = 0; i < whole.grad.size(); ++i) {
      const double diff = std::abs(double{tiled.grad[i]} - whole.grad[i]);
      worst = std::max(worst, diff / (std::abs(double{whole.grad[i]}) + 1e-3 * rms));
    }
    EXPECT_LT(worst, 1e-4);
  }
}

TEST(StyleObjective, GradientMatchesFiniteDifferences) {
  const int64_t h = 24, w = 28;
  const FeatureNet features(small_vgg(h, w), kStyle, "conv3_2");
  const std::vector<float> style = random_image(3 * h * w, 4);
  const std::vector<float> content = random_image(3 * h * w, 5);
  std::vector<float> x = random_image(3 * h * w, 6);
  StyleObjective objective(features, {.threads = 1, .seed = 3}, h, w, h, w);
  objective.set_style(style.data(), h, w, h, w);
  objective.set_content(content.data());
  const StyleWeights weights{.content = 1.0, .style = 50.0, .tv = 0.5};
  std::vector<float> grad(x.size()), scratch(x.size());
  objective.evaluate(x.data(), grad.data(), weights);
  std::mt19937 gen(9);
  for (int probe = 0; probe < 12; ++probe) {
    const size_t i = std::uniform_int_distribution<size_t>(0, x.size() - 1)(gen);
    const float saved = x[i], eps = 1e-2f;
    x[i] = saved + eps;
    const double up = objective.evaluate(x.data(), scratch.data(), weights);
    x[i] = saved - eps;
    const double down = objective.evaluate(x.data(), scratch.data(), weights);
    x[i] = saved;
    const double numeric = (up - down) / (2 * eps);
    EXPECT_NEAR(grad[i], numeric, 2e-2 * std::abs(numeric) + 1e-6) << "pixel " << i;
  }
}

TEST(StyleObjective, TrackedMemoryIsTargetsPlusOneRuntime) {
  const FeatureNet features(small_vgg(kH, kW), kStyle, "conv3_2");
  const FeatureRuntimeOptions options{.threads = 1};
  const int64_t before = tracked_memory().current_bytes;
  reset_tracked_peak();
  {
    StyleObjective objective(features, options, kH, kW, 48, 64);
    const std::vector<float> content = random_image(3 * kH * kW, 2);
    objective.set_content(content.data());
    int64_t targets = 0;
    for (const auto& [name, bytes] : StyleObjective::target_bytes(features, kH, kW, false)) targets += bytes;
    const int64_t runtime = plan(features.at_size(48, 64), feature_plan_options(features, options)).total_bytes;
    EXPECT_EQ(tracked_memory().peak_bytes - before, targets + runtime);
  }
  EXPECT_EQ(tracked_memory().current_bytes, before);
}

}  // namespace
}  // namespace footprint
