// The array conversions against the scalar reference (bf16.hpp), bit for bit: every bfloat16
// back to float32, and float32 patterns covering each upper half with the lower halves where
// rounding turns (ties, just above and below), NaNs and infinities, at lengths that leave
// vector tails.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "kernels/eltwise/bf16.hpp"
#include "kernels/eltwise/bf16_convert.hpp"

namespace footprint {
namespace {

float float_of(uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

uint32_t bits_of(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, sizeof bits);
  return bits;
}

TEST(Bf16Convert, RoundsEveryUpperHalfAsTheScalarReference) {
  const uint32_t lows[] = {0x0000, 0x0001, 0x7fff, 0x8000, 0x8001, 0xc000, 0xffff, 0x1234};
  std::vector<float> src;
  for (uint32_t high = 0; high < 0x10000; ++high)
    for (uint32_t low : lows) src.push_back(float_of(high << 16 | low));
  for (int64_t n : {int64_t{1}, int64_t{7}, int64_t{33}, static_cast<int64_t>(src.size())}) {
    std::vector<uint16_t> got(static_cast<size_t>(n));
    floats_to_bf16(src.data(), got.data(), n);
    for (int64_t i = 0; i < n; ++i)
      ASSERT_EQ(got[i], to_bf16(src[i])) << std::hex << "float bits 0x" << bits_of(src[i]);
  }
}

TEST(Bf16Convert, ExpandsEveryBfloat16Exactly) {
  std::vector<uint16_t> src(0x10000 + 3);
  for (size_t i = 0; i < src.size(); ++i) src[i] = static_cast<uint16_t>(i);
  std::vector<float> got(src.size());
  bf16_to_floats(src.data(), got.data(), static_cast<int64_t>(src.size()));
  for (size_t i = 0; i < src.size(); ++i)
    ASSERT_EQ(bits_of(got[i]), bits_of(from_bf16(src[i]))) << std::hex << src[i];
}

}  // namespace
}  // namespace footprint
