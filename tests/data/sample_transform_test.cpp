// The one-pass resize/crop/mirror/normalise against a plain double-precision reference that
// resizes the whole image first, then crops, then mirrors: a different order of work, the same
// mathematics.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "data/sample_transform.hpp"
#include "footprint/image.hpp"

namespace footprint {
namespace {

Image random_image(int64_t w, int64_t h, int64_t c, uint32_t seed) {
  Image image{.width = w, .height = h, .channels = c};
  image.pixels.resize(static_cast<size_t>(w * h * c));
  std::mt19937 rng(seed);
  for (uint8_t& p : image.pixels) p = static_cast<uint8_t>(rng() & 0xff);
  return image;
}

// Weights of the triangle filter for a whole resized axis of `out` pixels from `in`.
std::vector<std::vector<double>> reference_weights(int64_t in, int64_t out) {
  const double scale = static_cast<double>(out) / static_cast<double>(in);
  const double radius = std::max(1.0, 1.0 / scale);
  std::vector<std::vector<double>> w(static_cast<size_t>(out), std::vector<double>(static_cast<size_t>(in)));
  for (int64_t i = 0; i < out; ++i) {
    const double at = (i + 0.5) / scale;
    double sum = 0;
    for (int64_t j = 0; j < in; ++j) {
      w[i][j] = std::max(0.0, 1.0 - std::abs((j + 0.5 - at) / radius));
      sum += w[i][j];
    }
    for (double& v : w[i]) v /= sum;
  }
  return w;
}

// Resize whole to rw x rh, take the window at (left, top), mirror, normalise.
std::vector<double> reference(const Image& image, int64_t rw, int64_t rh, int64_t left, int64_t top,
                              bool mirror, const Shape& input, const ImagePreprocess& pre) {
  const auto wx = reference_weights(image.width, rw), wy = reference_weights(image.height, rh);
  std::vector<double> out(static_cast<size_t>(input.n_elems()));
  for (int64_t c = 0; c < input.c; ++c) {
    for (int64_t y = 0; y < input.h; ++y) {
      for (int64_t x = 0; x < input.w; ++x) {
        const int64_t rx = left + (mirror ? input.w - 1 - x : x), ry = top + y;
        double v = 0;
        for (int64_t sy = 0; sy < image.height; ++sy) {
          if (wy[ry][sy] == 0) continue;
          for (int64_t sx = 0; sx < image.width; ++sx) {
            v += wy[ry][sy] * wx[rx][sx] *
                 image.pixels[static_cast<size_t>((sy * image.width + sx) * image.channels + c)];
          }
        }
        out[static_cast<size_t>((c * input.h + y) * input.w + x)] = (v / 255.0 - pre.mean[c]) / pre.std[c];
      }
    }
  }
  return out;
}

void expect_near_reference(const Image& image, const Shape& input, const SampleTransform& t,
                           uint64_t augment) {
  const SampleGeometry g = sample_geometry(image.width, image.height, input, t, augment);
  const int64_t rw = std::llround(g.scale_x * image.width), rh = std::llround(g.scale_y * image.height);
  std::vector<float> got(static_cast<size_t>(input.n_elems()));
  TransformScratch scratch;
  transform_image(image, input, g, t.normalise, got.data(), scratch);
  const auto want = reference(image, rw, rh, g.left, g.top, g.mirror, input, t.normalise);
  for (size_t i = 0; i < got.size(); ++i) {
    ASSERT_NEAR(got[i], want[i], 2e-4) << "element " << i << " of " << image.width << "x" << image.height
                                       << " -> " << input.str() << " window " << g.left << "," << g.top
                                       << (g.mirror ? " mirrored" : "");
  }
}

TEST(SampleTransform, SameSizeIsExact) {
  const Image image = random_image(7, 5, 3, 1);
  std::vector<float> got(3 * 5 * 7);
  TransformScratch scratch;
  const ImagePreprocess pre{.mean = {0.1f, 0.2f, 0.3f}, .std = {0.5f, 0.25f, 2.0f}};
  transform_image(image, Shape{3, 5, 7}, sample_geometry(7, 5, Shape{3, 5, 7}, {}, 0), pre, got.data(), scratch);
  // Each output is its one pixel (weight exactly 1), normalised: equal up to the rounding of
  // the normalisation's two float operations.
  for (int64_t c = 0; c < 3; ++c)
    for (int64_t i = 0; i < 35; ++i)
      EXPECT_NEAR(got[c * 35 + i], (image.pixels[i * 3 + c] / 255.0 - pre.mean[c]) / pre.std[c], 1e-6);
}

TEST(SampleTransform, ShrinkEnlargeCropAndMirrorMatchTheReference) {
  const ImagePreprocess pre{.mean = {0.4f, 0.5f, 0.6f}, .std = {0.2f, 0.3f, 0.25f}};
  struct Case {
    int64_t w, h, c;
    Shape input;
    SampleTransform t;
  };
  const Case cases[] = {
      {64, 48, 3, {3, 16, 16}, {.normalise = pre}},                                    // shrink, straight
      {9, 7, 1, {1, 20, 23}, {.normalise = pre}},                                      // enlarge
      {50, 30, 3, {3, 24, 24}, {.resize = 28, .normalise = pre}},                       // shorter side, centre
      {50, 30, 3, {3, 24, 24}, {.resize = 28, .random_crop = true, .random_mirror = true, .normalise = pre}},
      {13, 40, 1, {1, 10, 8}, {.resize = 12, .random_crop = true, .random_mirror = true, .normalise = pre}},
      {101, 3, 3, {3, 5, 5}, {.resize = 5, .random_crop = true, .normalise = pre}},    // extreme ratio
  };
  uint32_t seed = 10;
  for (const Case& k : cases) {
    const Image image = random_image(k.w, k.h, k.c, ++seed);
    expect_near_reference(image, k.input, k.t, 0);
    for (uint64_t augment : {3ull, 77ull, 12345ull, 999999ull}) expect_near_reference(image, k.input, k.t, augment);
  }
}

TEST(SampleTransform, MirrorReversesEveryRow) {
  const Image image = random_image(33, 21, 3, 5);
  const Shape input{3, 12, 15};
  const SampleTransform t{.random_mirror = true};
  // Find an augment that mirrors and one that does not; straight resizing has no crop to move.
  SampleGeometry plain = sample_geometry(33, 21, input, t, 0), mirrored = plain;
  for (uint64_t a = 1; !mirrored.mirror; ++a) mirrored = sample_geometry(33, 21, input, t, a);
  std::vector<float> p(static_cast<size_t>(input.n_elems())), m(p.size());
  TransformScratch scratch;
  transform_image(image, input, plain, t.normalise, p.data(), scratch);
  transform_image(image, input, mirrored, t.normalise, m.data(), scratch);
  for (int64_t row = 0; row < input.c * input.h; ++row)
    for (int64_t x = 0; x < input.w; ++x)
      EXPECT_FLOAT_EQ(m[row * input.w + x], p[row * input.w + input.w - 1 - x]);
}

TEST(SampleTransform, RandomPlacesCoverTheSpareRoomAndRepeatForAKey) {
  const Shape input{3, 24, 24};
  const SampleTransform t{.resize = 32, .random_crop = true, .random_mirror = true};
  std::vector<int> lefts(9, 0);
  int mirrors = 0;
  for (uint64_t a = 1; a <= 2000; ++a) {
    const SampleGeometry g = sample_geometry(40, 32, input, t, a);
    ASSERT_GE(g.left, 0);
    ASSERT_LE(g.left, 40 - 24);
    ASSERT_EQ(g.top, sample_geometry(40, 32, input, t, a).top);
    if (g.left <= 8) ++lefts[static_cast<size_t>(g.left)];
    mirrors += g.mirror;
  }
  for (int count : lefts) EXPECT_GT(count, 40);  // ~118 each of 17 places
  EXPECT_GT(mirrors, 900);
  EXPECT_LT(mirrors, 1100);
}

}  // namespace
}  // namespace footprint
