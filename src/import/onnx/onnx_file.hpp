// Reading ONNX files: the model's structure is parsed at once, while the bytes of large
// initializers stay in the file until a tensor is asked for, and are then read straight into
// their destination. So planning reads almost nothing and a run holds each weight once.
#pragma once

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>

namespace footprint {

// An open, read-only file that deferred tensors read their bytes from; closed when the last
// tensor lets go of it.
class OnnxFile {
 public:
  explicit OnnxFile(const std::string& path);  // IoError when it cannot be opened
  ~OnnxFile();
  OnnxFile(const OnnxFile&) = delete;
  OnnxFile& operator=(const OnnxFile&) = delete;

  [[nodiscard]] const std::string& path() const { return path_; }
  [[nodiscard]] int64_t size_bytes() const { return size_bytes_; }
  [[nodiscard]] int fd() const { return fd_; }
  // Reads exactly size_bytes bytes at offset into dst; IoError naming `what` when it cannot.
  void read(int64_t offset, int64_t size_bytes, void* dst, const std::string& what) const;

 private:
  std::string path_;
  int fd_ = -1;
  int64_t size_bytes_ = 0;
};

// Where an initializer's raw_data lies in the file.
struct FileRange {
  int64_t offset = 0;
  int64_t size_bytes = 0;
};

// A parsed model whose large initializers have no raw_data in memory: `deferred` says where in
// `file` each one's bytes are. Tensor pointers stay valid while `model` lives (not moved).
struct DeferredModel {
  onnx::ModelProto model;
  std::shared_ptr<const OnnxFile> file;
  std::unordered_map<const onnx::TensorProto*, FileRange> deferred;
};

// Initializers with at least this many bytes of raw_data are left in the file.
inline constexpr int64_t kDeferBytes = 4096;

// Parses path into out. IoError for a missing, empty, truncated or corrupt file.
void read_onnx_model_deferred(const std::string& path, DeferredModel& out);

}  // namespace footprint
