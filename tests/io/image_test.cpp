// Images as inputs: decoding, resizing, normalisation, and refusal of oversized headers.
#include "testing/png_writer.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "footprint/footprint.hpp"

namespace footprint {
namespace {

std::string temp_file(const std::string& name) {
  const auto dir = std::filesystem::temp_directory_path() / ("footprint_image_test_" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  return (dir / name).string();
}

TEST(Image, PngRoundTripAndNormalisation) {
  const int w = 5, h = 4;
  std::vector<uint8_t> rgb(w * h * 3);
  for (size_t i = 0; i < rgb.size(); ++i) rgb[i] = static_cast<uint8_t>(i * 7);
  const std::string path = temp_file("small.png");
  ASSERT_TRUE(stbi_write_png(path.c_str(), w, h, 3, rgb.data(), w * 3));
  const Image image = load_image(path, 3, kDefaultMaxImagePixels);
  EXPECT_EQ(image.width, w);
  EXPECT_EQ(image.height, h);
  EXPECT_EQ(image.pixels, rgb);
  std::vector<float> input(3 * h * w);
  image_to_input(image, Shape{3, h, w}, {.mean = {0, 0, 0}, .std = {1, 1, 1}}, input.data());
  // [C, H, W] from [H, W, C]: channel 1 of pixel (row 2, column 3).
  EXPECT_FLOAT_EQ(input[1 * h * w + 2 * w + 3], rgb[(2 * w + 3) * 3 + 1] / 255.0f);
  std::vector<float> resized(3 * 8 * 10);
  image_to_input(image, Shape{3, 8, 10}, {}, resized.data());
  for (float v : resized) EXPECT_TRUE(v > -2.2f && v < 2.7f) << v;  // ImageNet-normalised range
}

TEST(Image, OversizedHeaderIsRefusedBeforeDecoding) {
  // A PNG signature and an IHDR chunk declaring 15000 x 15000 pixels, and nothing else.
  const unsigned char header[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n',  // signature
                                  0, 0, 0, 13, 'I', 'H', 'D', 'R',              // IHDR, 13 bytes
                                  0, 0, 0x3a, 0x98, 0, 0, 0x3a, 0x98,          // 15000 x 15000
                                  8, 2, 0, 0, 0,                                // 8-bit RGB
                                  0, 0, 0, 0};                                  // CRC (unchecked)
  const std::string path = temp_file("bomb.png");
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(header), sizeof header);
  try {
    (void)load_image(path, 3, kDefaultMaxImagePixels);
    FAIL() << "no error";
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("15000x15000 = 225000000 pixels, more than the limit of 104857600"),
              std::string::npos) << e.what();
  }
}

// Found by fuzz/fuzz_image: a PPM header with no size once reached the resizer.
TEST(Image, FuzzerFindingsAreCleanErrors) {
  const std::string path = temp_file("ppm");
  std::ofstream(path, std::ios::binary).write("P6\0\0\0\0", 6);
  EXPECT_THROW((void)load_image(path, 3, kDefaultMaxImagePixels), IoError);
}

// Found by fuzz_image: a tiny PNG whose chunk length claims gigabytes made stb allocate them.
TEST(Image, PngChunkLongerThanTheFileIsRefused) {
  const unsigned char png[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R',
                               0, 0, 0, 4, 0, 0, 0, 3, 8, 2, 0, 0, 0, 0x3b, 0x96, 0x39, 0x91,
                               0x7f, 0xff, 0xff, 0xff, 'I', 'D', 'A', 'T', 0x78, 0x9c};
  const std::string path = temp_file("liar.png");
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(png), sizeof png);
  try {
    (void)load_image(path, 3, kDefaultMaxImagePixels);
    FAIL() << "no error";
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("PNG chunk 'IDAT' claims 2147483647 bytes"), std::string::npos)
        << e.what();
  }
}

// Found by fuzz_image: stb's JPEG decoder wrote past its Huffman table; JPEG is not read.
TEST(Image, JpegIsRefused) {
  EXPECT_THROW((void)load_image("fuzz/corpus/image/regression-jpeg-dht-overflow", 3,
                                kDefaultMaxImagePixels),
               IoError);
}

TEST(Image, ExtremeSizeRatiosResize) {
  for (const auto& [w, h] : {std::pair{1, 4000}, {4000, 1}, {1, 1}}) {
    Image image{.width = w, .height = h, .channels = 3};
    image.pixels.assign(static_cast<size_t>(w) * h * 3, 200);
    std::vector<float> input(3 * 16 * 16);
    image_to_input(image, Shape{3, 16, 16}, {.mean = {0, 0, 0}, .std = {1, 1, 1}}, input.data());
    for (float v : input) EXPECT_NEAR(v, 200.0f / 255.0f, 1e-6f);  // a flat image stays flat
  }
}

TEST(Image, GarbageAndMissingFilesAreIoErrors) {
  const std::string path = temp_file("garbage.png");
  std::ofstream(path) << "not an image at all";
  EXPECT_THROW((void)load_image(path, 3, kDefaultMaxImagePixels), IoError);
  EXPECT_THROW((void)load_image(temp_file("missing.png"), 3, kDefaultMaxImagePixels), IoError);
}

}  // namespace
}  // namespace footprint
