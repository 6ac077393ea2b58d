// NumPy .npy files of float32 in C order: what `footprint run` reads and writes.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace footprint {

struct NpyArray {
  std::vector<int64_t> shape;  // () for a scalar
  std::vector<float> data;     // C order
};

// IoError naming the file for a missing, truncated or foreign file, a dtype other than float32
// ('<f4'), or Fortran order.
[[nodiscard]] NpyArray read_npy(const std::string& path);
// Writes format version 1.0 atomically (NAME.tmp, fsync, then rename).
void write_npy(const std::string& path, const std::vector<int64_t>& shape, const float* data);

}  // namespace footprint
