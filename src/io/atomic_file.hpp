// Atomic saves: bytes go to NAME.tmp, which commit() flushes to the disk and renames over NAME.
// Until then NAME is untouched, and an AtomicFile destroyed without commit() removes NAME.tmp,
// so a failed or interrupted save leaves the previous file as it was. What to write is the caller's.
#pragma once

#include <cstddef>
#include <cstdio>
#include <span>
#include <string>

namespace footprint {

class AtomicFile {
 public:
  // Errors are IoErrors reading "<what> PATH: ...", e.g. what = "saving model".
  AtomicFile(std::string path, std::string what);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(const void* data, size_t n_bytes);
  // fsync, close and rename over NAME; after it the destructor leaves everything in place.
  void commit();

 private:
  [[noreturn]] void fail(const std::string& detail) const;

  std::string path_;
  std::string tmp_path_;
  std::string what_;
  std::FILE* file_ = nullptr;
  bool committed_ = false;
};

// The whole file at once, through an AtomicFile.
void write_file_atomically(const std::string& path, std::span<const std::byte> bytes,
                           const std::string& what);

}  // namespace footprint
