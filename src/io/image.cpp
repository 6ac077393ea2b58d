// Image loading and preprocessing; stb does the decoding and the resizing.
#include "footprint/image.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iterator>

#include <stb/stb_image.h>

#include "footprint/error.hpp"

namespace footprint {

namespace {

std::vector<unsigned char> read_all(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) throw IoError(path + ": cannot open the image");
  std::vector<unsigned char> bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  if (bytes.size() > (size_t{1} << 30)) throw IoError(path + ": more than 1 GiB; not an image we read");
  return bytes;
}

// stb sizes its buffers from PNG chunk lengths before reading them, so a 100-byte file whose
// IDAT claims 2 GiB would allocate 2 GiB (found by fuzz_image). Every chunk must fit in the file.
void check_png_chunks(const std::string& path, const std::vector<unsigned char>& bytes) {
  static const unsigned char kSignature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  if (bytes.size() < 8 || !std::equal(kSignature, kSignature + 8, bytes.begin())) return;  // not PNG
  size_t at = 8;
  while (at + 8 <= bytes.size()) {
    const uint64_t length = (uint64_t{bytes[at]} << 24) | (uint64_t{bytes[at + 1]} << 16) |
                            (uint64_t{bytes[at + 2]} << 8) | bytes[at + 3];
    const std::string type(bytes.begin() + static_cast<std::ptrdiff_t>(at + 4),
                           bytes.begin() + static_cast<std::ptrdiff_t>(at + 8));
    if (at + 12 + length > bytes.size()) {
      throw IoError(path + ": PNG chunk '" + type + "' claims " + std::to_string(length) +
                    " bytes, the file has " + std::to_string(bytes.size() - at - 8) +
                    " left (truncated or corrupt file?)");
    }
    if (type == "IEND") return;
    at += 12 + length;
  }
}

}  // namespace

Image load_image(const std::string& path, int channels, int64_t max_pixels) {
  const std::vector<unsigned char> bytes = read_all(path);
  check_png_chunks(path, bytes);
  const int n_bytes = static_cast<int>(bytes.size());
  int width = 0, height = 0, stored_channels = 0;
  // The header alone: a 100000 x 100000 PNG is refused before it is inflated.
  if (!stbi_info_from_memory(bytes.data(), n_bytes, &width, &height, &stored_channels)) {
    throw IoError(path + ": not a readable PNG image (" + std::string(stbi_failure_reason()) +
                  "); JPEG is not read: Debian's stb decoder has a memory-safety bug");
  }
  if (width < 1 || height < 1) {
    throw IoError(path + ": the image is " + std::to_string(width) + "x" + std::to_string(height) +
                  " pixels; expected at least 1x1");
  }
  const int64_t pixels = int64_t{width} * height;
  if (pixels > max_pixels) {
    throw IoError(path + ": " + std::to_string(width) + "x" + std::to_string(height) + " = " +
                  std::to_string(pixels) + " pixels, more than the limit of " +
                  std::to_string(max_pixels) + " (--max-pixels raises it)");
  }
  int w = 0, h = 0, n = 0;
  stbi_uc* data = stbi_load_from_memory(bytes.data(), n_bytes, &w, &h, &n, channels);
  if (data == nullptr) {
    throw IoError(path + ": cannot decode the image (" + stbi_failure_reason() + ")");
  }
  Image image{.width = w, .height = h, .channels = channels};
  image.pixels.assign(data, data + int64_t{w} * h * channels);
  stbi_image_free(data);
  return image;
}

namespace {

// Bilinear resampling at pixel centres (what torchvision's resize does without antialiasing).
// Written here rather than taken from stb_image_resize, whose filter arithmetic overflows on
// extreme size ratios (a fuzzer finding).
Image resize_bilinear(const Image& in, int64_t out_w, int64_t out_h) {
  Image out{.width = out_w, .height = out_h, .channels = in.channels};
  out.pixels.resize(out_w * out_h * in.channels);
  auto source = [](int64_t i, int64_t in_size, int64_t out_size, int64_t& i0, int64_t& i1, float& t) {
    const double s = std::clamp((i + 0.5) * static_cast<double>(in_size) / static_cast<double>(out_size) - 0.5,
                                0.0, static_cast<double>(in_size - 1));
    i0 = static_cast<int64_t>(s);
    i1 = std::min(i0 + 1, in_size - 1);
    t = static_cast<float>(s - static_cast<double>(i0));
  };
  for (int64_t y = 0; y < out_h; ++y) {
    int64_t y0, y1;
    float ty;
    source(y, in.height, out_h, y0, y1, ty);
    for (int64_t x = 0; x < out_w; ++x) {
      int64_t x0, x1;
      float tx;
      source(x, in.width, out_w, x0, x1, tx);
      for (int64_t c = 0; c < in.channels; ++c) {
        auto at = [&](int64_t yy, int64_t xx) {
          return static_cast<float>(in.pixels[(yy * in.width + xx) * in.channels + c]);
        };
        const float top = at(y0, x0) + (at(y0, x1) - at(y0, x0)) * tx;
        const float bottom = at(y1, x0) + (at(y1, x1) - at(y1, x0)) * tx;
        out.pixels[(y * out_w + x) * in.channels + c] =
            static_cast<uint8_t>(std::lround(std::clamp(top + (bottom - top) * ty, 0.0f, 255.0f)));
      }
    }
  }
  return out;
}

}  // namespace

void image_to_input(const Image& image, const Shape& input, const ImagePreprocess& pre, float* dst) {
  const Image* source = &image;
  Image resized;
  if (image.width != input.w || image.height != input.h) {
    resized = resize_bilinear(image, input.w, input.h);
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
