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
// dst = src * scale + shift (a batch norm in inference), src limited to [lo, hi] (clip,
// ReLU6; a NaN stays NaN, as in ClipFn), and ReLU: simple loops, but the baseline build runs them at SSE
// width, where they took a tenth of mobilenet_v2's inference. In scale_shift.cpp, built without
// contraction: a multiply then an add on every CPU, never one FMA, so every copy gives the same
// bits.
void scale_shift_fast(const float* src, float* dst, int64_t n_elems, float scale, float shift);
void clip_fast(const float* src, float* dst, int64_t n_elems, float lo, float hi);
void relu_fast(const float* src, float* dst, int64_t n_elems);  // max(x, 0); a NaN gives 0

}  // namespace footprint
