#include "style/tiling.hpp"

#include <algorithm>

#include "footprint/error.hpp"

namespace footprint {
namespace {

int64_t floor_to(int64_t x, int64_t m) { return x / m * m; }

}  // namespace

std::vector<AxisTile> split_axis(int64_t extent, int64_t crop, const AxisReach& reach) {
  if (crop >= extent) return {{.crop_begin = 0, .owned_begin = 0, .owned_end = extent}};
  if ((extent - crop) % reach.align != 0) {
    throw PlanError("tile of " + std::to_string(crop) + " positions does not line up with " +
                    std::to_string(extent) + " (the difference must be a multiple of " +
                    std::to_string(reach.align) + ")");
  }
  std::vector<AxisTile> tiles;
  int64_t owned = 0;
  while (owned < extent) {
    // The latest aligned start that leaves the halo before the owned band, kept inside the image.
    const int64_t begin =
        std::min(floor_to(std::max<int64_t>(0, owned - reach.halo_before), reach.align),
                 extent - crop);
    const int64_t end = begin + crop == extent
                            ? extent
                            : floor_to(begin + crop - reach.halo_after, reach.align);
    if (end <= owned) {
      throw PlanError("tile of " + std::to_string(crop) + " positions is too small: its halo (" +
                      std::to_string(reach.halo_before) + " + " +
                      std::to_string(reach.halo_after) + ") leaves nothing to own");
    }
    tiles.push_back({.crop_begin = begin, .owned_begin = owned, .owned_end = end});
    owned = end;
  }
  return tiles;
}

int64_t valid_crop(int64_t extent, int64_t wanted, const AxisReach& reach) {
  if (wanted >= extent) return extent;
  const int64_t steps = (extent - wanted + reach.align - 1) / reach.align;
  return extent - steps * reach.align;
}

int64_t smallest_crop(int64_t extent, const AxisReach& reach) {
  // Owning one aligned band needs the halos plus one alignment step, each rounded to align.
  const int64_t need = floor_to(reach.halo_before + reach.align - 1, reach.align) + reach.align +
                       reach.halo_after + reach.align;
  int64_t crop = valid_crop(extent, need, reach);
  while (crop < extent) {
    try {
      (void)split_axis(extent, crop, reach);
      return crop;
    } catch (const PlanError&) {
      crop += reach.align;
    }
  }
  return extent;
}

std::vector<Tile> split_image(int64_t height, int64_t width, int64_t crop_h, int64_t crop_w,
                              const FeatureNet& features) {
  std::vector<Tile> tiles;
  for (const AxisTile& y : split_axis(height, crop_h, features.reach_h()))
    for (const AxisTile& x : split_axis(width, crop_w, features.reach_w())) tiles.push_back({y, x});
  return tiles;
}

TileRange rank_tiles(size_t tiles, size_t per_row, int ranks, int rank) {
  const size_t rows = per_row == 0 ? 0 : tiles / per_row;
  const auto n = static_cast<size_t>(std::max(1, ranks));
  const auto r = static_cast<size_t>(rank);
  return {.begin = rows * r / n * per_row, .end = rows * (r + 1) / n * per_row};
}

FeatureRect owned_rect(const Tile& tile, const FeatureTap& tap, int64_t height, int64_t width,
                       int64_t full_h, int64_t full_w) {
  // Owned bands start at multiples of align (a multiple of every jump); the band that reaches
  // the image's end owns every feature position to the end.
  auto band = [](const AxisTile& a, int64_t extent, int64_t jump, int64_t full) {
    const int64_t first = a.owned_begin / jump;
    const int64_t last = a.owned_end == extent ? full : a.owned_end / jump;
    return std::pair{first - a.crop_begin / jump, last - a.crop_begin / jump};
  };
  const auto [y0, y1] = band(tile.y, height, tap.jump_h, full_h);
  const auto [x0, x1] = band(tile.x, width, tap.jump_w, full_w);
  return {.y0 = y0, .y1 = y1, .x0 = x0, .x1 = x1};
}

}  // namespace footprint
