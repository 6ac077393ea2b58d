// Turns samples of a Dataset into one batch of net input (normalised floats) and targets.
// This is the only place uint8 pixels become floats, so a data set never exists as floats whole.
#include <array>
#include <cstring>
#include <string>

#include "core/check.hpp"
#include "core/rng.hpp"
#include "footprint/data.hpp"
#include "footprint/error.hpp"

namespace footprint {
namespace {

// Synthetic sample i: one key per sample, then one hash per element, so any sample can be
// generated alone and in any order. Uniform in [0, 1), like pixel / 255 of real data.
uint64_t synthetic_sample_key(uint64_t seed, int64_t i) {
  return mix64(seed ^ mix64(static_cast<uint64_t>(i)));
}
float synthetic_pixel(uint64_t sample_key, int64_t element) {
  return unit_float(mix64(sample_key + static_cast<uint64_t>(element)));
}

}  // namespace

void fill_batch(const Dataset& data, std::span<const int64_t> indices, LossKind loss,
                int64_t outputs, float* input, void* target) {
  const int64_t sample_elems = data.sample_shape.n_elems();
  const float inv_std = 1.0f / data.std;

  // (p / 255 - mean) / std for every byte value: one lookup per pixel.
  std::array<float, 256> normalised{};
  for (int p = 0; p < 256; ++p) normalised[p] = (p / 255.0f - data.mean) * inv_std;

  for (size_t n = 0; n < indices.size(); ++n) {
    const int64_t i = indices[n];
    FP_CHECK(i >= 0 && i < data.size, "sample %lld of '%s', which has %lld",
             static_cast<long long>(i), data.name.c_str(), static_cast<long long>(data.size));
    float* dst = input + static_cast<int64_t>(n) * sample_elems;  // [C, H, W] of sample n
    if (data.synthetic()) {
      const uint64_t key = synthetic_sample_key(data.synthetic_seed, i);
      for (int64_t e = 0; e < sample_elems; ++e) {
        dst[e] = (synthetic_pixel(key, e) - data.mean) * inv_std;
      }
    } else {
      const uint8_t* src = data.pixels.data() + i * sample_elems;
      for (int64_t e = 0; e < sample_elems; ++e) dst[e] = normalised[src[e]];
    }

    if (target == nullptr || loss == LossKind::none) continue;
    const int label = label_of(data, i);
    if (label >= outputs) {
      throw ShapeError("'" + data.name + "' sample " + std::to_string(i) + ": label " +
                       std::to_string(label) + " does not fit a net with " +
                       std::to_string(outputs) + " outputs; expected at least " +
                       std::to_string(data.classes) + " (one per class)");
    }
    if (loss == LossKind::softmax_xent) {
      static_cast<int32_t*>(target)[n] = label;
    } else {  // LossKind::mse
      // Row n of the [n, outputs] one-hot matrix.
      float* one_hot = static_cast<float*>(target) + static_cast<int64_t>(n) * outputs;
      std::memset(one_hot, 0, static_cast<size_t>(outputs) * sizeof(float));
      one_hot[label] = 1.0f;
    }
  }
}

}  // namespace footprint
