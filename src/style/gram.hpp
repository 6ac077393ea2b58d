// Gram matrices over a rectangle of feature positions, and the style-loss gradient they give.
// Features are [C, h, w] floats; a rectangle's rows are strided, so each row (or the whole
// rectangle, when it spans full rows) is one GEMM.
#pragma once

#include <cstdint>

#include "style/tiling.hpp"

namespace footprint {

class ThreadPool;

// gram (C x C) += F F^T over the positions of rect.
void accumulate_gram(ThreadPool& pool, const float* features, int64_t c, int64_t h, int64_t w,
                     const FeatureRect& rect, float* gram);

// d_features[:, rect] = m (C x C, symmetric) * features[:, rect]; other positions untouched.
void apply_gram_gradient(ThreadPool& pool, const float* m, const float* features, int64_t c,
                         int64_t h, int64_t w, const FeatureRect& rect, float* d_features);

}  // namespace footprint
