// Float sums that vectorise and stay deterministic: eight interleaved partial sums, added
// pairwise at the end. A single running float sum cannot vectorise (the compiler may not reorder
// it), and a double one is slower still; the order here is fixed, so the result never depends on
// the thread count. For long reductions, callers add these per-plane sums in double.
#pragma once

#include <cstdint>

namespace footprint {

// Sum of term(i) for i in [0, n).
template <typename Term>
inline float sum_lanes(int64_t n, Term&& term) {
  float lanes[8] = {};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int l = 0; l < 8; ++l) lanes[l] += term(i + l);
  float sum = ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) +
              ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]));
  for (; i < n; ++i) sum += term(i);
  return sum;
}

}  // namespace footprint
