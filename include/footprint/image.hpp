// PNG and JPEG images as net inputs, and saved as files. PNG is decoded by stb (Debian's
// libstb-dev), JPEG by libjpeg-turbo (stb's JPEG decoder there has a memory-safety bug that
// fuzzing found); both are written by stb_image_write. Dimensions are checked from the header
// before anything is decoded, so a decompression bomb is refused cheaply.
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

// Decodes a PNG or JPEG (told apart by their first bytes, whatever the file's name) to
// `channels` (1 or 3). IoError for a missing, unreadable, truncated or corrupt file, a CMYK JPEG,
// or one whose header declares more than max_pixels pixels.
[[nodiscard]] Image load_image(const std::string& path, int channels, int64_t max_pixels);

// An image's size from its header (the first few kilobytes), and the file's size in bytes.
// IoError for a file that is not a PNG or JPEG or whose header is cut short or broken.
struct ImageSize {
  int64_t width = 0, height = 0, file_bytes = 0;
};
[[nodiscard]] ImageSize read_image_size(const std::string& path);

// Writes a PNG, or a JPEG (quality 95) when the path ends in .jpg or .jpeg (any case). Atomic:
// NAME.tmp is written, flushed to the disk and renamed over NAME, so a failed save leaves the old
// file. IoError naming the path for an image that cannot be written or a failed write.
void save_image(const std::string& path, const Image& image);

// How pixels become a net's input: resized to the net's H x W when they differ (a triangle filter:
// bilinear when enlarging, averaging every pixel when shrinking, as PIL does), then
// (p / 255 - mean[c]) / std[c] per channel, written as [C, H, W] floats.
struct ImagePreprocess {
  std::array<float, 3> mean = {0.485f, 0.456f, 0.406f};  // ImageNet, as torchvision's models
  std::array<float, 3> std = {0.229f, 0.224f, 0.225f};
};
void image_to_input(const Image& image, const Shape& input, const ImagePreprocess& pre, float* dst);

}  // namespace footprint
