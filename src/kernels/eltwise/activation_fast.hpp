// Element-wise activations over arrays, written so the compiler vectorises them: tanh and
// sigmoid (and silu, x sigmoid(x)) from a polynomial exp in float (within about 2e-7 of std::tanh / the exact sigmoid,
// tested in tests/kernels/activation_test.cpp), with an AVX2 clone picked at run time and a
// plain SSE2 one otherwise. The layers' scalar std:: versions stay as the reference.
#pragma once

#include <cstdint>

namespace footprint {

// dst may equal src.
void tanh_fast(const float* src, float* dst, int64_t n_elems);
void sigmoid_fast(const float* src, float* dst, int64_t n_elems);
void silu_fast(const float* src, float* dst, int64_t n_elems);
void exp_fast(const float* src, float* dst, int64_t n_elems);

}  // namespace footprint
