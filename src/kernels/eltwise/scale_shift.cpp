// The batch norm's per-channel scale and shift, the clip and ReLU, with AVX2 copies
// (kernels/cpu_clones.hpp); declared in activation_fast.hpp. Built with -ffp-contract=off
// (CMakeLists.txt): GCC contracts a * b + c into an FMA in C++ by default, and the AVX2 copy would
// then round differently from the baseline one and from the layers' reference loops.
#include "kernels/cpu_clones.hpp"
#include "kernels/eltwise/activation_fast.hpp"

namespace footprint {

FP_CLONES void scale_shift_fast(const float* src, float* dst, int64_t n_elems, float scale,
                                float shift) {
  for (int64_t i = 0; i < n_elems; ++i) dst[i] = src[i] * scale + shift;
}

FP_CLONES void clip_fast(const float* src, float* dst, int64_t n_elems, float lo, float hi) {
  for (int64_t i = 0; i < n_elems; ++i) {
    const float x = src[i];
    dst[i] = x < lo ? lo : (x > hi ? hi : x);
  }
}

FP_CLONES void relu_fast(const float* src, float* dst, int64_t n_elems) {
  for (int64_t i = 0; i < n_elems; ++i) dst[i] = src[i] > 0.0f ? src[i] : 0.0f;
}

}  // namespace footprint
