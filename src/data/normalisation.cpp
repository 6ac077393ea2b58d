// Measuring a data set's per-channel mean and std from a spread of its samples, the way the
// IDX path measures Fashion-MNIST's when loading it.
#include <cmath>
#include <vector>

#include "footprint/data_source.hpp"
#include "footprint/error.hpp"

namespace footprint {

ImagePreprocess measure_normalisation(DataSource& images, const Shape& input, int64_t samples) {
  const ImagePreprocess identity{.mean = {0, 0, 0}, .std = {1, 1, 1}};
  images.set_normalisation(identity);
  const int64_t n = std::min(samples, images.size());
  std::vector<float> pixels(static_cast<size_t>(input.n_elems()));
  std::vector<float> target(static_cast<size_t>(std::max<int64_t>(images.target_elems(), 1)));
  std::array<double, 3> sum{}, sum_sq{};
  std::array<int64_t, 3> count{};
  const int64_t plane = input.h * input.w;
  std::string error;
  for (int64_t k = 0; k < n; ++k) {
    // Evenly over the whole set, so every class is seen (folders are in class order).
    const int64_t i = k * images.size() / n;
    if (images.read(i, input, 0, pixels.data(), target.data(), error) == -2) continue;
    for (int64_t c = 0; c < input.c; ++c) {
      for (int64_t p = 0; p < plane; ++p) {
        const double v = pixels[static_cast<size_t>(c * plane + p)];
        sum[c % 3] += v;
        sum_sq[c % 3] += v * v;
      }
      count[c % 3] += plane;
    }
  }
  ImagePreprocess measured = identity;
  for (int c = 0; c < 3; ++c) {
    if (count[c] == 0) continue;
    const double mean = sum[c] / static_cast<double>(count[c]);
    const double var = std::max(0.0, sum_sq[c] / static_cast<double>(count[c]) - mean * mean);
    measured.mean[c] = static_cast<float>(mean);
    // A constant channel would divide by zero: leave its scale alone.
    measured.std[c] = var > 1e-12 ? static_cast<float>(std::sqrt(var)) : 1.0f;
  }
  if (input.c == 1) {  // one grey channel: the same figures wherever index c % 3 lands
    measured.mean = {measured.mean[0], measured.mean[0], measured.mean[0]};
    measured.std = {measured.std[0], measured.std[0], measured.std[0]};
  }
  images.set_normalisation(measured);
  return measured;
}

}  // namespace footprint
