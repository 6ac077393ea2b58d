// Samples from NumPy arrays mapped from disk. A sample is copied out of the mapping and its
// pages are given back at once (MADV_DONTNEED: the file's pages stay in the page cache, the
// process no longer holds them), so however many samples an epoch reads, the process keeps
// none of them.
#include <sys/mman.h>
#include <unistd.h>
#include <fcntl.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>

#include "footprint/data_source.hpp"
#include "footprint/error.hpp"
#include "io/npy_header.hpp"

namespace footprint {
namespace {

// A read-only mapping of a whole file.
class MappedFile {
 public:
  explicit MappedFile(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw IoError(path + ": cannot open (" + std::strerror(errno) + ")");
    const off_t size = ::lseek(fd, 0, SEEK_END);
    bytes_ = size > 0 ? static_cast<size_t>(size) : 0;
    if (bytes_ > 0) {
      void* at = ::mmap(nullptr, bytes_, PROT_READ, MAP_PRIVATE, fd, 0);
      if (at == MAP_FAILED) {
        const int err = errno;
        ::close(fd);
        throw IoError(path + ": cannot map (" + std::strerror(err) + ")");
      }
      data_ = static_cast<const unsigned char*>(at);
    }
    ::close(fd);
  }
  ~MappedFile() {
    if (data_) ::munmap(const_cast<unsigned char*>(data_), bytes_);
  }
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  [[nodiscard]] const unsigned char* data() const { return data_; }

  // Gives back the pages holding [offset, offset + n). A page shared with a neighbouring sample
  // that another thread is reading is harmless to drop: the mapping is private and never
  // written, so the next touch reads the same bytes again from the page cache.
  void release(int64_t offset, int64_t n) const {
    static const int64_t page = ::sysconf(_SC_PAGESIZE);
    const int64_t first = offset / page * page;
    const int64_t last = std::min<int64_t>((offset + n + page - 1) / page * page,
                                           static_cast<int64_t>(bytes_));
    if (last > first) {
      ::madvise(const_cast<unsigned char*>(data_) + first, static_cast<size_t>(last - first), MADV_DONTNEED);
    }
  }

 private:
  const unsigned char* data_ = nullptr;
  size_t bytes_ = 0;
};

class NpySource final : public DataSource {
 public:
  NpySource(const std::string& x_path, const std::string& y_path, const ImagePreprocess& normalise)
      : name_("arrays " + x_path + ", " + y_path), x_path_(x_path), y_path_(y_path),
        normalise_(normalise), x_header_(read_npy_header(x_path)), y_header_(read_npy_header(y_path)),
        x_(x_path), y_(y_path) {
    const auto& xs = x_header_.shape;
    if (x_header_.dtype != NpyDtype::f32 && x_header_.dtype != NpyDtype::u8) {
      throw IoError(x_path + ": dtype " + x_header_.descr + "; expected float32 ('<f4') or uint8 ('|u1')");
    }
    if (xs.size() != 4) {
      throw IoError(x_path + ": shape " + x_header_.shape_text + "; expected (N, C, H, W)");
    }
    sample_shape_ = Shape{xs[1], xs[2], xs[3]};
    n_ = xs[0];
    x_item_ = x_header_.dtype == NpyDtype::u8 ? 1 : 4;
    if (x_header_.elements * x_item_ > x_header_.data_bytes) {
      throw IoError(x_path + ": shape " + x_header_.shape_text + " needs " +
                    std::to_string(x_header_.elements * x_item_) + " bytes of data, the file has " +
                    std::to_string(x_header_.data_bytes) + " (truncated file?)");
    }
    const auto& ys = y_header_.shape;
    if (ys.empty() || ys[0] != n_) {
      throw IoError(y_path + ": shape " + y_header_.shape_text + "; expected " + std::to_string(n_) +
                    " rows, one per sample of " + x_path);
    }
    if (y_header_.dtype == NpyDtype::i64 && ys.size() == 1) {
      y_item_ = 8;
      y_elems_ = 1;
    } else if (y_header_.dtype == NpyDtype::f32) {
      y_item_ = 4;
      y_elems_ = n_ > 0 ? y_header_.elements / n_ : 0;
    } else {
      throw IoError(y_path + ": dtype " + y_header_.descr + " with shape " + y_header_.shape_text +
                    "; expected int64 labels of shape (N,) or float32 targets of shape (N, ...)");
    }
    if (y_header_.elements * y_item_ > y_header_.data_bytes) {
      throw IoError(y_path + ": shape " + y_header_.shape_text + " needs " +
                    std::to_string(y_header_.elements * y_item_) + " bytes of data, the file has " +
                    std::to_string(y_header_.data_bytes) + " (truncated file?)");
    }
    // Labels: the number of classes is one more than the largest, read once here a page at a
    // time (given back as it goes).
    if (y_item_ == 8) {
      for (int64_t i = 0; i < n_; ++i) {
        const int64_t label = label_at(i);
        if (label < 0 || label > 65535) {
          throw IoError(y_path + ": label " + std::to_string(label) + " of sample " + std::to_string(i) +
                        "; expected 0 to 65535");
        }
        classes_ = std::max<int>(classes_, static_cast<int>(label) + 1);
        if ((i + 1) % 4096 == 0 || i + 1 == n_) y_.release(y_header_.data_offset, (i + 1) * 8);
      }
    }
  }

  const std::string& name() const override { return name_; }
  int64_t size() const override { return n_; }
  int classes() const override { return classes_; }
  bool float_targets() const override { return y_item_ == 4; }
  int64_t target_elems() const override { return y_item_ == 4 ? y_elems_ : 0; }

  void check_fits(const Shape& input, int64_t outputs) const override {
    if (!(sample_shape_ == input)) {
      throw ShapeError(x_path_ + ": samples are " + sample_shape_.str() + " but the net's input is " +
                       input.str() + " (arrays are not resized; images in a folder are)");
    }
    if (y_item_ == 4 && y_elems_ != outputs) {
      throw ShapeError(y_path_ + ": targets of " + std::to_string(y_elems_) +
                       " values a sample, but the net has " + std::to_string(outputs) + " outputs");
    }
    if (y_item_ == 8 && classes_ > outputs) {
      throw ShapeError(y_path_ + ": labels up to " + std::to_string(classes_ - 1) +
                       " do not fit a net with " + std::to_string(outputs) + " outputs");
    }
  }

  int read(int64_t i, const Shape& input, uint64_t, float* pixels, float* target,
           std::string&) const override {
    const int64_t elems = input.n_elems();
    const int64_t offset = x_header_.data_offset + i * elems * x_item_;
    if (x_item_ == 4) {
      std::memcpy(pixels, x_.data() + offset, static_cast<size_t>(elems * 4));
    } else {
      const int64_t plane = input.h * input.w;
      const unsigned char* src = x_.data() + offset;
      for (int64_t c = 0; c < input.c; ++c) {
        const float scale = 1.0f / (255.0f * normalise_.std[c % 3]);
        const float shift = normalise_.mean[c % 3] / normalise_.std[c % 3];
        for (int64_t p = 0; p < plane; ++p) pixels[c * plane + p] = src[c * plane + p] * scale - shift;
      }
    }
    x_.release(offset, elems * x_item_);
    if (y_item_ == 4) {
      const int64_t y_offset = y_header_.data_offset + i * y_elems_ * 4;
      std::memcpy(target, y_.data() + y_offset, static_cast<size_t>(y_elems_ * 4));
      y_.release(y_offset, y_elems_ * 4);
      return -1;
    }
    const int label = static_cast<int>(label_at(i));
    y_.release(y_header_.data_offset + i * 8, 8);
    return label;
  }

  int label_hint(int64_t i) const override { return y_item_ == 8 ? static_cast<int>(label_at(i)) : -1; }
  void set_normalisation(const ImagePreprocess& normalise) override { normalise_ = normalise; }
  int64_t resident_bytes() const override { return 0; }
  // The pages of one sample and its target, until they are given back.
  int64_t read_scratch_bytes(const Shape& input) const override {
    return input.n_elems() * x_item_ + y_elems_ * y_item_ + 2 * 4096;
  }

 private:
  int64_t label_at(int64_t i) const {
    int64_t label;
    std::memcpy(&label, y_.data() + y_header_.data_offset + i * 8, 8);
    return label;
  }

  std::string name_, x_path_, y_path_;
  ImagePreprocess normalise_;
  NpyHeader x_header_, y_header_;
  MappedFile x_, y_;
  Shape sample_shape_;
  int64_t n_ = 0, x_item_ = 4, y_item_ = 8, y_elems_ = 1;
  int classes_ = 0;
};

}  // namespace

std::unique_ptr<DataSource> npy_source(const std::string& x_path, const std::string& y_path,
                                       const ImagePreprocess& normalise) {
  return std::make_unique<NpySource>(x_path, y_path, normalise);
}

}  // namespace footprint
