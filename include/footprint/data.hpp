// Labelled image data sets, kept in their stored type (uint8) and converted to float batch by
// batch, so a data set costs what its file holds, not four times that. Data sets sit outside
// the plan (they do not depend on the net) and report their own bytes.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "footprint/net.hpp"
#include "footprint/shape.hpp"

namespace footprint {

struct Dataset {
  std::string name;               // "fashion-mnist train", "synthetic", ...
  Shape sample_shape;             // C x H x W of one sample
  int64_t size = 0;               // number of samples
  int classes = 10;               // labels are in [0, classes)
  std::vector<uint8_t> pixels;    // [size, C, H, W]; empty for synthetic data
  std::vector<uint8_t> labels;    // [size]; empty for synthetic data
  // Pixels are mapped to (p / 255 - mean) / std; mean and std are measured when loading.
  float mean = 0.0f;
  float std = 1.0f;
  uint64_t synthetic_seed = 0;    // synthetic: sample i is a hash of (seed, i)

  [[nodiscard]] bool synthetic() const { return pixels.empty() && size > 0; }
  [[nodiscard]] int64_t bytes() const {
    return static_cast<int64_t>(pixels.size() + labels.size());
  }
};

struct DataSplit {
  Dataset train;
  Dataset test;
};

// IDX files (MNIST format), gzipped or not (told apart by their first bytes, not their names).
// IoError naming the file for a missing, truncated, corrupt or mismatched pair.
Dataset load_idx(const std::string& images_path, const std::string& labels_path);

// A directory holding train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz],
// t10k-images-idx3-ubyte[.gz] and t10k-labels-idx1-ubyte[.gz].
DataSplit load_mnist_dir(const std::string& dir);

// Where Debian's dataset-fashion-mnist package puts the files.
inline constexpr const char* kFashionMnistDir = "/usr/share/datasets/fashion-mnist";

// Random samples of the given shape and labels, generated on demand (no storage).
Dataset synthetic_dataset(Shape sample_shape, int classes, int64_t size, uint64_t seed);

// Writes samples `indices` of `data` into a net's input ([n, C, H, W] floats) and target
// (int32 labels for softmax_xent; one-hot floats [n, outputs] for mse). target may be nullptr.
// Throws ShapeError if the data set's sample shape or classes do not fit the net.
void fill_batch(const Dataset& data, std::span<const int64_t> indices, LossKind loss,
                int64_t outputs, float* input, void* target);

// Label of sample i (synthetic data included).
[[nodiscard]] int label_of(const Dataset& data, int64_t i);

}  // namespace footprint
