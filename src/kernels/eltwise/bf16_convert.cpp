// See bf16_convert.hpp. Each loop is built for AVX2 and for the baseline, chosen when the
// program loads by the CPU's ISA level (kernels/cpu_clones.hpp).
#include "kernels/eltwise/bf16_convert.hpp"

#include "kernels/cpu_clones.hpp"

namespace footprint {

FP_CLONES void floats_to_bf16(const float* src, uint16_t* dst, int64_t n_values) {
  for (int64_t i = 0; i < n_values; ++i) {
    const uint32_t bits = __builtin_bit_cast(uint32_t, src[i]);
    // Round to nearest, ties to even: add just under half a unit of the kept part, plus its
    // lowest bit. A NaN is truncated with a mantissa bit set, so it cannot round to infinity.
    const uint32_t rounded = (bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16;
    const uint32_t nan = (bits >> 16) | 0x40u;
    dst[i] = static_cast<uint16_t>((bits & 0x7fffffffu) > 0x7f800000u ? nan : rounded);
  }
}

FP_CLONES void bf16_to_floats(const uint16_t* src, float* dst, int64_t n_values) {
  for (int64_t i = 0; i < n_values; ++i)
    dst[i] = __builtin_bit_cast(float, static_cast<uint32_t>(src[i]) << 16);
}

}  // namespace footprint
