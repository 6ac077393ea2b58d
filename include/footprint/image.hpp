// PNG images as net inputs (decoded by stb from Debian's libstb-dev; JPEG is refused: its
// decoder there has a memory-safety bug that fuzzing found). Dimensions are checked
// from the header before anything is decoded, so a decompression bomb is refused cheaply.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "footprint/shape.hpp"

namespace footprint {

inline constexpr int64_t kDefaultMaxImagePixels = int64_t{100} << 20;  // 100 megapixels

struct Image {
  int64_t width = 0, height = 0, channels = 0;  // channels: 1 (grey) or 3 (RGB)
  std::vector<uint8_t> pixels;                   // [height, width, channels], row-major
};

// Decodes to `channels` (1 or 3). IoError for a missing, unreadable or corrupt file, or one
// whose header declares more than max_pixels pixels.
[[nodiscard]] Image load_image(const std::string& path, int channels, int64_t max_pixels);

// How pixels become a net's input: resized to the net's H x W when they differ (bilinear), then
// (p / 255 - mean[c]) / std[c] per channel, written as [C, H, W] floats.
struct ImagePreprocess {
  std::array<float, 3> mean = {0.485f, 0.456f, 0.406f};  // ImageNet, as torchvision's models
  std::array<float, 3> std = {0.229f, 0.224f, 0.225f};
};
void image_to_input(const Image& image, const Shape& input, const ImagePreprocess& pre, float* dst);

}  // namespace footprint
