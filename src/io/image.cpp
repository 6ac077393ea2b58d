// Image loading and preprocessing; stb does the decoding and the resizing.
#include "footprint/image.hpp"

#include <stb/stb_image.h>
#include <stb/stb_image_resize.h>

#include "footprint/error.hpp"

namespace footprint {

Image load_image(const std::string& path, int channels, int64_t max_pixels) {
  int width = 0, height = 0, stored_channels = 0;
  // The header alone: a 100000 x 100000 PNG is refused before it is inflated.
  if (!stbi_info(path.c_str(), &width, &height, &stored_channels)) {
    throw IoError(path + ": not a readable PNG or JPEG image (" + stbi_failure_reason() + ")");
  }
  const int64_t pixels = int64_t{width} * height;
  if (pixels > max_pixels) {
    throw IoError(path + ": " + std::to_string(width) + "x" + std::to_string(height) + " = " +
                  std::to_string(pixels) + " pixels, more than the limit of " +
                  std::to_string(max_pixels) + " (--max-pixels raises it)");
  }
  int w = 0, h = 0, n = 0;
  stbi_uc* data = stbi_load(path.c_str(), &w, &h, &n, channels);
  if (data == nullptr) {
    throw IoError(path + ": cannot decode the image (" + stbi_failure_reason() + ")");
  }
  Image image{.width = w, .height = h, .channels = channels};
  image.pixels.assign(data, data + int64_t{w} * h * channels);
  stbi_image_free(data);
  return image;
}

void image_to_input(const Image& image, const Shape& input, const ImagePreprocess& pre, float* dst) {
  const Image* source = &image;
  Image resized;
  if (image.width != input.w || image.height != input.h) {
    resized = {.width = input.w, .height = input.h, .channels = image.channels};
    resized.pixels.resize(input.w * input.h * image.channels);
    if (!stbir_resize_uint8(image.pixels.data(), static_cast<int>(image.width),
                            static_cast<int>(image.height), 0, resized.pixels.data(),
                            static_cast<int>(input.w), static_cast<int>(input.h), 0,
                            static_cast<int>(image.channels))) {
      throw IoError("cannot resize the image to " + std::to_string(input.w) + "x" +
                    std::to_string(input.h));
    }
    source = &resized;
  }
  const int64_t plane = input.h * input.w;
  for (int64_t c = 0; c < input.c; ++c) {
    const float scale = 1.0f / (255.0f * pre.std[c % 3]), shift = pre.mean[c % 3] / pre.std[c % 3];
    for (int64_t i = 0; i < plane; ++i) {
      dst[c * plane + i] = source->pixels[i * source->channels + c] * scale - shift;
    }
  }
}

}  // namespace footprint
