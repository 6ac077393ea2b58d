// Synthetic data sets: samples and labels are hashes of (seed, index), generated when a batch
// is filled (batch.cpp), so any size costs no memory and every run sees the same data.
#include <string>

#include "core/check.hpp"
#include "core/rng.hpp"
#include "footprint/data.hpp"
#include "footprint/error.hpp"

namespace footprint {

namespace {
// Labels draw from their own stream so they are not a function of the sample's first pixel.
constexpr uint64_t kLabelStream = 0x6c6162656c73ull;  // "labels"
}  // namespace

Dataset synthetic_dataset(Shape sample_shape, int classes, int64_t size, uint64_t seed) {
  if (sample_shape.c < 1 || sample_shape.h < 1 || sample_shape.w < 1) {
    throw ShapeError("synthetic data set with sample shape " + sample_shape.str() +
                     ": every dimension must be at least 1");
  }
  if (classes < 1) {
    throw Error("synthetic data set with " + std::to_string(classes) +
                " classes: needs at least 1 class");
  }
  if (size < 1) {
    throw Error("synthetic data set with " + std::to_string(size) +
                " samples: needs at least 1 sample");
  }
  Dataset data;
  data.name = "synthetic";
  data.sample_shape = sample_shape;
  data.size = size;
  data.classes = classes;
  // Pixels are uniform in [0, 1): mean 1/2, std 1/sqrt(12).
  data.mean = 0.5f;
  data.std = 0.2887f;
  data.synthetic_seed = seed;
  return data;
}

int label_of(const Dataset& data, int64_t i) {
  FP_CHECK(i >= 0 && i < data.size, "sample %lld of a data set of %lld", static_cast<long long>(i),
           static_cast<long long>(data.size));
  if (!data.synthetic()) return data.labels[static_cast<size_t>(i)];
  const uint64_t hash = mix64(mix64(data.synthetic_seed ^ kLabelStream) + static_cast<uint64_t>(i));
  return static_cast<int>(hash % static_cast<uint64_t>(data.classes));
}

}  // namespace footprint
