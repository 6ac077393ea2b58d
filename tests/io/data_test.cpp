// Data sets: IDX loading (plain and gzipped, and every way a file can be wrong), synthetic data,
// and fill_batch's normalisation and targets. Small IDX files are written to a temp dir per test.
#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "footprint/data.hpp"
#include "footprint/error.hpp"

namespace footprint {
namespace {

namespace fs = std::filesystem;

void put_u32(std::vector<uint8_t>& bytes, uint32_t value) {
  for (int shift = 24; shift >= 0; shift -= 8) {
    bytes.push_back(static_cast<uint8_t>(value >> shift));
  }
}

std::vector<uint8_t> idx_images(uint32_t count, uint32_t rows, uint32_t cols,
                                const std::vector<uint8_t>& pixels) {
  std::vector<uint8_t> bytes;
  put_u32(bytes, 0x00000803);
  put_u32(bytes, count);
  put_u32(bytes, rows);
  put_u32(bytes, cols);
  bytes.insert(bytes.end(), pixels.begin(), pixels.end());
  return bytes;
}

std::vector<uint8_t> idx_labels(const std::vector<uint8_t>& labels) {
  std::vector<uint8_t> bytes;
  put_u32(bytes, 0x00000801);
  put_u32(bytes, static_cast<uint32_t>(labels.size()));
  bytes.insert(bytes.end(), labels.begin(), labels.end());
  return bytes;
}

// A fresh directory per test, removed afterwards.
class DataTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           ("footprint_data_test_" + std::to_string(::getpid()) + "_" + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string write_plain(const std::string& name, const std::vector<uint8_t>& bytes) {
    const std::string path = (dir_ / name).string();
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
    return path;
  }

  std::string write_gzip(const std::string& name, const std::vector<uint8_t>& bytes) {
    const std::string path = (dir_ / name).string();
    gzFile file = gzopen(path.c_str(), "wb");
    EXPECT_NE(file, nullptr) << path;
    EXPECT_EQ(gzwrite(file, bytes.data(), static_cast<unsigned>(bytes.size())),
              static_cast<int>(bytes.size()));
    gzclose(file);
    return path;
  }

  fs::path dir_;
};

// 3 images of 2x3 with known pixels, and their labels.
const std::vector<uint8_t> kPixels = {0,   255, 10, 20, 30, 40,   //
                                      50,  60,  70, 80, 90, 100,  //
                                      128, 0,   0,  0,  0,  255};
const std::vector<uint8_t> kLabels = {3, 0, 9};

double expected_mean() {
  double sum = 0;
  for (uint8_t p : kPixels) sum += p / 255.0;
  return sum / static_cast<double>(kPixels.size());
}

double expected_std() {
  const double mean = expected_mean();
  double sum_sq = 0;
  for (uint8_t p : kPixels) sum_sq += (p / 255.0 - mean) * (p / 255.0 - mean);
  return std::sqrt(sum_sq / static_cast<double>(kPixels.size()));
}

// Expects `body` to throw IoError whose message contains every one of `parts`.
template <typename Body>
void expect_io_error(Body body, const std::vector<std::string>& parts) {
  try {
    body();
    ADD_FAILURE() << "no IoError thrown; expected one mentioning '" << parts.front() << "'";
  } catch (const IoError& error) {
    const std::string message = error.what();
    for (const std::string& part : parts) {
      EXPECT_NE(message.find(part), std::string::npos)
          << "message: " << message << "\nexpected it to contain: " << part;
    }
  }
}

TEST_F(DataTest, PlainRoundTrip) {
  const std::string images = write_plain("imgs.idx", idx_images(3, 2, 3, kPixels));
  const std::string labels = write_plain("labels.idx", idx_labels(kLabels));
  const Dataset data = load_idx(images, labels);
  EXPECT_EQ(data.name, "imgs.idx");
  EXPECT_EQ(data.size, 3);
  EXPECT_EQ(data.sample_shape, (Shape{.c = 1, .h = 2, .w = 3}));
  EXPECT_EQ(data.classes, 10);
  EXPECT_EQ(data.pixels, kPixels);
  EXPECT_EQ(data.labels, kLabels);
  EXPECT_FALSE(data.synthetic());
  EXPECT_EQ(data.bytes(), 21);
  EXPECT_NEAR(data.mean, expected_mean(), 1e-6);
  EXPECT_NEAR(data.std, expected_std(), 1e-6);
}

TEST_F(DataTest, GzipEqualsPlain) {
  const Dataset plain = load_idx(write_plain("i", idx_images(3, 2, 3, kPixels)),
                                 write_plain("l", idx_labels(kLabels)));
  // Names that do not say .gz: gzip is told by its first bytes.
  const Dataset gzipped = load_idx(write_gzip("i_gz", idx_images(3, 2, 3, kPixels)),
                                   write_gzip("l_gz", idx_labels(kLabels)));
  EXPECT_EQ(gzipped.pixels, plain.pixels);
  EXPECT_EQ(gzipped.labels, plain.labels);
  EXPECT_EQ(gzipped.sample_shape, plain.sample_shape);
  EXPECT_EQ(gzipped.size, plain.size);
  EXPECT_EQ(gzipped.mean, plain.mean);
  EXPECT_EQ(gzipped.std, plain.std);
}

TEST_F(DataTest, LabelsAbove9WidenClasses) {
  const Dataset data = load_idx(write_plain("i", idx_images(3, 2, 3, kPixels)),
                                write_plain("l", idx_labels({1, 17, 2})));
  EXPECT_EQ(data.classes, 18);
}

TEST_F(DataTest, ConstantImagesGetFlooredStd) {
  const Dataset data = load_idx(write_plain("i", idx_images(2, 1, 2, {7, 7, 7, 7})),
                                write_plain("l", idx_labels({0, 1})));
  EXPECT_NEAR(data.mean, 7 / 255.0, 1e-7);
  EXPECT_GE(data.std, 1e-6f);
}

TEST_F(DataTest, TruncatedPlainImages) {
  std::vector<uint8_t> bytes = idx_images(3, 2, 3, kPixels);
  bytes.resize(bytes.size() - 5);
  const std::string images = write_plain("short.idx", bytes);
  const std::string labels = write_plain("l", idx_labels(kLabels));
  expect_io_error([&] { (void)load_idx(images, labels); },
                  {"short.idx", "truncated", "3 images of 2x3 (18 bytes)", "13 left"});
}

TEST_F(DataTest, TruncatedGzipImages) {
  std::vector<uint8_t> bytes = idx_images(3, 2, 3, kPixels);
  bytes.resize(bytes.size() - 5);
  const std::string images = write_gzip("short.idx.gz", bytes);
  const std::string labels = write_gzip("l.gz", idx_labels(kLabels));
  expect_io_error([&] { (void)load_idx(images, labels); },
                  {"short.idx.gz", "truncated", "13 left"});
}

TEST_F(DataTest, HeaderClaimingHugeCountIsTruncatedNotAllocated) {
  // 2^31 images of 4096x4096 would be 32 PiB; the files hold 18 bytes of pixels and no labels.
  // Allocating what the header claims would abort with bad_alloc instead of an IoError.
  std::vector<uint8_t> many_labels;
  put_u32(many_labels, 0x00000801);
  put_u32(many_labels, 1u << 31);
  const std::vector<uint8_t> huge = idx_images(1u << 31, 4096, 4096, kPixels);
  expect_io_error(
      [&] { (void)load_idx(write_plain("huge", huge), write_plain("many_l", many_labels)); },
      {"huge", "truncated", "2147483648 images of 4096x4096", "18 left"});
  expect_io_error(
      [&] { (void)load_idx(write_gzip("huge.gz", huge), write_gzip("many_l.gz", many_labels)); },
      {"huge.gz", "truncated", "18 left"});
}

TEST_F(DataTest, InsaneDimensions) {
  const std::string labels = write_plain("l", idx_labels(kLabels));
  expect_io_error(
      [&] { (void)load_idx(write_plain("wide", idx_images(3, 2, 5000, kPixels)), labels); },
      {"wide", "3 images of 2x5000", "4096"});
  expect_io_error([&] { (void)load_idx(write_plain("none", idx_images(0, 2, 3, {})), labels); },
                  {"none", "0 images"});
  expect_io_error(
      [&] { (void)load_idx(write_plain("many", idx_images(0x80000001u, 2, 3, kPixels)), labels); },
      {"many", "2147483649 images"});
}

TEST_F(DataTest, BadMagic) {
  const std::string images = write_plain("i", idx_images(3, 2, 3, kPixels));
  const std::string labels = write_plain("l", idx_labels(kLabels));
  // Images and labels swapped: each magic names what it found.
  expect_io_error([&] { (void)load_idx(labels, images); },
                  {"expected 0x00000803 (idx3 u8 images)", "found 0x00000801"});
  expect_io_error([&] { (void)load_idx(images, images); },
                  {"expected 0x00000801 (idx1 u8 labels)", "found 0x00000803"});
  const std::string text = write_plain("notes.txt", {'h', 'e', 'l', 'l', 'o', '\n'});
  expect_io_error([&] { (void)load_idx(text, labels); }, {"notes.txt", "found 0x68656c6c"});
}

TEST_F(DataTest, ShortHeader) {
  const std::string labels = write_plain("l", idx_labels(kLabels));
  expect_io_error([&] { (void)load_idx(write_plain("empty", {}), labels); },
                  {"empty", "truncated", "0 bytes"});
  expect_io_error([&] { (void)load_idx(write_plain("half", {0, 0, 8, 3, 0, 0}), labels); },
                  {"half", "truncated", "16-byte", "6 bytes"});
}

TEST_F(DataTest, CountMismatchNamesBothFiles) {
  const std::string images = write_plain("imgs", idx_images(3, 2, 3, kPixels));
  const std::string labels = write_plain("lbls", idx_labels({1, 2}));
  expect_io_error([&] { (void)load_idx(images, labels); },
                  {"imgs", "lbls", "2 labels", "3 images"});
}

TEST_F(DataTest, TruncatedLabels) {
  std::vector<uint8_t> bytes = idx_labels(kLabels);
  bytes.pop_back();
  const std::string images = write_plain("i", idx_images(3, 2, 3, kPixels));
  const std::string labels = write_plain("lbls", bytes);
  expect_io_error([&] { (void)load_idx(images, labels); }, {"lbls", "truncated", "2 left"});
}

TEST_F(DataTest, MissingFile) {
  const std::string labels = write_plain("l", idx_labels(kLabels));
  expect_io_error([&] { (void)load_idx((dir_ / "nope").string(), labels); },
                  {"nope", "no such file", "dataset-fashion-mnist"});
  expect_io_error([&] { (void)load_idx(dir_.string(), labels); }, {"not a regular file"});
}

TEST_F(DataTest, MnistDirMixesPlainAndGzip) {
  write_gzip("train-images-idx3-ubyte.gz", idx_images(3, 2, 3, kPixels));
  write_plain("train-labels-idx1-ubyte", idx_labels(kLabels));
  write_plain("t10k-images-idx3-ubyte", idx_images(1, 2, 3, {1, 2, 3, 4, 5, 6}));
  write_gzip("t10k-labels-idx1-ubyte.gz", idx_labels({4}));
  const DataSplit split = load_mnist_dir(dir_.string());
  EXPECT_EQ(split.train.name, "train-images-idx3-ubyte.gz");
  EXPECT_EQ(split.train.pixels, kPixels);
  EXPECT_EQ(split.test.name, "t10k-images-idx3-ubyte");
  EXPECT_EQ(split.test.size, 1);
  EXPECT_EQ(split.test.labels, std::vector<uint8_t>{4});
}

TEST_F(DataTest, MnistDirMissingFile) {
  write_plain("train-images-idx3-ubyte", idx_images(3, 2, 3, kPixels));
  write_plain("train-labels-idx1-ubyte", idx_labels(kLabels));
  write_plain("t10k-images-idx3-ubyte", idx_images(3, 2, 3, kPixels));
  expect_io_error([&] { (void)load_mnist_dir(dir_.string()); },
                  {"t10k-labels-idx1-ubyte.gz", "--data mnist:DIR"});
  expect_io_error([&] { (void)load_mnist_dir((dir_ / "absent").string()); },
                  {"absent", "no such directory"});
}

TEST_F(DataTest, FillBatchNormalisesAndWritesTargets) {
  const Dataset data = load_idx(write_plain("i", idx_images(3, 2, 3, kPixels)),
                                write_plain("l", idx_labels(kLabels)));
  const std::vector<int64_t> indices = {2, 0};
  std::vector<float> input(2 * 6, -99.0f);
  std::vector<int32_t> int_labels(2, -1);
  fill_batch(data, indices, LossKind::softmax_xent, 10, input.data(), int_labels.data());
  for (int n = 0; n < 2; ++n) {
    for (int e = 0; e < 6; ++e) {
      const uint8_t p = kPixels[static_cast<size_t>(indices[n] * 6 + e)];
      EXPECT_NEAR(input[n * 6 + e], (p / 255.0 - data.mean) / data.std, 1e-5)
          << "sample " << indices[n] << " element " << e;
    }
  }
  EXPECT_EQ(int_labels, (std::vector<int32_t>{9, 3}));

  std::vector<float> one_hot(2 * 10, -1.0f);
  fill_batch(data, indices, LossKind::mse, 10, input.data(), one_hot.data());
  for (int n = 0; n < 2; ++n) {
    const int label = kLabels[static_cast<size_t>(indices[n])];
    for (int k = 0; k < 10; ++k) {
      EXPECT_EQ(one_hot[n * 10 + k], k == label ? 1.0f : 0.0f) << "row " << n << " column " << k;
    }
  }

  // No target: input only.
  fill_batch(data, indices, LossKind::softmax_xent, 10, input.data(), nullptr);
}

TEST_F(DataTest, FillBatchRejectsLabelBeyondOutputs) {
  const Dataset data = load_idx(write_plain("i", idx_images(3, 2, 3, kPixels)),
                                write_plain("l", idx_labels(kLabels)));
  std::vector<float> input(6);
  std::vector<int32_t> labels(1);
  const std::vector<int64_t> index = {2};  // label 9
  try {
    fill_batch(data, index, LossKind::softmax_xent, 5, input.data(), labels.data());
    ADD_FAILURE() << "no ShapeError";
  } catch (const ShapeError& error) {
    EXPECT_NE(std::string(error.what()).find("label 9 does not fit a net with 5 outputs"),
              std::string::npos)
        << error.what();
  }
  // Label 3 fits 5 outputs.
  const std::vector<int64_t> fits = {0};
  fill_batch(data, fits, LossKind::softmax_xent, 5, input.data(), labels.data());
  EXPECT_EQ(labels[0], 3);
}

TEST(SyntheticData, DeterministicAndInRange) {
  const Shape shape{.c = 3, .h = 5, .w = 7};
  const Dataset a = synthetic_dataset(shape, 7, 1000, /*seed=*/42);
  const Dataset b = synthetic_dataset(shape, 7, 1000, /*seed=*/42);
  const Dataset other = synthetic_dataset(shape, 7, 1000, /*seed=*/43);
  EXPECT_TRUE(a.synthetic());
  EXPECT_EQ(a.bytes(), 0);
  EXPECT_EQ(a.classes, 7);
  EXPECT_EQ(a.sample_shape, shape);

  std::vector<int> seen(7, 0);
  int differ = 0;
  for (int64_t i = 0; i < a.size; ++i) {
    const int label = label_of(a, i);
    ASSERT_GE(label, 0);
    ASSERT_LT(label, 7);
    ++seen[static_cast<size_t>(label)];
    EXPECT_EQ(label, label_of(b, i));
    differ += label != label_of(other, i);
  }
  for (int k = 0; k < 7; ++k) EXPECT_GT(seen[static_cast<size_t>(k)], 80) << "class " << k;
  EXPECT_GT(differ, 500);

  // The same sample gives the same input whatever batch it is in; normalised data has mean ~0.
  const std::vector<int64_t> batch1 = {5, 17, 999};
  const std::vector<int64_t> batch2 = {17};
  std::vector<float> x1(3 * 105);
  std::vector<float> x2(105);
  std::vector<float> x3(105);
  fill_batch(a, batch1, LossKind::none, 7, x1.data(), nullptr);
  fill_batch(b, batch2, LossKind::none, 7, x2.data(), nullptr);
  fill_batch(other, batch2, LossKind::none, 7, x3.data(), nullptr);
  double sum = 0;
  for (int e = 0; e < 105; ++e) {
    EXPECT_EQ(x1[105 + e], x2[e]) << "element " << e;
    EXPECT_GE(x2[e], (0.0f - a.mean) / a.std);
    EXPECT_LT(x2[e], (1.0f - a.mean) / a.std);
  }
  for (float v : x1) sum += v;
  EXPECT_NEAR(sum / static_cast<double>(x1.size()), 0.0, 0.2);
  EXPECT_NE(x2, x3);
  EXPECT_NE(std::vector<float>(x1.begin(), x1.begin() + 105), x2);

  std::vector<int32_t> labels(3);
  fill_batch(a, batch1, LossKind::softmax_xent, 7, x1.data(), labels.data());
  for (size_t n = 0; n < 3; ++n) EXPECT_EQ(labels[n], label_of(a, batch1[n])) << "row " << n;
}

TEST(SyntheticData, RejectsEmptyOrShapeless) {
  EXPECT_THROW((void)synthetic_dataset({.c = 0, .h = 2, .w = 2}, 10, 5, 1), ShapeError);
  EXPECT_THROW((void)synthetic_dataset({.c = 1, .h = 2, .w = 2}, 0, 5, 1), Error);
  EXPECT_THROW((void)synthetic_dataset({.c = 1, .h = 2, .w = 2}, 10, 0, 1), Error);
}

TEST(FashionMnist, LoadsInstalledPackage) {
  if (!fs::is_directory(kFashionMnistDir)) {
    GTEST_SKIP() << kFashionMnistDir << " is absent (install dataset-fashion-mnist)";
  }
  const DataSplit split = load_mnist_dir(kFashionMnistDir);
  EXPECT_EQ(split.train.size, 60000);
  EXPECT_EQ(split.test.size, 10000);
  for (const Dataset* data : {&split.train, &split.test}) {
    EXPECT_EQ(data->sample_shape, (Shape{.c = 1, .h = 28, .w = 28}));
    EXPECT_EQ(data->classes, 10);
    EXPECT_EQ(static_cast<int64_t>(data->pixels.size()), data->size * 28 * 28);
    for (uint8_t label : data->labels) ASSERT_LT(label, 10);
    // Fashion-MNIST's pixel mean is about 0.286 and std about 0.353.
    EXPECT_NEAR(data->mean, 0.286, 0.01);
    EXPECT_NEAR(data->std, 0.353, 0.01);
  }
}

}  // namespace
}  // namespace footprint
