// Resize, crop, mirror and normalise as one separable filter: per output row, the source rows
// under its filter are summed into one row of floats, then per output column the taps of that
// row are summed. Each source pixel is read once per output row whose filter covers it, and no
// resized image is ever stored.
#include "data/sample_transform.hpp"

#include <algorithm>
#include <array>
#include <cmath>

#include "core/check.hpp"
#include "core/rng.hpp"

namespace footprint {
namespace {

// A triangle filter as wide as the resampling needs: radius 1 source pixel when enlarging
// (bilinear), 1 / scale when shrinking, so every source pixel contributes.
double filter_radius(double scale) { return std::max(1.0, 1.0 / scale); }

int64_t max_taps(double scale) { return 2 * static_cast<int64_t>(std::ceil(filter_radius(scale))) + 2; }

// Taps of output positions [0, out) along one axis, appended to `weights`, with their first
// source index and count. Output i sits at resized coordinate offset + i + 0.5 (mirrored:
// offset + out - i - 0.5), which is source coordinate that / scale, in units where pixel j spans
// [j, j + 1). The weights of one output sum to 1.
void axis_taps(int64_t in, int64_t out, double scale, int64_t offset, bool mirror,
               std::vector<float>& weights, int64_t* first, int64_t* count) {
  const double radius = filter_radius(scale);
  for (int64_t i = 0; i < out; ++i) {
    const double at = (static_cast<double>(offset) + (mirror ? out - i - 0.5 : i + 0.5)) / scale;
    const int64_t lo = std::clamp<int64_t>(static_cast<int64_t>(std::floor(at - radius)), 0, in - 1);
    const int64_t hi = std::clamp<int64_t>(static_cast<int64_t>(std::ceil(at + radius)), 0, in - 1);
    const size_t start = weights.size();
    int64_t begin = -1;
    double sum = 0.0;
    for (int64_t j = lo; j <= hi; ++j) {
      const double w = std::max(0.0, 1.0 - std::abs((j + 0.5 - at) / radius));
      if (w <= 0.0 && begin < 0) continue;  // leading zero taps
      if (begin < 0) begin = j;
      weights.push_back(static_cast<float>(w));
      sum += w;
    }
    while (weights.size() > start && weights.back() == 0.0f) weights.pop_back();  // trailing
    if (sum <= 0.0) {  // beyond the edge by rounding: the nearest pixel
      weights.resize(start);
      weights.push_back(1.0f);
      begin = std::clamp<int64_t>(static_cast<int64_t>(at), 0, in - 1);
      sum = 1.0;
    }
    for (size_t k = start; k < weights.size(); ++k) weights[k] = static_cast<float>(weights[k] / sum);
    first[i] = begin;
    count[i] = static_cast<int64_t>(weights.size() - start);
  }
}

}  // namespace

SampleGeometry sample_geometry(int64_t width, int64_t height, const Shape& input,
                               const SampleTransform& transform, uint64_t augment) {
  FP_CHECK(width > 0 && height > 0, "an image of %lldx%lld", static_cast<long long>(width),
           static_cast<long long>(height));
  SampleGeometry g;
  int64_t resized_w = input.w, resized_h = input.h;
  if (transform.resize > 0) {
    // The shorter side to `resize`, the other in proportion, never smaller than the window.
    const double s = static_cast<double>(transform.resize) / static_cast<double>(std::min(width, height));
    resized_w = std::max<int64_t>(input.w, std::llround(static_cast<double>(width) * s));
    resized_h = std::max<int64_t>(input.h, std::llround(static_cast<double>(height) * s));
  }
  g.scale_x = static_cast<double>(resized_w) / static_cast<double>(width);
  g.scale_y = static_cast<double>(resized_h) / static_cast<double>(height);
  const int64_t spare_x = resized_w - input.w, spare_y = resized_h - input.h;
  if (augment != 0 && transform.random_crop) {
    g.left = static_cast<int64_t>(mix64(augment ^ 0x1) % static_cast<uint64_t>(spare_x + 1));
    g.top = static_cast<int64_t>(mix64(augment ^ 0x2) % static_cast<uint64_t>(spare_y + 1));
  } else {
    g.left = (spare_x + 1) / 2;
    g.top = (spare_y + 1) / 2;
  }
  g.mirror = augment != 0 && transform.random_mirror && (mix64(augment ^ 0x3) & 1) != 0;
  return g;
}

void transform_image(const Image& image, const Shape& input, const SampleGeometry& geometry,
                     const ImagePreprocess& normalise, float* dst, TransformScratch& scratch) {
  const int64_t in_w = image.width, in_h = image.height, ch = image.channels;
  const int64_t out_w = input.w, out_h = input.h;
  FP_CHECK(ch == input.c, "an image of %lld channels for an input of %lld", static_cast<long long>(ch),
           static_cast<long long>(input.c));
  scratch.weights.clear();
  scratch.first.resize(static_cast<size_t>(out_w + out_h));
  scratch.count.resize(static_cast<size_t>(out_w + out_h));
  axis_taps(in_w, out_w, geometry.scale_x, geometry.left, geometry.mirror, scratch.weights,
            scratch.first.data(), scratch.count.data());
  const size_t rows_start = scratch.weights.size();
  axis_taps(in_h, out_h, geometry.scale_y, geometry.top, /*mirror=*/false, scratch.weights,
            scratch.first.data() + out_w, scratch.count.data() + out_w);
  scratch.row.resize(static_cast<size_t>(in_w * ch));

  // The columns' taps, to walk them per output column.
  const int64_t* col_first = scratch.first.data();
  const int64_t* col_count = scratch.count.data();
  const int64_t* row_first = scratch.first.data() + out_w;
  const int64_t* row_count = scratch.count.data() + out_w;
  // Source columns any output column reads: the vertical sums are needed only there.
  const int64_t x_lo = *std::min_element(col_first, col_first + out_w);
  int64_t x_hi = 0;
  for (int64_t x = 0; x < out_w; ++x) x_hi = std::max(x_hi, col_first[x] + col_count[x]);

  std::array<float, 3> scale{}, shift{};
  for (int64_t c = 0; c < input.c; ++c) {
    scale[c % 3] = 1.0f / (255.0f * normalise.std[c % 3]);
    shift[c % 3] = normalise.mean[c % 3] / normalise.std[c % 3];
  }
  const int64_t plane = out_h * out_w;
  const float* row_weights = scratch.weights.data() + rows_start;
  float* sums = scratch.row.data();
  for (int64_t y = 0; y < out_h; ++y) {
    const float* wy = row_weights;
    row_weights += row_count[y];
    // Vertical: the source rows under this output row, weighted, over the columns needed.
    std::fill(sums + x_lo * ch, sums + x_hi * ch, 0.0f);
    for (int64_t t = 0; t < row_count[y]; ++t) {
      const uint8_t* src = image.pixels.data() + (row_first[y] + t) * in_w * ch;
      const float w = wy[t];
      for (int64_t k = x_lo * ch; k < x_hi * ch; ++k) sums[k] += w * static_cast<float>(src[k]);
    }
    // Horizontal: each output column's taps of the summed row.
    const float* wx = scratch.weights.data();
    for (int64_t x = 0; x < out_w; ++x) {
      const float* s = sums + col_first[x] * ch;
      for (int64_t c = 0; c < input.c; ++c) {
        float v = 0.0f;
        for (int64_t t = 0; t < col_count[x]; ++t) v += wx[t] * s[t * ch + c];
        dst[c * plane + y * out_w + x] = v * scale[c % 3] - shift[c % 3];
      }
      wx += col_count[x];
    }
  }
}

int64_t transform_scratch_bytes(int64_t width, int64_t height, int64_t channels, const Shape& input) {
  const int64_t taps = input.w * max_taps(static_cast<double>(input.w) / static_cast<double>(width)) +
                       input.h * max_taps(static_cast<double>(input.h) / static_cast<double>(height));
  return width * channels * 4 + taps * 4 + (input.w + input.h) * 16;
}

}  // namespace footprint
