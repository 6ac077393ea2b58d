// stb's image writer (stbi_write_png and friends) for tests that need an image file made by
// other code than save_image. The library compiles its implementation (src/io/stb_implementation.cpp).
#pragma once

#include <stb/stb_image_write.h>

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <vector>

namespace footprint::testing {

// A w x h PNG of c channels whose pixels are a pattern drawn from base (different bases,
// different images).
inline void write_pattern_png(const std::filesystem::path& path, int w, int h, int c, uint8_t base) {
  std::vector<uint8_t> pixels(static_cast<size_t>(w * h * c));
  for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<uint8_t>(base + i * 13 % 97);
  ASSERT_TRUE(stbi_write_png(path.c_str(), w, h, c, pixels.data(), w * c));
}

// The same for an RGB JPEG of quality 90.
inline void write_pattern_jpeg(const std::filesystem::path& path, int w, int h, uint8_t base) {
  std::vector<uint8_t> pixels(static_cast<size_t>(w * h * 3));
  for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<uint8_t>(base + i * 7 % 61);
  ASSERT_TRUE(stbi_write_jpg(path.c_str(), w, h, 3, pixels.data(), 90));
}

}  // namespace footprint::testing
