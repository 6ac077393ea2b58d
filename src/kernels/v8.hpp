// GCC's 8-float vector type (one AVX register; two SSE registers in the baseline copy) and its
// unaligned loads and stores, for the kernels written with it (Winograd's, the depthwise
// strips). Its functions must be inlined into each CPU copy (kernels/cpu_clones.hpp); files
// using it build with -Wno-psabi, since no v8 crosses a call.
#pragma once

#include <cstring>

#include "kernels/cpu_clones.hpp"

namespace footprint {

using v8 = float __attribute__((vector_size(32)));

FP_INLINE v8 load8(const float* p) {
  v8 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
FP_INLINE void store8(float* p, v8 v) { std::memcpy(p, &v, sizeof v); }

}  // namespace footprint
