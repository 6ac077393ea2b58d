// ONNX files read with the initializers' bytes left in place: the file is mapped, the protobuf
// wire format walked down ModelProto.graph.initializer[].raw_data, and every other field handed
// to protobuf's own parser. A skipped raw_data is never touched, so it never becomes resident.
#include "import/onnx/onnx_file.hpp"

#include <fcntl.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/wire_format_lite.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <optional>

#include "footprint/error.hpp"

namespace footprint {
namespace {

namespace pb = google::protobuf;
using Wire = pb::internal::WireFormatLite;

// Field numbers from onnx.proto.
constexpr int kModelGraph = 7;
constexpr int kGraphInitializer = 5;
constexpr int kTensorRawData = 9;

bool is_bytes_field(uint32_t tag, int field) {
  return Wire::GetTagFieldNumber(tag) == field &&
         Wire::GetTagWireType(tag) == Wire::WIRETYPE_LENGTH_DELIMITED;
}

// Reads the fields of one message up to the stream's limit: `own` handles the fields it wants
// (returns false on a parse failure), every other field is copied verbatim and merged into msg
// by protobuf at the end.
template <typename Own>
bool read_message(pb::io::CodedInputStream& in, pb::MessageLite& msg, Own own) {
  std::string rest;
  {
    pb::io::StringOutputStream rest_stream(&rest);
    pb::io::CodedOutputStream out(&rest_stream);
    while (const uint32_t tag = in.ReadTag()) {
      std::optional<bool> handled = own(tag);
      if (handled) {
        if (!*handled) return false;
        continue;
      }
      if (!Wire::SkipField(&in, tag, &out)) return false;
    }
    if (!in.ConsumedEntireMessage()) return false;
  }
  return msg.MergeFromString(rest);
}

// A length-delimited sub-message: reads it with `read` inside its limit.
template <typename Read>
bool read_nested(pb::io::CodedInputStream& in, Read read) {
  uint32_t size = 0;
  if (!in.ReadVarint32(&size)) return false;
  const auto limit = in.PushLimit(static_cast<int>(size));
  if (!read() || in.BytesUntilLimit() != 0) return false;
  in.PopLimit(limit);
  return true;
}

bool read_tensor(pb::io::CodedInputStream& in, onnx::TensorProto& tensor, std::optional<FileRange>& range) {
  return read_message(in, tensor, [&](uint32_t tag) -> std::optional<bool> {
    if (!is_bytes_field(tag, kTensorRawData)) return std::nullopt;
    uint32_t size = 0;
    if (!in.ReadVarint32(&size)) return false;
    if (size >= kDeferBytes) {
      range = FileRange{.offset = in.CurrentPosition(), .size_bytes = size};
      return in.Skip(static_cast<int>(size));
    }
    range.reset();  // a later raw_data replaces an earlier one, as in protobuf
    std::string bytes;
    if (!in.ReadString(&bytes, static_cast<int>(size))) return false;
    tensor.set_raw_data(std::move(bytes));
    return true;
  });
}

bool read_graph(pb::io::CodedInputStream& in, onnx::GraphProto& graph, DeferredModel& out) {
  return read_message(in, graph, [&](uint32_t tag) -> std::optional<bool> {
    if (!is_bytes_field(tag, kGraphInitializer)) return std::nullopt;
    onnx::TensorProto* tensor = graph.add_initializer();
    std::optional<FileRange> range;
    if (!read_nested(in, [&] { return read_tensor(in, *tensor, range); })) return false;
    if (range) out.deferred[tensor] = *range;
    return true;
  });
}

// The file mapped read-only for the walk; unmapped when the walk is done.
class Mapping {
 public:
  Mapping(int fd, int64_t size_bytes) : size_bytes_(size_bytes) {
    data_ = ::mmap(nullptr, static_cast<size_t>(size_bytes), PROT_READ, MAP_PRIVATE, fd, 0);
  }
  ~Mapping() {
    if (data_ != MAP_FAILED) ::munmap(data_, static_cast<size_t>(size_bytes_));
  }
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  [[nodiscard]] bool ok() const { return data_ != MAP_FAILED; }
  [[nodiscard]] const uint8_t* bytes() const { return static_cast<const uint8_t*>(data_); }

 private:
  void* data_ = MAP_FAILED;
  int64_t size_bytes_ = 0;
};

}  // namespace

OnnxFile::OnnxFile(const std::string& path) : path_(path) {
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) throw IoError(path + ": cannot open (" + std::strerror(errno) + ")");
  struct stat st {};
  if (::fstat(fd_, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd_);
    throw IoError(path + ": not a regular file");
  }
  size_bytes_ = st.st_size;
}

OnnxFile::~OnnxFile() {
  if (fd_ >= 0) ::close(fd_);
}

void OnnxFile::read(int64_t offset, int64_t size_bytes, void* dst, const std::string& what) const {
  if (offset < 0 || size_bytes < 0 || offset > size_bytes_ || size_bytes > size_bytes_ - offset) {
    throw IoError(what + ": its " + std::to_string(size_bytes) + " bytes at offset " +
                  std::to_string(offset) + " lie past the end of " + path_ + " (truncated file?)");
  }
  auto* out = static_cast<char*>(dst);
  while (size_bytes > 0) {
    const ssize_t got = ::pread(fd_, out, static_cast<size_t>(std::min<int64_t>(size_bytes, 1 << 30)), offset);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) {
      throw IoError(what + ": cannot read " + path_ + " (" + (got < 0 ? std::strerror(errno) : "end of file") + ")");
    }
    out += got, offset += got, size_bytes -= got;
  }
}

void read_onnx_model_deferred(const std::string& path, DeferredModel& out) {
  auto file = std::make_shared<const OnnxFile>(path);
  if (file->size_bytes() == 0) throw IoError(path + ": the file is empty");
  if (file->size_bytes() >= INT_MAX) {
    throw IoError(path + ": " + std::to_string(file->size_bytes()) +
                  " bytes; ONNX files (protobuf) stop at 2 GiB: save larger models with external data");
  }
  const Mapping map(file->fd(), file->size_bytes());
  if (!map.ok()) throw IoError(path + ": cannot map the file (" + std::strerror(errno) + ")");
  pb::io::CodedInputStream in(map.bytes(), static_cast<int>(file->size_bytes()));
  in.SetTotalBytesLimit(INT_MAX);
  const bool parsed = read_message(in, out.model, [&](uint32_t tag) -> std::optional<bool> {
    if (!is_bytes_field(tag, kModelGraph)) return std::nullopt;
    return read_nested(in, [&] { return read_graph(in, *out.model.mutable_graph(), out); });
  });
  if (!parsed) throw IoError(path + ": not a valid ONNX model (truncated or corrupt file?)");
  if (!out.model.has_graph() || out.model.ir_version() <= 0) {
    throw IoError(path + ": not an ONNX model (no graph or IR version; truncated or corrupt file?)");
  }
  out.file = std::move(file);
}

}  // namespace footprint
