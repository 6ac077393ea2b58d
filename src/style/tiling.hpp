// Splitting an image into tiles whose features can be computed exactly. Every tile is a crop of
// the same size (so one planned runtime serves them all), starting at a multiple of the net's
// stride product so its pooling grid lines up with the whole image's; each crop *owns* a band of
// positions far enough from its cut edges that their receptive fields lie inside it. The owned
// bands partition the image, so sums over tiles (Gram matrices, losses, pixel gradients) equal
// the untiled sums up to float rounding.
#pragma once

#include <cstdint>
#include <vector>

#include "style/feature_net.hpp"

namespace footprint {

struct AxisTile {
  int64_t crop_begin = 0;   // first input position of the crop
  int64_t owned_begin = 0;  // owned input positions [owned_begin, owned_end)
  int64_t owned_end = 0;
};

// Crops of `crop` positions along an axis of `extent`. crop == extent gives one tile; otherwise
// (extent - crop) must be a multiple of reach.align. Throws PlanError when the crop is too small
// to own anything beyond its halo.
[[nodiscard]] std::vector<AxisTile> split_axis(int64_t extent, int64_t crop, const AxisReach& reach);

// The crop size nearest below `wanted` that split_axis accepts: extent - k * align, at most extent.
[[nodiscard]] int64_t valid_crop(int64_t extent, int64_t wanted, const AxisReach& reach);
// The smallest crop split_axis accepts for this extent (== extent when the image is small).
[[nodiscard]] int64_t smallest_crop(int64_t extent, const AxisReach& reach);

struct Tile {
  AxisTile y, x;
};
// Row-major product of the two axes' splits.
[[nodiscard]] std::vector<Tile> split_image(int64_t height, int64_t width, int64_t crop_h,
                                            int64_t crop_w, const FeatureNet& features);

// The tiles one rank of `ranks` works on when a job shares them: whole rows of tiles (tiles are
// row-major, per_row to a row) dealt out in contiguous bands, so each rank's owned positions
// are one band of the image. Indices [begin, end) into split_image's tiles; empty for a rank
// beyond the number of rows.
struct TileRange {
  size_t begin = 0, end = 0;
};
[[nodiscard]] TileRange rank_tiles(size_t tiles, size_t per_row, int ranks, int rank);

// A tap's owned feature positions inside the crop, as a rectangle in crop-local coordinates.
struct FeatureRect {
  int64_t y0 = 0, y1 = 0, x0 = 0, x1 = 0;
  [[nodiscard]] int64_t positions() const { return (y1 - y0) * (x1 - x0); }
};
// full_h, full_w: the tap's feature extent for the whole image.
[[nodiscard]] FeatureRect owned_rect(const Tile& tile, const FeatureTap& tap, int64_t height,
                                     int64_t width, int64_t full_h, int64_t full_w);

}  // namespace footprint
