// The vectorised activations (kernels/eltwise/activation_fast.cpp) against std::tanh, std::exp
// and the exact sigmoid computed in double: every float in a wide range, lengths that are not a
// multiple of the vector width, in place, and the special values.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "kernels/eltwise/activation_fast.hpp"

namespace footprint {
namespace {

// -20..20 in small steps, plus tiny magnitudes where tanh(x) ~ x must keep its relative accuracy.
std::vector<float> sample_inputs() {
  std::vector<float> x;
  for (double v = -20.0; v < 20.0; v += 1.0 / 1024 + 1e-7) x.push_back(static_cast<float>(v));
  for (float v = 1e-30f; v < 1.0f; v *= 1.1f) x.push_back(v), x.push_back(-v);
  x.push_back(0.625f), x.push_back(-0.625f), x.push_back(0.0f), x.push_back(-0.0f);
  return x;
}

TEST(ActivationFastTest, TanhMatchesStd) {
  const std::vector<float> x = sample_inputs();
  std::vector<float> y(x.size());
  tanh_fast(x.data(), y.data(), static_cast<int64_t>(x.size()));
  for (size_t i = 0; i < x.size(); ++i) {
    const double want = std::tanh(static_cast<double>(x[i]));
    // 2e-7 absolute (about 2 ulp near 1) and 3e-7 relative (small inputs).
    ASSERT_LE(std::fabs(y[i] - want), std::max(2e-7, 3e-7 * std::fabs(want)))
        << "tanh(" << x[i] << ") = " << y[i] << ", want " << want;
  }
}

TEST(ActivationFastTest, SigmoidSiluAndExpMatchDouble) {
  const std::vector<float> x = sample_inputs();
  std::vector<float> y(x.size());
  sigmoid_fast(x.data(), y.data(), static_cast<int64_t>(x.size()));
  for (size_t i = 0; i < x.size(); ++i) {
    const double want = 1.0 / (1.0 + std::exp(-static_cast<double>(x[i])));
    ASSERT_LE(std::fabs(y[i] - want), 3e-7 * want) << "sigmoid(" << x[i] << ") = " << y[i];
  }
  silu_fast(x.data(), y.data(), static_cast<int64_t>(x.size()));
  for (size_t i = 0; i < x.size(); ++i) {
    const double xd = x[i], want = xd / (1.0 + std::exp(-xd));
    ASSERT_LE(std::fabs(y[i] - want), 3e-7 * std::fabs(want)) << "silu(" << x[i] << ") = " << y[i];
  }
  exp_fast(x.data(), y.data(), static_cast<int64_t>(x.size()));
  for (size_t i = 0; i < x.size(); ++i) {
    const double want = std::exp(static_cast<double>(x[i]));
    ASSERT_LE(std::fabs(y[i] - want), 3e-7 * want) << "exp(" << x[i] << ") = " << y[i];
  }
}

TEST(ActivationFastTest, SpecialValuesAndTails) {
  const float inf = std::numeric_limits<float>::infinity();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  std::vector<float> x = {nan, inf, -inf, 100.0f, -100.0f, 9.5f, -9.5f};
  std::vector<float> y(x.size());
  tanh_fast(x.data(), y.data(), static_cast<int64_t>(x.size()));
  EXPECT_TRUE(std::isnan(y[0])) << "a NaN (an unwritten arena buffer) must stay visible";
  EXPECT_EQ(y[1], 1.0f);
  EXPECT_EQ(y[2], -1.0f);
  EXPECT_EQ(y[3], 1.0f);
  EXPECT_EQ(y[4], -1.0f);
  EXPECT_EQ(y[5], 1.0f);
  EXPECT_EQ(y[6], -1.0f);
  sigmoid_fast(x.data(), y.data(), static_cast<int64_t>(x.size()));
  EXPECT_TRUE(std::isnan(y[0]));
  EXPECT_EQ(y[1], 1.0f);
  EXPECT_LE(y[2], 1e-37f);
  // Every length from 0 to 40, in place, so the vector loop's remainder is exercised.
  for (int64_t n = 0; n <= 40; ++n) {
    std::vector<float> v(n), want(n);
    for (int64_t i = 0; i < n; ++i) v[i] = 0.37f * static_cast<float>(i) - 7.0f;
    for (int64_t i = 0; i < n; ++i) want[i] = std::tanh(v[i]);
    tanh_fast(v.data(), v.data(), n);
    for (int64_t i = 0; i < n; ++i) ASSERT_NEAR(v[i], want[i], 2e-7) << "n=" << n << " i=" << i;
  }
}

// The batch norm's scale and shift, the clip and ReLU against their plain loops, bit for bit (a
// multiply then an add, never one FMA: the fused and unfused inference paths must agree), every
// length from 0 to 40 and in place; a NaN stays NaN through the clip.
TEST(ActivationFastTest, ScaleShiftClipAndReluMatchTheirLoops) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (int64_t n = 0; n <= 40; ++n) {
    std::vector<float> x(n), y(n), want(n);
    for (int64_t i = 0; i < n; ++i) x[i] = 0.37f * static_cast<float>(i) - 7.1f;
    const float scale = 1.3f, shift = -0.7f;
    for (int64_t i = 0; i < n; ++i) want[i] = x[i] * scale + shift;
    scale_shift_fast(x.data(), y.data(), n, scale, shift);
    ASSERT_EQ(y, want) << "n=" << n;
    std::vector<float> relu(n);
    for (int64_t i = 0; i < n; ++i) want[i] = x[i] > 0.0f ? x[i] : 0.0f;
    relu_fast(x.data(), relu.data(), n);
    ASSERT_EQ(relu, want) << "n=" << n;
    for (int64_t i = 0; i < n; ++i) want[i] = x[i] < -1.0f ? -1.0f : (x[i] > 2.5f ? 2.5f : x[i]);
    clip_fast(x.data(), x.data(), n, -1.0f, 2.5f);
    ASSERT_EQ(x, want) << "n=" << n;
  }
  std::vector<float> v = {nan, -5.0f, 9.0f};
  clip_fast(v.data(), v.data(), 3, 0.0f, 6.0f);
  EXPECT_TRUE(std::isnan(v[0]));
  EXPECT_EQ(v[1], 0.0f);
  EXPECT_EQ(v[2], 6.0f);
}

}  // namespace
}  // namespace footprint
