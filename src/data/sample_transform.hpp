// One image to one net input: resize, crop, mirror and normalise in a single pass, straight from
// the decoded pixels ([H, W, C] bytes) to the input's [C, H, W] floats, with no resized copy of
// the image in between.
#pragma once

#include <cstdint>
#include <vector>

#include "footprint/data_source.hpp"
#include "footprint/image.hpp"
#include "footprint/shape.hpp"

namespace footprint {

// Where the net's H x W window lies in the resized image, and how the image is resized: the
// resized image is scale_x * width by scale_y * height; the window starts at (left, top) in it.
struct SampleGeometry {
  double scale_x = 1.0, scale_y = 1.0;
  int64_t left = 0, top = 0;
  bool mirror = false;
};

// The geometry `transform` gives `image` for a net input of `input`'s H x W. `augment` != 0 draws
// the random crop's place and the mirror from it (a hash of the run's seed, the epoch and the
// sample); 0 takes the centre and no mirror (evaluation).
[[nodiscard]] SampleGeometry sample_geometry(int64_t width, int64_t height, const Shape& input,
                                             const SampleTransform& transform, uint64_t augment);

// Writes image into dst ([input.c, input.h, input.w] floats) as `geometry` places it, each value
// (p / 255 - mean[c]) / std[c]. Resizing filters with a triangle (tent) as wide as the scale
// needs, so shrinking averages every source pixel rather than skipping most (PIL's bilinear
// resize, and torchvision's with antialias); enlarging reduces to bilinear interpolation at
// pixel centres. `scratch` is kept by the caller between calls, so a loader thread allocates
// only when an image is wider than any before.
struct TransformScratch {
  std::vector<float> row;        // one output row's vertical sums, across the source's width
  std::vector<float> weights;    // the filter taps of both axes
  std::vector<int64_t> first;    // per output row and column: its first source pixel
  std::vector<int64_t> count;    // and how many taps it has
};
void transform_image(const Image& image, const Shape& input, const SampleGeometry& geometry,
                     const ImagePreprocess& normalise, float* dst, TransformScratch& scratch);

// A bound on the bytes TransformScratch grows to for an image of this size and a net input.
[[nodiscard]] int64_t transform_scratch_bytes(int64_t width, int64_t height, int64_t channels,
                                              const Shape& input);

}  // namespace footprint
