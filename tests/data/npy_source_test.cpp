// NumPy arrays as a source: uint8 pixels normalised, float32 used as they are, int64 labels
// and float targets, refusals naming the file, and pages given back after each read.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "footprint/footprint.hpp"
#include "footprint/npy.hpp"

namespace footprint {
namespace {

namespace fs = std::filesystem;

std::string temp_path(const std::string& name) {
  return (fs::temp_directory_path() / ("footprint_npy_" + std::to_string(::getpid()) + "_" + name)).string();
}

// A version 1.0 .npy file of any dtype, written by hand (write_npy writes float32 only).
void write_raw_npy(const std::string& path, const std::string& descr, const std::string& shape,
                   const void* data, size_t bytes) {
  std::string header = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
  header.append((64 - (10 + header.size() + 1) % 64) % 64, ' ');
  header += '\n';
  std::ofstream out(path, std::ios::binary);
  out.write("\x93NUMPY\x01\x00", 8);
  const char len[2] = {static_cast<char>(header.size() & 0xff), static_cast<char>(header.size() >> 8)};
  out.write(len, 2);
  out << header;
  out.write(static_cast<const char*>(data), static_cast<std::streamsize>(bytes));
}

TEST(NpySource, Uint8PixelsAndInt64Labels) {
  const int64_t n = 40;
  std::vector<uint8_t> x(static_cast<size_t>(n * 2 * 3 * 4));
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<uint8_t>(i % 251);
  std::vector<int64_t> y(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) y[static_cast<size_t>(i)] = (i * 7) % 5;
  const std::string xp = temp_path("x8.npy"), yp = temp_path("y8.npy");
  write_raw_npy(xp, "|u1", "(40, 2, 3, 4)", x.data(), x.size());
  write_raw_npy(yp, "<i8", "(40,)", y.data(), y.size() * 8);
  const auto source = npy_source(xp, yp, {.mean = {0.5f, 0.25f, 0}, .std = {0.5f, 2.0f, 1}});
  EXPECT_EQ(source->size(), n);
  EXPECT_EQ(source->classes(), 5);
  EXPECT_FALSE(source->float_targets());
  const Shape input{2, 3, 4};
  source->check_fits(input, 5);
  EXPECT_THROW(source->check_fits(Shape{2, 4, 3}, 5), ShapeError);
  EXPECT_THROW(source->check_fits(input, 4), ShapeError);
  std::vector<float> pixels(24);
  std::string error;
  for (int64_t i : {0, 17, 39}) {
    EXPECT_EQ(source->read(i, input, 0, pixels.data(), nullptr, error), y[static_cast<size_t>(i)]);
    for (int64_t e = 0; e < 24; ++e) {
      const int c = static_cast<int>(e / 12);
      const float p = x[static_cast<size_t>(i * 24 + e)] / 255.0f;
      EXPECT_NEAR(pixels[static_cast<size_t>(e)], (p - (c ? 0.25f : 0.5f)) / (c ? 2.0f : 0.5f), 1e-6);
    }
  }
  fs::remove(xp);
  fs::remove(yp);
}

TEST(NpySource, Float32SamplesAndFloatTargetsTrainThroughTheRing) {
  const int64_t n = 30;
  const Net net = parse_net("input 1 4 4\nfc 3\nloss mse\n", "regression");
  std::vector<float> x(static_cast<size_t>(n * 16)), y(static_cast<size_t>(n * 3));
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i % 17) / 17.0f - 0.5f;
  for (int64_t i = 0; i < n; ++i)
    for (int k = 0; k < 3; ++k) y[static_cast<size_t>(i * 3 + k)] = x[static_cast<size_t>(i * 16 + k)] * 2;
  const std::string xp = temp_path("xf.npy"), yp = temp_path("yf.npy");
  write_npy(xp, {n, 1, 4, 4}, x.data());
  write_npy(yp, {n, 3}, y.data());
  const auto source = npy_source(xp, yp, {});
  EXPECT_TRUE(source->float_targets());
  EXPECT_EQ(source->target_elems(), 3);
  std::vector<float> pixels(16), target(3);
  std::string error;
  EXPECT_EQ(source->read(7, Shape{1, 4, 4}, 0, pixels.data(), target.data(), error), -1);
  EXPECT_EQ(pixels, std::vector<float>(x.begin() + 7 * 16, x.begin() + 8 * 16));
  EXPECT_EQ(target, std::vector<float>(y.begin() + 21, y.begin() + 24));

  const Plan p = plan(net, {.batch = 4, .optimizer = OptimizerKind::adam, .prefetch_batches = 2});
  Runtime runtime(net, p, 1);
  const EvalResult before = evaluate(runtime, *source);
  train(runtime, *source, nullptr, {.epochs = 40, .optimizer = {.lr = 0.01f}, .loader_threads = 2}, nullptr, nullptr);
  const EvalResult after = evaluate(runtime, *source);
  EXPECT_EQ(after.samples, n);
  EXPECT_LT(after.loss, before.loss * 0.2) << "a linear map learnt from the arrays";
  fs::remove(xp);
  fs::remove(yp);
}

TEST(NpySource, RefusalsNameTheFile) {
  std::vector<float> x(2 * 3 * 4 * 4);
  std::vector<int64_t> y(3, 1);
  const std::string xp = temp_path("xr.npy"), yp = temp_path("yr.npy"), x3 = temp_path("x3.npy");
  write_npy(xp, {2, 3, 4, 4}, x.data());
  write_raw_npy(yp, "<i8", "(3,)", y.data(), 24);
  auto message = [&](const std::string& a, const std::string& b) -> std::string {
    try {
      (void)npy_source(a, b, {});
    } catch (const IoError& e) {
      return e.what();
    }
    return "no error";
  };
  EXPECT_NE(message(xp, yp).find("expected 2 rows"), std::string::npos) << message(xp, yp);
  write_npy(x3, {2, 48}, x.data());
  EXPECT_NE(message(x3, yp).find("expected (N, C, H, W)"), std::string::npos) << message(x3, yp);
  write_raw_npy(x3, "<f8", "(1, 1, 2, 2)", x.data(), 32);
  EXPECT_NE(message(x3, yp).find("dtype '<f8'"), std::string::npos) << message(x3, yp);
  write_raw_npy(x3, "|u1", "(3, 1, 20, 20)", x.data(), 100);  // 1200 bytes declared, 100 written
  EXPECT_NE(message(x3, yp).find("truncated"), std::string::npos) << message(x3, yp);
  for (const std::string& p : {xp, yp, x3}) fs::remove(p);
}

TEST(NpySource, ReadingEverySampleKeepsNoneOfThem) {
  // 64 MiB of uint8 samples read through once: the process's resident size grows by far less.
  const int64_t n = 1024, elems = 64 * 1024;
  const std::string xp = temp_path("xbig.npy"), yp = temp_path("ybig.npy");
  {
    std::vector<uint8_t> x(static_cast<size_t>(n * elems), 7);
    write_raw_npy(xp, "|u1", "(1024, 1, 256, 256)", x.data(), x.size());
  }
  std::vector<int64_t> y(static_cast<size_t>(n), 0);
  write_raw_npy(yp, "<i8", "(1024,)", y.data(), y.size() * 8);
  const auto source = npy_source(xp, yp, {});
  std::vector<float> pixels(static_cast<size_t>(elems));
  std::string error;
  const int64_t before = resident_bytes();
  for (int64_t i = 0; i < n; ++i) ASSERT_EQ(source->read(i, Shape{1, 256, 256}, 0, pixels.data(), nullptr, error), 0);
  const int64_t growth = resident_bytes() - before;
  EXPECT_LT(growth, int64_t{4} << 20) << "resident growth after reading 64 MiB of samples";
  fs::remove(xp);
  fs::remove(yp);
}

}  // namespace
}  // namespace footprint
