// Loads MNIST-format IDX files (images + labels, gzipped or plain) into a Dataset of uint8 pixels.
// A corrupt header never makes us allocate more than the file can hold; every failure is an
// IoError naming the file. Conversion to float happens per batch, in batch.cpp.
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "footprint/data.hpp"
#include "footprint/error.hpp"

namespace footprint {
namespace {

namespace fs = std::filesystem;

constexpr uint32_t kImagesMagic = 0x00000803;  // idx3, unsigned bytes
constexpr uint32_t kLabelsMagic = 0x00000801;  // idx1, unsigned bytes
constexpr uint32_t kMaxSide = 4096;            // rows or cols beyond this are a corrupt header
constexpr uint32_t kMaxCount = 1u << 31;
// gzip data is read in chunks of this size, so a header that lies about the count costs at most
// what the file really holds (plus one chunk), not what the header claims.
constexpr int64_t kChunkBytes = int64_t{16} << 20;
constexpr const char* kMissingHint = "install dataset-fashion-mnist or pass --data mnist:DIR";

std::string hex32(uint32_t value) {
  char text[16];
  std::snprintf(text, sizeof text, "0x%08x", value);
  return text;
}

// What a magic number would mean, so "found" in an error tells the user which file they passed.
std::string describe_magic(uint32_t magic) {
  if (magic == kImagesMagic) return hex32(magic) + " (idx3 u8 images)";
  if (magic == kLabelsMagic) return hex32(magic) + " (idx1 u8 labels)";
  if ((magic >> 16) == 0x1f8b) return hex32(magic) + " (gzip magic: compressed twice?)";
  return hex32(magic);
}

struct GzCloser {
  void operator()(gzFile file) const { gzclose(file); }
};

// One open IDX file. zlib reads plain files transparently, so both kinds go through gzread;
// only the truncation check differs (plain files know their size up front).
class IdxFile {
 public:
  explicit IdxFile(const std::string& path) : path_(path) {
    std::error_code ec;
    if (!fs::exists(path, ec)) {
      throw IoError(path + ": no such file (" + kMissingHint + ")");
    }
    if (!fs::is_regular_file(path, ec)) {
      throw IoError(path + ": not a regular file; expected an IDX file");
    }
    file_bytes_ = static_cast<int64_t>(fs::file_size(path, ec));
    if (ec) throw IoError(path + ": cannot read its size: " + ec.message());

    std::array<unsigned char, 2> first{};
    std::ifstream probe(path, std::ios::binary);
    if (!probe) throw IoError(path + ": cannot open for reading");
    probe.read(reinterpret_cast<char*>(first.data()), first.size());
    gzipped_ = probe.gcount() == 2 && first[0] == 0x1f && first[1] == 0x8b;

    file_.reset(gzopen(path.c_str(), "rb"));
    if (!file_) throw IoError(path + ": cannot open for reading");
    gzbuffer(file_.get(), 1 << 17);
  }

  [[nodiscard]] const std::string& path() const { return path_; }
  [[nodiscard]] bool gzipped() const { return gzipped_; }

  // Bytes after the header for a plain file; -1 for gzip, whose inflated size is unknown.
  [[nodiscard]] int64_t plain_bytes_left() const {
    return gzipped_ ? -1 : std::max<int64_t>(0, file_bytes_ - consumed_);
  }

  // Reads up to n_bytes; returns how many arrived (fewer only at the end of the data).
  int64_t read(uint8_t* dst, int64_t n_bytes) {
    int64_t done = 0;
    while (done < n_bytes) {
      // gzread takes an unsigned int; keep each call well below its limit.
      const auto want = static_cast<unsigned>(std::min<int64_t>(n_bytes - done, kChunkBytes));
      const int got = gzread(file_.get(), dst + done, want);
      if (got < 0) {
        int code = 0;
        std::string message = gzerror(file_.get(), &code);
        // zlib prefixes its message with the path, which we already say.
        if (message.starts_with(path_ + ": ")) message.erase(0, path_.size() + 2);
        throw IoError(path_ + ": corrupt " + (gzipped_ ? "gzip data" : "file") + ": " + message);
      }
      if (got == 0) break;
      done += got;
    }
    consumed_ += done;
    return done;
  }

  // The magic number and dims of an IDX header, checked against what the caller expects.
  std::vector<uint32_t> read_header(uint32_t expected_magic, const char* expected_what,
                                    const char* what_plural, int n_dims) {
    std::array<uint8_t, 4 * 4> bytes{};
    const int64_t header_bytes = 4 * (1 + n_dims);
    const int64_t got = read(bytes.data(), header_bytes);
    if (got < 4) {
      throw IoError(path_ + ": truncated: expected a " + std::to_string(header_bytes) +
                    "-byte IDX header, the file has " + std::to_string(got) + " bytes");
    }
    auto word = [&](int index) {
      const uint8_t* p = bytes.data() + 4 * index;
      return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | uint32_t{p[3]};
    };
    const uint32_t magic = word(0);
    if (magic != expected_magic) {
      throw IoError(path_ + ": not an IDX file of " + what_plural + ": expected " +
                    hex32(expected_magic) + " (" + expected_what + "), found " +
                    describe_magic(magic));
    }
    if (got < header_bytes) {
      throw IoError(path_ + ": truncated: expected a " + std::to_string(header_bytes) +
                    "-byte IDX header, the file has " + std::to_string(got) + " bytes");
    }
    std::vector<uint32_t> dims;
    for (int d = 0; d < n_dims; ++d) dims.push_back(word(1 + d));
    return dims;
  }

  // Reads exactly n_bytes of payload or throws, saying what the header promised (`promised`).
  // Memory grows with what actually arrives, never with what the header claims.
  std::vector<uint8_t> read_payload(int64_t n_bytes, const std::string& promised) {
    auto truncated = [&](int64_t bytes_left) {
      return IoError(path_ + ": truncated: header says " + promised + " (" +
                     std::to_string(n_bytes) + " bytes), the file has " +
                     std::to_string(bytes_left) + " left (truncated file?)");
    };
    if (!gzipped_ && plain_bytes_left() < n_bytes) throw truncated(plain_bytes_left());

    std::vector<uint8_t> data;
    if (!gzipped_) data.reserve(static_cast<size_t>(n_bytes));
    while (static_cast<int64_t>(data.size()) < n_bytes) {
      const int64_t start = static_cast<int64_t>(data.size());
      const int64_t want = std::min(n_bytes - start, kChunkBytes);
      data.resize(static_cast<size_t>(start + want));
      const int64_t got = read(data.data() + start, want);
      if (got < want) throw truncated(start + got);
    }
    return data;
  }

 private:
  std::string path_;
  std::unique_ptr<gzFile_s, GzCloser> file_;
  bool gzipped_ = false;
  int64_t file_bytes_ = 0;  // on disk (compressed size for gzip)
  int64_t consumed_ = 0;    // bytes delivered so far (inflated for gzip)
};

// Mean and std of pixel / 255 over the whole set, from a byte histogram: one pass, exact in
// double, and no float copy of the data.
void measure_pixels(Dataset& data) {
  std::array<int64_t, 256> histogram{};
  for (uint8_t p : data.pixels) ++histogram[p];
  const double n = static_cast<double>(data.pixels.size());
  double sum = 0.0;
  double sum_sq = 0.0;
  for (int v = 0; v < 256; ++v) {
    const double x = v / 255.0;
    sum += static_cast<double>(histogram[v]) * x;
    sum_sq += static_cast<double>(histogram[v]) * x * x;
  }
  const double mean = sum / n;
  const double variance = std::max(0.0, sum_sq / n - mean * mean);
  data.mean = static_cast<float>(mean);
  data.std = static_cast<float>(std::max(std::sqrt(variance), 1e-6));
}

// dir/name if it exists, else dir/name.gz; IoError with a hint when neither does.
std::string find_in_dir(const fs::path& dir, const std::string& name) {
  std::error_code ec;
  for (const fs::path& candidate : {dir / name, dir / (name + ".gz")}) {
    if (fs::exists(candidate, ec)) return candidate.string();
  }
  throw IoError(dir.string() + ": has neither " + name + " nor " + name + ".gz (" +
                kMissingHint + ")");
}

}  // namespace

Dataset load_idx(const std::string& images_path, const std::string& labels_path) {
  IdxFile images(images_path);
  const std::vector<uint32_t> image_dims =
      images.read_header(kImagesMagic, "idx3 u8 images", "images", /*n_dims=*/3);
  const uint32_t count = image_dims[0];
  const uint32_t rows = image_dims[1];
  const uint32_t cols = image_dims[2];
  const std::string geometry = std::to_string(count) + " images of " + std::to_string(rows) +
                               "x" + std::to_string(cols);
  if (count == 0 || count > kMaxCount || rows == 0 || rows > kMaxSide || cols == 0 ||
      cols > kMaxSide) {
    throw IoError(images_path + ": corrupt header: it says " + geometry +
                  "; expected 1 to 2^31 images of 1 to " + std::to_string(kMaxSide) +
                  " pixels a side");
  }

  IdxFile labels(labels_path);
  const uint32_t label_count =
      labels.read_header(kLabelsMagic, "idx1 u8 labels", "labels", /*n_dims=*/1)[0];
  if (label_count != count) {
    throw IoError(labels_path + " has " + std::to_string(label_count) + " labels, but " +
                  images_path + " has " + std::to_string(count) +
                  " images; expected one label per image (files from different sets?)");
  }

  Dataset data;
  data.name = fs::path(images_path).filename().string();
  data.sample_shape = Shape{.c = 1, .h = rows, .w = cols};
  data.size = count;
  data.pixels = images.read_payload(int64_t{count} * rows * cols, geometry);
  data.labels = labels.read_payload(count, std::to_string(count) + " labels");

  const int max_label = *std::max_element(data.labels.begin(), data.labels.end());
  data.classes = std::max(10, max_label + 1);  // u8 labels are < 256 by construction
  measure_pixels(data);
  return data;
}

DataSplit load_mnist_dir(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    throw IoError(dir + ": no such directory; expected one holding MNIST-format IDX files (" +
                  kMissingHint + ")");
  }
  const fs::path root(dir);
  // Find all four before reading any, so a missing file is reported before a long load.
  const std::string train_images = find_in_dir(root, "train-images-idx3-ubyte");
  const std::string train_labels = find_in_dir(root, "train-labels-idx1-ubyte");
  const std::string test_images = find_in_dir(root, "t10k-images-idx3-ubyte");
  const std::string test_labels = find_in_dir(root, "t10k-labels-idx1-ubyte");
  DataSplit split;
  split.train = load_idx(train_images, train_labels);
  split.test = load_idx(test_images, test_labels);
  return split;
}

}  // namespace footprint
