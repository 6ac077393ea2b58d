// Images as inputs: decoding (PNG, JPEG), saving, resizing, normalisation, and refusal of
// oversized headers and corrupt files.
#include "testing/png_writer.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>

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

// Found by fuzz_image when stb decoded JPEG: a DHT segment with more than 256 codes made it write
// past its Huffman table. libjpeg-turbo refuses it cleanly.
TEST(Image, JpegWithOverfullHuffmanTableIsAnIoError) {
  EXPECT_THROW((void)load_image("fuzz/corpus/image/regression-jpeg-dht-overflow", 3,
                                kDefaultMaxImagePixels),
               IoError);
}

std::vector<unsigned char> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_bytes(const std::string& path, const std::vector<unsigned char>& bytes) {
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()),
                                              static_cast<std::streamsize>(bytes.size()));
}

// A smooth gradient: what JPEG compresses with small errors.
Image gradient(int64_t width, int64_t height, int64_t channels) {
  Image image{.width = width, .height = height, .channels = channels};
  for (int64_t y = 0; y < height; ++y) {
    for (int64_t x = 0; x < width; ++x) {
      for (int64_t c = 0; c < channels; ++c) {
        image.pixels.push_back(static_cast<uint8_t>((x * 200 / width + y * 50 / height + c * 20) % 256));
      }
    }
  }
  return image;
}

double mean_abs_error(const Image& a, const Image& b) {
  EXPECT_EQ(a.pixels.size(), b.pixels.size());
  double sum = 0;
  for (size_t i = 0; i < a.pixels.size() && i < b.pixels.size(); ++i) sum += std::abs(a.pixels[i] - b.pixels[i]);
  return sum / static_cast<double>(a.pixels.size());
}

TEST(Image, JpegRoundTripIsClose) {
  const Image saved = gradient(64, 48, 3);
  const std::string path = temp_file("gradient.jpg");
  save_image(path, saved);
  const std::vector<unsigned char> bytes = read_bytes(path);
  ASSERT_GE(bytes.size(), 3u);
  EXPECT_EQ(bytes[0], 0xff);  // a JPEG, from the extension alone
  EXPECT_EQ(bytes[1], 0xd8);
  const Image loaded = load_image(path, 3, kDefaultMaxImagePixels);
  EXPECT_EQ(loaded.width, 64);
  EXPECT_EQ(loaded.height, 48);
  EXPECT_EQ(loaded.channels, 3);
  EXPECT_LT(mean_abs_error(saved, loaded), 3.0);
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
}

TEST(Image, PngRoundTripIsExact) {
  for (int64_t channels : {1, 3}) {
    const Image saved = gradient(13, 7, channels);
    const std::string path = temp_file("exact.png");
    save_image(path, saved);
    const Image loaded = load_image(path, static_cast<int>(channels), kDefaultMaxImagePixels);
    EXPECT_EQ(loaded.width, 13);
    EXPECT_EQ(loaded.height, 7);
    EXPECT_EQ(loaded.pixels, saved.pixels) << channels << " channels";
  }
}

TEST(Image, GreyJpegLoadsAsGreyOrRgb) {
  const Image saved = gradient(32, 16, 1);
  const std::string path = temp_file("grey.JPEG");  // the extension in any case
  save_image(path, saved);
  EXPECT_EQ(read_bytes(path).at(0), 0xff);
  const Image grey = load_image(path, 1, kDefaultMaxImagePixels);
  EXPECT_EQ(grey.channels, 1);
  EXPECT_LT(mean_abs_error(saved, grey), 3.0);
  const Image rgb = load_image(path, 3, kDefaultMaxImagePixels);
  ASSERT_EQ(rgb.pixels.size(), 32u * 16 * 3);
  for (size_t i = 0; i < grey.pixels.size(); ++i) {
    EXPECT_EQ(rgb.pixels[3 * i], grey.pixels[i]);
    EXPECT_EQ(rgb.pixels[3 * i + 2], grey.pixels[i]);
  }
}

// The fuzz seeds were made by libjpeg-turbo's encoder: 4:2:0 with restart markers, progressive,
// arithmetic coded, greyscale. The progressive one keeps every coefficient in memory, so it also
// checks that the memory cap is not tighter than max_pixels: here exactly the image's pixels.
TEST(Image, JpegVariantsDecode) {
  const struct {
    const char* name;
    int64_t width, height;
  } seeds[] = {{"baseline_420_restart_24x16.jpg", 24, 16}, {"progressive_24x16.jpg", 24, 16},
               {"arithmetic_16x16.jpg", 16, 16}, {"grey_16x8.jpg", 16, 8}};
  for (const auto& seed : seeds) {
    const std::string path = std::string("fuzz/corpus/image/") + seed.name;
    const Image image = load_image(path, 3, seed.width * seed.height);
    EXPECT_EQ(image.width, seed.width) << path;
    EXPECT_EQ(image.height, seed.height) << path;
    EXPECT_EQ(image.pixels.size(), static_cast<size_t>(seed.width * seed.height * 3)) << path;
  }
  // The same picture, progressive or not, decodes to nearly the same pixels.
  const Image baseline = load_image("fuzz/corpus/image/baseline_420_restart_24x16.jpg", 3, 1 << 20);
  const Image progressive = load_image("fuzz/corpus/image/progressive_24x16.jpg", 3, 1 << 20);
  EXPECT_LT(mean_abs_error(baseline, progressive), 8.0);
}

TEST(Image, CmykJpegIsRefused) {
  try {
    (void)load_image("fuzz/corpus/image/cmyk_8x8.jpg", 3, kDefaultMaxImagePixels);
    FAIL() << "no error";
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("a CMYK JPEG"), std::string::npos) << e.what();
  }
}

TEST(Image, TruncatedAndCorruptJpegsAreIoErrors) {
  const std::string whole = temp_file("whole.jpg");
  save_image(whole, gradient(40, 40, 3));
  const std::vector<unsigned char> bytes = read_bytes(whole);
  const std::string path = temp_file("cut.jpg");
  write_bytes(path, std::vector<unsigned char>(bytes.begin(), bytes.begin() + bytes.size() / 2));
  try {
    (void)load_image(path, 3, kDefaultMaxImagePixels);
    FAIL() << "no error";
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find(path + ": cannot decode the JPEG image (Premature end of JPEG "
                                          "file) (truncated file?)"),
              std::string::npos)
        << e.what();
  }
  // Prefixes of a smaller one (each of the last 64, where the pixel data ends, and every 8th
  // before): a clean error or, with all the pixels there, the image; never a crash.
  save_image(whole, gradient(16, 8, 3));
  const std::vector<unsigned char> small = read_bytes(whole);
  for (size_t n_bytes = 0; n_bytes < small.size(); ++n_bytes) {
    if (n_bytes + 64 < small.size() && n_bytes % 8 != 0) continue;
    write_bytes(path, std::vector<unsigned char>(small.begin(), small.begin() + n_bytes));
    try {
      EXPECT_EQ(load_image(path, 3, kDefaultMaxImagePixels).width, 16) << n_bytes << " bytes";
    } catch (const IoError&) {
    }
  }
  // Garbage after the SOI marker.
  write_bytes(path, {0xff, 0xd8, 0xff, 0x00, 'n', 'o', 't', ' ', 'a', ' ', 'j', 'p', 'e', 'g'});
  EXPECT_THROW((void)load_image(path, 3, kDefaultMaxImagePixels), IoError);
}

TEST(Image, OversizedJpegHeaderIsRefusedBeforeDecoding) {
  const std::string path = temp_file("bomb.jpg");
  save_image(path, gradient(16, 16, 3));
  std::vector<unsigned char> bytes = read_bytes(path);
  // SOF0: FF C0, length (2), precision (1), height (2), width (2). stb writes it before any
  // entropy-coded data, so the first FF C0 is the marker.
  size_t sof = 0;
  while (sof + 9 < bytes.size() && !(bytes[sof] == 0xff && bytes[sof + 1] == 0xc0)) ++sof;
  ASSERT_LT(sof + 9, bytes.size());
  for (size_t at : {sof + 5, sof + 7}) bytes[at] = 60000 >> 8, bytes[at + 1] = 60000 & 0xff;
  write_bytes(path, bytes);
  try {
    (void)load_image(path, 3, kDefaultMaxImagePixels);
    FAIL() << "no error";
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find(path + ": 60000x60000 = 3600000000 pixels, more than the limit "
                                          "of 104857600"),
              std::string::npos)
        << e.what();
  }
}

TEST(Image, SaveIntoMissingDirectoryThrowsAndLeavesNoTmp) {
  const std::string path = temp_file("no/such/dir/x.png");
  try {
    save_image(path, gradient(4, 4, 3));
    FAIL() << "no error";
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("saving image " + path + ": cannot create " + path +
                                         ".tmp: No such file or directory"),
              std::string::npos)
        << e.what();
  }
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
}

// The rename fails (a directory is in the way) after NAME.tmp was written: NAME.tmp is removed.
TEST(Image, FailedRenameRemovesTheTmpFile) {
  const std::string path = temp_file("in_the_way.jpg");
  std::filesystem::create_directories(std::filesystem::path(path) / "child");
  EXPECT_THROW(save_image(path, gradient(4, 4, 3)), IoError);
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
  EXPECT_TRUE(std::filesystem::is_directory(path));
}

TEST(Image, SaveReplacesAnExistingFile) {
  const std::string path = temp_file("replaced.png");
  std::ofstream(path) << "an older file";
  const Image image = gradient(5, 3, 3);
  save_image(path, image);
  EXPECT_EQ(load_image(path, 3, kDefaultMaxImagePixels).pixels, image.pixels);
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
}

TEST(Image, ImagesThatCannotBeSavedAreIoErrors) {
  Image short_pixels = gradient(4, 4, 3);
  short_pixels.pixels.pop_back();
  EXPECT_THROW(save_image(temp_file("short.png"), short_pixels), IoError);
  EXPECT_THROW(save_image(temp_file("two.png"), gradient(4, 4, 2)), IoError);
  EXPECT_THROW(save_image(temp_file("wide.jpg"), gradient(70000, 1, 1)), IoError);  // JPEG: 65535 a side
  EXPECT_FALSE(std::filesystem::exists(temp_file("short.png")));
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
