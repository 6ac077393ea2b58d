// NAME.tmp, fsync, rename: the one implementation of atomic saves (models, .npy, images).
#include "io/atomic_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "footprint/error.hpp"

namespace footprint {
namespace {

// Makes the rename itself durable. Best effort: the new file is complete either way, and some
// file systems refuse to open or sync a directory.
void sync_directory_of(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  const std::string dir = slash == std::string::npos ? "." : path.substr(0, slash + 1);
  const int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) return;
  (void)fsync(fd);
  close(fd);
}

}  // namespace

AtomicFile::AtomicFile(std::string path, std::string what)
    : path_(std::move(path)), tmp_path_(path_ + ".tmp"), what_(std::move(what)) {
  file_ = std::fopen(tmp_path_.c_str(), "wb");
  // Throwing from here skips the destructor, so a NAME.tmp we failed to open (a directory
  // squatting on the name, say) is never removed: it is not ours.
  if (file_ == nullptr) {
    const int error = errno;
    fail("cannot create " + tmp_path_ + ": " + std::strerror(error) +
         (error == ENOENT ? " (does the directory exist?)" : ""));
  }
}

AtomicFile::~AtomicFile() {
  if (file_ != nullptr) std::fclose(file_);
  if (!committed_) std::remove(tmp_path_.c_str());
}

void AtomicFile::write(const void* data, size_t n_bytes) {
  if (n_bytes == 0) return;
  errno = 0;
  if (std::fwrite(data, 1, n_bytes, file_) != n_bytes) {
    fail("cannot write " + tmp_path_ + ": " + std::strerror(errno != 0 ? errno : EIO));
  }
}

// Flushed to the disk before the rename, so a crash cannot leave NAME renamed but empty.
void AtomicFile::commit() {
  if (std::fflush(file_) != 0 || fsync(fileno(file_)) != 0) {
    fail("cannot flush " + tmp_path_ + ": " + std::strerror(errno));
  }
  const int close_result = std::fclose(file_);
  file_ = nullptr;
  if (close_result != 0) fail("cannot close " + tmp_path_ + ": " + std::strerror(errno));
  if (std::rename(tmp_path_.c_str(), path_.c_str()) != 0) {
    fail("cannot rename " + tmp_path_ + " to " + path_ + ": " + std::strerror(errno));
  }
  committed_ = true;
  sync_directory_of(path_);
}

void AtomicFile::fail(const std::string& detail) const { throw IoError(what_ + " " + path_ + ": " + detail); }

void write_file_atomically(const std::string& path, std::span<const std::byte> bytes,
                           const std::string& what) {
  AtomicFile file(path, what);
  file.write(bytes.data(), bytes.size());
  file.commit();
}

}  // namespace footprint
