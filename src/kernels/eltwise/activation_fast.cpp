// Cephes-style float exp and tanh without calls or branches, so every loop below vectorises.
// Each loop is built for AVX2 with FMA and for the baseline (kernels/cpu_clones.hpp). The
// polynomials are chains of multiply-adds, which FMA halves.
#include "kernels/eltwise/activation_fast.hpp"

#include <algorithm>

#include "kernels/cpu_clones.hpp"

namespace footprint {
namespace {

// __builtin_bit_cast, not std::bit_cast: the std function is not always inlined into the AVX2
// clone, and a call in the loop stops vectorisation.
FP_INLINE uint32_t bits_of(float x) { return __builtin_bit_cast(uint32_t, x); }
FP_INLINE float float_of(uint32_t x) { return __builtin_bit_cast(float, x); }

// e^x for x in about [-87, 88]: x = n ln2 + r with |r| <= ln2/2, e^r by a degree-7 polynomial,
// 2^n put straight into the exponent bits. NaN stays NaN.
FP_INLINE float exp_one(float x) {
  x = std::min(x, 88.3762626647949f);  // std::min keeps a NaN in its first argument
  x = std::max(x, -87.3365447504f);
  // Round x / ln2 to the nearest integer by the float-magic trick (no call, vectorises).
  const float magic = 12582912.0f;  // 1.5 * 2^23
  const float n = (x * 1.44269504088896341f + magic) - magic;
  float r = x - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  const int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
  return p * float_of(static_cast<uint32_t>(bits));
}

// tanh: an odd polynomial below |x| = 0.625 (where 1 - 2 / (e^2x + 1) would cancel), that
// formula above it; float tanh rounds to exactly +-1 beyond |x| = 10.
FP_INLINE float tanh_one(float x) {
  const float ax = std::min(float_of(bits_of(x) & 0x7fffffffu), 10.0f);
  const float z = x * x;
  float small = -5.70498872745e-3f;
  small = small * z + 2.06390887954e-2f;
  small = small * z - 5.37397155531e-2f;
  small = small * z + 1.33314422036e-1f;
  small = small * z - 3.33332819422e-1f;
  small = small * z * x + x;
  const float large_abs = 1.0f - 2.0f / (exp_one(2.0f * ax) + 1.0f);
  const float large = float_of(bits_of(large_abs) | (bits_of(x) & 0x80000000u));
  // A select by bit mask, not `?:`: GCC will not if-convert a branch holding a division (it might
  // trap), and the loop would not vectorise.
  const uint32_t use_small = ax < 0.625f ? 0xffffffffu : 0u;
  return float_of((bits_of(small) & use_small) | (bits_of(large) & ~use_small));
}

}  // namespace

FP_CLONES void tanh_fast(const float* src, float* dst, int64_t n_elems) {
  for (int64_t i = 0; i < n_elems; ++i) dst[i] = tanh_one(src[i]);
}

FP_CLONES void sigmoid_fast(const float* src, float* dst, int64_t n_elems) {
  for (int64_t i = 0; i < n_elems; ++i) dst[i] = 1.0f / (1.0f + exp_one(-src[i]));
}

// x * sigmoid(x), in chunks of two loops: written as one, GCC turns the clamps inside exp_one
// into three blends per vector and the loop runs at half sigmoid's speed.
FP_CLONES void silu_fast(const float* src, float* dst, int64_t n_elems) {
  constexpr int64_t kChunk = 256;
  float s[kChunk];
  for (int64_t begin = 0; begin < n_elems; begin += kChunk) {
    const int64_t n = std::min(kChunk, n_elems - begin);
    const float* x = src + begin;
    for (int64_t i = 0; i < n; ++i) s[i] = 1.0f / (1.0f + exp_one(-x[i]));
    for (int64_t i = 0; i < n; ++i) dst[begin + i] = x[i] * s[i];
  }
}

FP_CLONES void exp_fast(const float* src, float* dst, int64_t n_elems) {
  for (int64_t i = 0; i < n_elems; ++i) dst[i] = exp_one(src[i]);
}

}  // namespace footprint
