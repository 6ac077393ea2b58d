// Fuzz targets whose parsers read files: the input is written to a file in /dev/shm first.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>

namespace footprint::fuzz {

// A per-process path, rewritten for every input.
inline std::string write_input(const uint8_t* data, size_t size, const char* suffix) {
  const std::string path = "/dev/shm/footprint_fuzz_" + std::to_string(getpid()) + suffix;
  std::FILE* file = std::fopen(path.c_str(), "wb");
  if (file) {
    std::fwrite(data, 1, size, file);
    std::fclose(file);
  }
  return path;
}

}  // namespace footprint::fuzz
