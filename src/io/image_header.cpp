// Image sizes from their headers alone: PNG's IHDR, the first chunk, and JPEG's start-of-frame
// marker, found by walking the marker segments before it. Reading a few kilobytes of a file
// instead of decoding it lets an image folder be indexed (and non-images weeded out) quickly.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "footprint/error.hpp"
#include "footprint/image.hpp"

namespace footprint {
namespace {

uint32_t big_endian(const unsigned char* p, int bytes) {
  uint32_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | p[i];
  return v;
}

// The JPEG's frame size, or false when the bytes so far end before its start-of-frame marker.
// IoError for a marker stream that is not JPEG's.
bool jpeg_frame(const std::string& path, const std::vector<unsigned char>& b, size_t n,
                ImageSize& size) {
  size_t at = 2;  // after SOI
  while (true) {
    if (at + 4 > n) return false;
    if (b[at] != 0xff) throw IoError(path + ": a JPEG whose marker stream is broken (corrupt file?)");
    while (at < n && b[at] == 0xff) ++at;  // fill bytes
    if (at + 3 > n) return false;
    const unsigned marker = b[at++];
    if (marker == 0x01 || (marker >= 0xd0 && marker <= 0xd7)) continue;  // no length
    const uint32_t length = big_endian(&b[at], 2);
    if (length < 2) throw IoError(path + ": a JPEG with a marker segment of length < 2 (corrupt file?)");
    const bool frame = marker >= 0xc0 && marker <= 0xcf && marker != 0xc4 && marker != 0xc8 && marker != 0xcc;
    if (frame) {
      if (at + 7 > n) return false;
      size.height = big_endian(&b[at + 3], 2);
      size.width = big_endian(&b[at + 5], 2);
      return true;
    }
    if (marker == 0xda || marker == 0xd9) {
      throw IoError(path + ": a JPEG with no frame header before its scan data (corrupt file?)");
    }
    at += length;
  }
}

}  // namespace

ImageSize read_image_size(const std::string& path) {
  // One open, one fstat and (nearly always) one read: indexing a folder does this per file.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw IoError(path + ": cannot open (" + std::strerror(errno) + ")");
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw IoError(path + ": cannot stat (" + std::strerror(errno) + ")");
  const int64_t file_bytes = st.st_size;
  std::vector<unsigned char> bytes(static_cast<size_t>(std::min<int64_t>(4096, file_bytes)));
  auto read_at = [&](size_t offset) {
    size_t done = offset;
    while (done < bytes.size()) {
      const ssize_t got = ::pread(fd, bytes.data() + done, bytes.size() - done, static_cast<off_t>(done));
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) throw IoError(path + ": cannot read (" + (got < 0 ? std::strerror(errno) : "file shrank") + ")");
      done += static_cast<size_t>(got);
    }
    return done;
  };
  size_t n = read_at(0);
  ImageSize size{.file_bytes = file_bytes};
  static constexpr unsigned char kPng[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  if (n >= 8 && std::memcmp(bytes.data(), kPng, 8) == 0) {
    if (n < 24 || std::memcmp(&bytes[12], "IHDR", 4) != 0) {
      throw IoError(path + ": a PNG without its IHDR header (truncated or corrupt file?)");
    }
    size.width = big_endian(&bytes[16], 4);
    size.height = big_endian(&bytes[20], 4);
  } else if (n >= 3 && bytes[0] == 0xff && bytes[1] == 0xd8 && bytes[2] == 0xff) {
    // Segments before the frame (EXIF, thumbnails) can be long: read on until it is found.
    while (!jpeg_frame(path, bytes, n, size)) {
      if (static_cast<int64_t>(n) >= file_bytes) {
        throw IoError(path + ": a JPEG that ends before its frame header (truncated file?)");
      }
      bytes.resize(std::min<size_t>(bytes.size() * 4, static_cast<size_t>(file_bytes)));
      n = read_at(n);
    }
  } else {
    throw IoError(path + ": not a PNG or JPEG image (the file starts with neither signature)");
  }
  if (size.width < 1 || size.height < 1) {
    throw IoError(path + ": the header says " + std::to_string(size.width) + "x" +
                  std::to_string(size.height) + " pixels; expected at least 1x1");
  }
  return size;
}

}  // namespace footprint
