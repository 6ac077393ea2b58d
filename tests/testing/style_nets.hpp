// What the style-transfer tests run on: a narrow VGG (VGG-19's five blocks, pooling and
// receptive field, few channels, so few FLOPs) and generated images.
#pragma once

#include <cmath>
#include <cstdint>

#include "footprint/image.hpp"
#include "footprint/net.hpp"

namespace footprint::testing {

// Five VGG blocks (relu1_1 .. relu5_1, conv4_2), narrow.
inline Net tiny_vgg() {
  Net net{Shape{3, 64, 64}};
  const int widths[] = {4, 6, 8, 8, 8};
  const int convs[] = {2, 2, 2, 2, 1};
  for (int b = 0; b < 5; ++b) {
    for (int i = 0; i < convs[b]; ++i) net << conv(widths[b], {.k = 3, .pad = 1}) << relu();
    if (b < 4) net << maxpool(2);
  }
  return net;
}

// kind 0: smooth waves (a content image); otherwise a checkerboard (a style image).
inline Image pattern(int64_t h, int64_t w, int kind) {
  Image image{.width = w, .height = h, .channels = 3};
  image.pixels.resize(static_cast<size_t>(h * w * 3));
  for (int64_t y = 0; y < h; ++y)
    for (int64_t x = 0; x < w; ++x)
      for (int c = 0; c < 3; ++c) {
        const double v = kind == 0 ? 127 + 120 * std::sin(0.2 * x + c) * std::cos(0.15 * y)
                                   : ((x / 6 + y / 6 + c) % 2) * 255.0;
        image.pixels[static_cast<size_t>((y * w + x) * 3 + c)] = static_cast<uint8_t>(v);
      }
  return image;
}

}  // namespace footprint::testing
