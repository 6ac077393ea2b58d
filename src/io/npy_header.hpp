// A .npy file's header: dtype, shape and where the data starts, for readers that map the data
// rather than read it (src/data/npy_source.cpp) as well as for read_npy.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace footprint {

enum class NpyDtype { f32, u8, i64, other };

struct NpyHeader {
  NpyDtype dtype = NpyDtype::other;
  std::string descr;               // as written, e.g. '<f4'
  std::string shape_text;          // as written, e.g. (60000, 1, 28, 28)
  std::vector<int64_t> shape;
  int64_t elements = 0;
  int64_t data_offset = 0;         // bytes from the start of the file
  int64_t data_bytes = 0;          // bytes the file has after the header
};

// IoError naming the file for a missing file, a foreign or truncated header, Fortran order.
// The dtype is reported, not checked.
[[nodiscard]] NpyHeader read_npy_header(const std::string& path);

}  // namespace footprint
