// The inner loops of Winograd F(4x4, 3x3) (Lavin and Gray 2016), used by conv_winograd.cpp:
// each 4x4 block of output comes from a 6x6 block of input, with 36 multiplies per channel pair
// instead of 144:
//   U = G g G^T  (each 3x3 filter g -> 6x6)      V = B^T d B  (each 6x6 input block d)
//   M = U . V    (per position xi of the 6x6)    Y = A^T M A  (the 4x4 output block)
// with the interpolation points 0, 1, -1, 2, -2 and infinity:
//   B^T = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0; 0 -2 -1 2 1 0; 0 2 -1 -2 1 0; 0 4 0 -5 0 1]
//   G   = [1/4 0 0; -1/6 -1/6 -1/6; -1/6 1/6 -1/6; 1/24 1/12 1/6; 1/24 -1/12 1/6; 0 0 1]
//   A^T = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1]
// Every loop runs over a run of tiles side by side, tile j in lane j of the vectors, and each is
// built twice (AVX2 with FMA, and plain x86-64) with the copy chosen when the library loads.
#pragma once

#include <cstdint>

namespace footprint::winograd {

inline constexpr int kOutTile = 4;     // output block side
inline constexpr int kInTile = 6;      // input block side
inline constexpr int kPositions = 36;  // 6x6 transformed values per block
// The products' register block: output channels by tiles (two 8-float vectors).
inline constexpr int64_t kRows = 6;
inline constexpr int64_t kColumns = 16;

// U = G g G^T of one 3x3 filter g (row-major; `turned` reads it rotated 180 degrees) into
// u[xi * stride].
void transform_filter(const float* g, bool turned, float* u, int64_t stride);

// V = B^T d B for `count` tiles side by side, tile j's block in columns 4j .. 4j+5 of the six
// rows `rows[0..5]` (each readable for 4 * count + 4 floats): v[xi * xi_stride + j].
// `scratch` holds 24 * (count + 1) floats.
void transform_input(const float* const rows[kInTile], int64_t count, float* v, int64_t xi_stride,
                     float* scratch);

// Y = A^T M A + bias for `count` tiles from m[xi * xi_stride + j]: tile j's 4x4 block into
// out[r * row_stride + 4j + q], written, or added to when `accumulate`.
void transform_output(const float* m, int64_t xi_stride, int64_t count, float bias, float* out,
                      int64_t row_stride, bool accumulate);

// Floats of the packed filters of one position: output channels rounded up to kRows, by in_c.
[[nodiscard]] inline int64_t packed_filter_floats(int64_t out_c, int64_t in_c) {
  return (out_c + kRows - 1) / kRows * kRows * in_c;
}
// Where filter (k, c) of one position sits in the packed layout [k / kRows][c][k % kRows]
// (the positions packed_filter_floats apart: transform_filter's stride).
[[nodiscard]] inline int64_t packed_filter_index(int64_t k, int64_t c, int64_t in_c) {
  return (k / kRows * in_c + c) * kRows + k % kRows;
}

// M[xi] = U[xi] . V[xi] for every position: u packed as above, v [36][in_c][columns],
// m [36][out_c][columns], columns a multiple of kColumns.
void multiply(const float* u, const float* v, float* m, int64_t out_c, int64_t in_c,
              int64_t columns);

}  // namespace footprint::winograd
