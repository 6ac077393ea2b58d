// See winograd_kernels.hpp. The loops are written once, over tiles side by side so that the
// compiler vectorises them across tiles, and built twice: for AVX2 with FMA (x86-64-v3) and for
// plain x86-64, the copy chosen once when the library loads (target_clones). The products'
// register block is written with GCC's vector types; this file is compiled with
// -ffp-contract=fast (CMakeLists.txt) so that the AVX2 copy multiplies and adds in one FMA.
#include "kernels/conv/winograd_kernels.hpp"

#include "kernels/cpu_clones.hpp"
#include "kernels/v8.hpp"

namespace footprint::winograd {
namespace {

// B^T applied to six values a0..a5 (one column or row of a 6x6 block); T is float or v8.
template <typename T>
FP_INLINE void bt(T a0, T a1, T a2, T a3, T a4, T a5, T o[6]) {
  o[0] = 4.0f * a0 - 5.0f * a2 + a4;
  o[1] = -4.0f * (a1 + a2) + a3 + a4;
  o[2] = 4.0f * (a1 - a2) - a3 + a4;
  o[3] = 2.0f * (a3 - a1) - a2 + a4;
  o[4] = 2.0f * (a1 - a3) - a2 + a4;
  o[5] = 4.0f * a1 - 5.0f * a3 + a5;
}

// A^T applied to six values.
template <typename T>
FP_INLINE void at(T a0, T a1, T a2, T a3, T a4, T a5, T o[4]) {
  const T s12 = a1 + a2, d12 = a1 - a2, s34 = a3 + a4, d34 = a3 - a4;
  o[0] = a0 + s12 + s34;
  o[1] = d12 + 2.0f * d34;
  o[2] = s12 + 4.0f * s34;
  o[3] = d12 + 8.0f * d34 + a5;
}

template <typename T>
FP_INLINE T load_as(const float* p) {
  if constexpr (sizeof(T) == sizeof(float)) {
    return *p;
  } else {
    return load8(p);
  }
}

// __builtin_shufflevector (GCC 12 and clang): lanes 0-7 from a, 8-15 from b.
// 32 floats at p, eight groups of four, into q[k] = element k of each group.
FP_INLINE void deinterleave4(const float* p, v8 q[4]) {
  const v8 a = load8(p), b = load8(p + 8), c = load8(p + 16), d = load8(p + 24);
  // Elements 0 and 2, then 1 and 3, of four groups.
  const v8 ab02 = __builtin_shufflevector(a, b, 0, 4, 8, 12, 2, 6, 10, 14);
  const v8 ab13 = __builtin_shufflevector(a, b, 1, 5, 9, 13, 3, 7, 11, 15);
  const v8 cd02 = __builtin_shufflevector(c, d, 0, 4, 8, 12, 2, 6, 10, 14);
  const v8 cd13 = __builtin_shufflevector(c, d, 1, 5, 9, 13, 3, 7, 11, 15);
  q[0] = __builtin_shufflevector(ab02, cd02, 0, 1, 2, 3, 8, 9, 10, 11);
  q[1] = __builtin_shufflevector(ab13, cd13, 0, 1, 2, 3, 8, 9, 10, 11);
  q[2] = __builtin_shufflevector(ab02, cd02, 4, 5, 6, 7, 12, 13, 14, 15);
  q[3] = __builtin_shufflevector(ab13, cd13, 4, 5, 6, 7, 12, 13, 14, 15);
}

// The inverse: q[k] holds element k of eight groups of four; out the 32 floats, group by group.
FP_INLINE void interleave4(const v8 q[4], v8 out[4]) {
  const v8 ab02 = __builtin_shufflevector(q[0], q[2], 0, 1, 2, 3, 8, 9, 10, 11);
  const v8 cd02 = __builtin_shufflevector(q[0], q[2], 4, 5, 6, 7, 12, 13, 14, 15);
  const v8 ab13 = __builtin_shufflevector(q[1], q[3], 0, 1, 2, 3, 8, 9, 10, 11);
  const v8 cd13 = __builtin_shufflevector(q[1], q[3], 4, 5, 6, 7, 12, 13, 14, 15);
  out[0] = __builtin_shufflevector(ab02, ab13, 0, 8, 4, 12, 1, 9, 5, 13);
  out[1] = __builtin_shufflevector(ab02, ab13, 2, 10, 6, 14, 3, 11, 7, 15);
  out[2] = __builtin_shufflevector(cd02, cd13, 0, 8, 4, 12, 1, 9, 5, 13);
  out[3] = __builtin_shufflevector(cd02, cd13, 2, 10, 6, 14, 3, 11, 7, 15);
}

// R output channels (rows) by 16 tiles (columns) of one position's product:
// m[r * columns + t] = sum over c of u[c * kRows + r] * v[c * columns + t].
template <int R>
FP_INLINE void block_product(const float* __restrict u, const float* __restrict v,
                             float* __restrict m, int64_t in_c, int64_t columns) {
  v8 acc[R][2];
  for (int r = 0; r < R; ++r) acc[r][0] = acc[r][1] = v8{};
  for (int64_t c = 0; c < in_c; ++c) {
    const v8 v0 = load8(v + c * columns), v1 = load8(v + c * columns + 8);
    for (int r = 0; r < R; ++r) {
      const float w = u[c * kRows + r];
      acc[r][0] += w * v0;
      acc[r][1] += w * v1;
    }
  }
  for (int r = 0; r < R; ++r) {
    store8(m + r * columns, acc[r][0]);
    store8(m + r * columns + 8, acc[r][1]);
  }
}

template <int R>
FP_INLINE void panel_product(const float* u, const float* v, float* m, int64_t in_c,
                             int64_t columns) {
  for (int64_t t = 0; t < columns; t += kColumns) block_product<R>(u, v + t, m + t, in_c, columns);
}

}  // namespace

void transform_filter(const float* g, bool turned, float* u, int64_t stride) {
  float f[3][3];
  for (int i = 0; i < 9; ++i) f[i / 3][i % 3] = turned ? g[8 - i] : g[i];
  float t[6][3];  // G f
  for (int c = 0; c < 3; ++c) {
    const float a = f[0][c], b = f[1][c], d = f[2][c];
    t[0][c] = a / 4;
    t[1][c] = -(a + b + d) / 6;
    t[2][c] = -(a - b + d) / 6;
    t[3][c] = a / 24 + b / 12 + d / 6;
    t[4][c] = a / 24 - b / 12 + d / 6;
    t[5][c] = d;
  }
  for (int r = 0; r < 6; ++r) {  // (G f) G^T
    const float a = t[r][0], b = t[r][1], d = t[r][2];
    u[(r * 6 + 0) * stride] = a / 4;
    u[(r * 6 + 1) * stride] = -(a + b + d) / 6;
    u[(r * 6 + 2) * stride] = -(a - b + d) / 6;
    u[(r * 6 + 3) * stride] = a / 24 + b / 12 + d / 6;
    u[(r * 6 + 4) * stride] = a / 24 - b / 12 + d / 6;
    u[(r * 6 + 5) * stride] = d;
  }
}

FP_CLONES void transform_input(const float* const rows[kInTile], int64_t count, float* v,
                               int64_t xi_stride, float* scratch) {
  // Down the columns first: w[r][p][j] = (B^T d)[r] at column 4j + p, for j up to count so that
  // tile j's columns 4 and 5 are w[r][0][j + 1] and w[r][1][j + 1]: every later load and store
  // is then contiguous across tiles.
  const int64_t n = count + 1;
  float* __restrict w = scratch;
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) {
    v8 d[6][4];
    for (int s = 0; s < 6; ++s) deinterleave4(rows[s] + 4 * j, d[s]);
    for (int p = 0; p < 4; ++p) {
      v8 o[6];
      bt(d[0][p], d[1][p], d[2][p], d[3][p], d[4][p], d[5][p], o);
      for (int r = 0; r < 6; ++r) store8(w + (r * 4 + p) * n + j, o[r]);
    }
  }
  for (; j < n; ++j) {
    for (int p = 0; p < 4; ++p) {
      const int64_t x = 4 * j + p;
      float o[6];
      bt(rows[0][x], rows[1][x], rows[2][x], rows[3][x], rows[4][x], rows[5][x], o);
      for (int r = 0; r < 6; ++r) w[(r * 4 + p) * n + j] = o[r];
    }
  }
  // Then along the rows.
  for (int r = 0; r < 6; ++r) {
    const float* w0 = w + (r * 4 + 0) * n;
    const float* w1 = w + (r * 4 + 1) * n;
    const float* w2 = w + (r * 4 + 2) * n;
    const float* w3 = w + (r * 4 + 3) * n;
    float* out = v + r * 6 * xi_stride;
    int64_t i = 0;
    for (; i + 8 <= count; i += 8) {
      v8 o[6];
      bt(load8(w0 + i), load8(w1 + i), load8(w2 + i), load8(w3 + i), load8(w0 + i + 1),
         load8(w1 + i + 1), o);
      for (int q = 0; q < 6; ++q) store8(out + q * xi_stride + i, o[q]);
    }
    for (; i < count; ++i) {
      float o[6];
      bt(w0[i], w1[i], w2[i], w3[i], w0[i + 1], w1[i + 1], o);
      for (int q = 0; q < 6; ++q) out[q * xi_stride + i] = o[q];
    }
  }
}

namespace {

// Y = A^T M A for the tiles in the lanes of T (v8: eight tiles, float: one), m[xi * xi_stride]
// the first tile's products: y[r][q] the value at row r, column q of each tile's block.
template <typename T>
FP_INLINE void output_values(const float* m, int64_t xi_stride, T y[4][4]) {
  T t[6][4];  // (A^T M) transposed: column q of it in t[q]
  for (int q = 0; q < 6; ++q) {
    const float* c = m + q * xi_stride;
    at(load_as<T>(c), load_as<T>(c + 6 * xi_stride), load_as<T>(c + 12 * xi_stride),
       load_as<T>(c + 18 * xi_stride), load_as<T>(c + 24 * xi_stride),
       load_as<T>(c + 30 * xi_stride), t[q]);
  }
  for (int r = 0; r < 4; ++r) at(t[0][r], t[1][r], t[2][r], t[3][r], t[4][r], t[5][r], y[r]);
}

}  // namespace

FP_CLONES void transform_output(const float* m, int64_t xi_stride, int64_t count, float bias,
                                float* out, int64_t row_stride, bool accumulate) {
  int64_t j = 0;
  for (; j + 8 <= count; j += 8) {
    v8 y[4][4];
    output_values<v8>(m + j, xi_stride, y);
    for (int r = 0; r < 4; ++r) {
      v8 row[4];
      interleave4(y[r], row);  // tile j's four values first, then tile j + 1's, ...
      float* o = out + r * row_stride + 4 * j;
      for (int i = 0; i < 4; ++i) {
        const v8 value = row[i] + bias;
        store8(o + 8 * i, accumulate ? load8(o + 8 * i) + value : value);
      }
    }
  }
  for (; j < count; ++j) {
    float y[4][4];
    output_values<float>(m + j, xi_stride, y);
    for (int r = 0; r < 4; ++r) {
      float* o = out + r * row_stride + 4 * j;
      for (int q = 0; q < 4; ++q) o[q] = accumulate ? o[q] + (y[r][q] + bias) : y[r][q] + bias;
    }
  }
}

FP_CLONES void multiply(const float* u, const float* v, float* m, int64_t out_c, int64_t in_c,
                        int64_t columns) {
  const int64_t u_floats = packed_filter_floats(out_c, in_c);
  for (int xi = 0; xi < kPositions; ++xi) {
    const float* uxi = u + xi * u_floats;
    const float* vxi = v + xi * in_c * columns;
    float* mxi = m + xi * out_c * columns;
    // Row panels outermost: a panel of filters (kRows x in_c) stays in L1 while every column
    // block of V streams past it.
    int64_t k = 0;
    for (; k + kRows <= out_c; k += kRows)
      panel_product<kRows>(uxi + k * in_c, vxi, mxi + k * columns, in_c, columns);
    switch (out_c - k) {
      case 0: break;
      case 1: panel_product<1>(uxi + k * in_c, vxi, mxi + k * columns, in_c, columns); break;
      case 2: panel_product<2>(uxi + k * in_c, vxi, mxi + k * columns, in_c, columns); break;
      case 3: panel_product<3>(uxi + k * in_c, vxi, mxi + k * columns, in_c, columns); break;
      case 4: panel_product<4>(uxi + k * in_c, vxi, mxi + k * columns, in_c, columns); break;
      case 5: panel_product<5>(uxi + k * in_c, vxi, mxi + k * columns, in_c, columns); break;
    }
  }
}

}  // namespace footprint::winograd
