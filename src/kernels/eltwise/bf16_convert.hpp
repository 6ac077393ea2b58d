// Arrays of float32 to bfloat16 and back, for values kept in half the bytes between a training
// step's forward and backward phases (PlanOptions::saved_dtype). The same rounding as to_bf16
// in bf16.hpp (nearest, ties to even; NaN stays NaN), written without branches so the loops
// vectorise, with an AVX2 clone picked at run time and the x86-64 baseline otherwise. Tested
// element by element against to_bf16 / from_bf16 (tests/kernels/bf16_convert_test.cpp).
#pragma once

#include <cstdint>

namespace footprint {

void floats_to_bf16(const float* src, uint16_t* dst, int64_t n_values);
void bf16_to_floats(const uint16_t* src, float* dst, int64_t n_values);

}  // namespace footprint
