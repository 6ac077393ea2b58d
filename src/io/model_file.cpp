// Saved models (format in include/footprint/model_io.hpp): streams parameters straight from the
// runtime to NAME.tmp with a running CRC-32 and renames it into place; reads a file back with a
// bounds check at every field. Which net to build from the text is left to the caller.
#include <sys/stat.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <unordered_map>

#include "core/check.hpp"
#include "footprint/error.hpp"
#include "footprint/model_io.hpp"
#include "io/atomic_file.hpp"

namespace footprint {
namespace {

// Float arrays go to and from the file as raw memory, which is little-endian only here.
static_assert(std::endian::native == std::endian::little, "model files are written little-endian");

constexpr std::array<unsigned char, 8> kMagic = {'F', 'P', 'M', 'O', 'D', 'E', 'L', '\0'};
constexpr uint32_t kVersion = 3;  // 2 added the training state, 3 the labels; 1 and 2 are still read
constexpr int64_t kTrainStateBytes = 8 + 8 + 8 + 8;
constexpr int64_t kHeaderBytes = 8 + 4 + 8;  // magic | u32 version | u64 payload_bytes
constexpr int64_t kCrcBytes = 4;
constexpr uint32_t kMaxStateTensors = 2;  // Adam's two moments
constexpr int kOptimizerParamFloats = 7;

// The file stores the enum's value, so these must never be renumbered.
static_assert(static_cast<int>(OptimizerKind::sgd) == 0 &&
              static_cast<int>(OptimizerKind::momentum) == 1 &&
              static_cast<int>(OptimizerKind::adam) == 2 &&
              static_cast<int>(OptimizerKind::adamw) == 3);
constexpr uint32_t kMaxOptimizerKind = 3;

// zlib's crc32 takes a uInt length, so long arrays are fed in pieces.
uint32_t crc32_update(uint32_t crc, const void* data, size_t n_bytes) {
  const auto* bytes = static_cast<const Bytef*>(data);
  constexpr size_t kChunkBytes = size_t{1} << 30;
  uLong value = crc;
  while (n_bytes > 0) {
    const size_t n = std::min(n_bytes, kChunkBytes);
    value = crc32(value, bytes, static_cast<uInt>(n));
    bytes += n;
    n_bytes -= n;
  }
  return static_cast<uint32_t>(value);
}

template <typename T>
std::array<unsigned char, sizeof(T)> little_endian(T value) {
  std::array<unsigned char, sizeof(T)> bytes{};
  for (size_t i = 0; i < sizeof(T); ++i) bytes[i] = static_cast<unsigned char>(value >> (8 * i));
  return bytes;
}

template <typename T>
T from_little_endian(const unsigned char* bytes) {
  T value = 0;
  for (size_t i = 0; i < sizeof(T); ++i)
    value |= static_cast<T>(static_cast<T>(bytes[i]) << (8 * i));
  return value;
}

std::string errno_text(int error) { return std::strerror(error); }

// The model file being written: an AtomicFile (NAME.tmp renamed into place by commit(), removed
// if an exception ends save_model first) that also keeps a running CRC of the payload bytes.
class TmpFile {
 public:
  explicit TmpFile(const std::string& path) : file_(path, "saving model") {}

  void write(const void* data, size_t n_bytes) {
    file_.write(data, n_bytes);
    bytes_written_ += static_cast<int64_t>(n_bytes);
  }
  // Payload bytes also feed the checksum; the header and the checksum itself do not.
  void write_payload(const void* data, size_t n_bytes) {
    write(data, n_bytes);
    crc_ = crc32_update(crc_, data, n_bytes);
  }
  template <typename T>
  void put(T value) {
    const auto bytes = little_endian(value);
    write(bytes.data(), bytes.size());
  }
  template <typename T>
  void put_payload(T value) {
    const auto bytes = little_endian(value);
    write_payload(bytes.data(), bytes.size());
  }
  void put_payload_f32(float value) { put_payload(std::bit_cast<uint32_t>(value)); }
  void put_payload_string(const std::string& text) {
    put_payload(static_cast<uint32_t>(text.size()));
    write_payload(text.data(), text.size());
  }
  void commit() { file_.commit(); }

  [[nodiscard]] uint32_t crc() const { return crc_; }
  [[nodiscard]] int64_t bytes_written() const { return bytes_written_; }

 private:
  AtomicFile file_;
  uint32_t crc_ = 0;
  int64_t bytes_written_ = 0;
};

// Payload size from the sizes alone, so the header can be written before the weights stream.
uint64_t payload_bytes(const std::string& net_text, const std::vector<ParamView>& params) {
  uint64_t n = 4 + net_text.size();            // net_text
  n += 4 + 4 * kOptimizerParamFloats + 8 + 4;  // kind, params, steps, n_tensors
  for (const ParamView& p : params) {
    n += 4 + p.name.size() + 8 + 4;  // name, n_elems, n_state
    n += 4 * static_cast<uint64_t>(p.n_elems) * (1 + p.optimizer_state.size());
  }
  return n;
}

// Reads the payload; every read checks what is left first, so a corrupt count cannot make it
// run past the end or allocate more than the file could hold.
class PayloadReader {
 public:
  PayloadReader(const std::string& path, const unsigned char* data, uint64_t n_bytes)
      : path_(path), data_(data), n_bytes_(n_bytes) {}

  [[nodiscard]] uint64_t left() const { return n_bytes_ - pos_; }

  template <typename T>
  T get(const char* what) {
    need(sizeof(T), what);
    const T value = from_little_endian<T>(data_ + pos_);
    pos_ += sizeof(T);
    return value;
  }
  float get_f32(const char* what) { return std::bit_cast<float>(get<uint32_t>(what)); }
  std::string get_string(const char* what) {
    const uint32_t length = get<uint32_t>(what);
    need(length, what);
    std::string text(reinterpret_cast<const char*>(data_ + pos_), length);
    pos_ += length;
    return text;
  }
  std::vector<float> get_floats(uint64_t n_elems, const std::string& what) {
    need(4 * n_elems, what.c_str());
    std::vector<float> values(n_elems);
    std::memcpy(values.data(), data_ + pos_, 4 * n_elems);
    pos_ += 4 * n_elems;
    return values;
  }

  [[noreturn]] void corrupt(const std::string& what) const {
    throw IoError(path_ + ": corrupt: " + what + " (at payload byte " + std::to_string(pos_) +
                  " of " + std::to_string(n_bytes_) + ")");
  }

 private:
  void need(uint64_t n, const char* what) const {
    if (n > left()) {
      corrupt(std::string(what) + " needs " + std::to_string(n) + " bytes, only " +
              std::to_string(left()) + " left");
    }
  }

  std::string path_;
  const unsigned char* data_;
  uint64_t n_bytes_;
  uint64_t pos_ = 0;
};

std::vector<unsigned char> read_file(const std::string& path) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) throw IoError(path + ": cannot open: " + errno_text(errno));
  struct FileCloser {
    std::FILE* file;
    ~FileCloser() { std::fclose(file); }
  } closer{file};
  struct stat info {};
  if (fstat(fileno(file), &info) != 0) throw IoError(path + ": cannot stat: " + errno_text(errno));
  if (!S_ISREG(info.st_mode)) throw IoError(path + ": not a regular file");
  std::vector<unsigned char> bytes(static_cast<size_t>(info.st_size));
  if (std::fread(bytes.data(), 1, bytes.size(), file) != bytes.size()) {
    throw IoError(path + ": cannot read: " +
                  (std::ferror(file) ? errno_text(errno) : "file shrank while being read"));
  }
  return bytes;
}

// The first bytes as text a person can read: "input 1 " or "\x89PNG\r\n\x1a\n".
std::string printable(const unsigned char* bytes, size_t n_bytes) {
  std::string text;
  for (size_t i = 0; i < n_bytes; ++i) {
    const unsigned char c = bytes[i];
    if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
      text += static_cast<char>(c);
    } else {
      char escaped[8];
      std::snprintf(escaped, sizeof(escaped), "\\x%02x", c);
      text += escaped;
    }
  }
  return "\"" + text + "\"";
}

}  // namespace

void save_model(const std::string& path, const Runtime& runtime,
                const OptimizerParams& optimizer_params, const TrainState& train_state,
                const ModelLabels& labels) {
  const std::string net_text = runtime.net().to_text();
  const std::vector<ParamView>& params = runtime.parameters();
  uint64_t label_bytes = 4 + 4 + 6 * 4;
  for (const std::string& name : labels.class_names) label_bytes += 4 + name.size();
  const uint64_t n_payload_bytes = payload_bytes(net_text, params) + kTrainStateBytes + label_bytes;

  TmpFile out(path);
  out.write(kMagic.data(), kMagic.size());
  out.put(kVersion);
  out.put(n_payload_bytes);

  out.put_payload_string(net_text);
  out.put_payload(static_cast<uint32_t>(runtime.plan().options.optimizer));
  out.put_payload_f32(optimizer_params.lr);
  out.put_payload_f32(optimizer_params.momentum);
  out.put_payload_f32(optimizer_params.nesterov ? 1.0f : 0.0f);
  out.put_payload_f32(optimizer_params.weight_decay);
  out.put_payload_f32(optimizer_params.beta1);
  out.put_payload_f32(optimizer_params.beta2);
  out.put_payload_f32(optimizer_params.eps);
  out.put_payload(static_cast<uint64_t>(runtime.optimizer_steps()));
  out.put_payload(static_cast<uint32_t>(params.size()));
  for (const ParamView& p : params) {
    out.put_payload_string(p.name);
    out.put_payload(static_cast<uint64_t>(p.n_elems));
    out.put_payload(static_cast<uint32_t>(p.optimizer_state.size()));
    const size_t n_bytes = sizeof(float) * static_cast<size_t>(p.n_elems);
    out.write_payload(p.data, n_bytes);
    for (const float* state : p.optimizer_state) out.write_payload(state, n_bytes);
  }
  out.put_payload(train_state.seed);
  out.put_payload(static_cast<uint64_t>(train_state.steps));
  out.put_payload(static_cast<uint64_t>(train_state.forward_calls));
  out.put_payload(static_cast<uint64_t>(train_state.batch));
  out.put_payload(static_cast<uint32_t>(labels.class_names.size()));
  for (const std::string& name : labels.class_names) out.put_payload_string(name);
  out.put_payload(static_cast<uint32_t>(labels.has_normalisation ? 1 : 0));
  for (float v : labels.normalisation.mean) out.put_payload_f32(v);
  for (float v : labels.normalisation.std) out.put_payload_f32(v);
  FP_CHECK(static_cast<uint64_t>(out.bytes_written()) == kHeaderBytes + n_payload_bytes,
           "payload of %lld bytes, predicted %llu", static_cast<long long>(out.bytes_written()),
           static_cast<unsigned long long>(kHeaderBytes + n_payload_bytes));
  out.put(out.crc());
  out.commit();
}

SavedModel load_model(const std::string& path) {
  const std::vector<unsigned char> bytes = read_file(path);
  const uint64_t file_bytes = bytes.size();

  // The magic first, even on a short file: a short text file is foreign, not truncated.
  const size_t n_magic = std::min<size_t>(bytes.size(), kMagic.size());
  if (!std::equal(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(n_magic),
                  kMagic.begin())) {
    throw IoError(path + ": not a Footprint model (magic " + printable(bytes.data(), n_magic) +
                  "); expected a file written by 'footprint train --save'");
  }
  if (file_bytes < static_cast<uint64_t>(kHeaderBytes + kCrcBytes)) {
    throw IoError(path + ": truncated: " + std::to_string(file_bytes) +
                  " bytes, shorter than the " + std::to_string(kHeaderBytes + kCrcBytes) +
                  "-byte header and checksum (truncated file?)");
  }
  const uint32_t version = from_little_endian<uint32_t>(bytes.data() + 8);
  if (version < 1 || version > kVersion) {
    throw IoError(path + ": unsupported version " + std::to_string(version) +
                  "; this build reads versions 1 to " + std::to_string(kVersion));
  }
  const uint64_t n_payload_bytes = from_little_endian<uint64_t>(bytes.data() + 12);
  const uint64_t n_file_payload_bytes = file_bytes - kHeaderBytes - kCrcBytes;
  if (n_payload_bytes != n_file_payload_bytes) {
    throw IoError(path + ": " + (n_payload_bytes > n_file_payload_bytes ? "truncated: " : "") +
                  "header says " + std::to_string(n_payload_bytes) +
                  " payload bytes, the file has " + std::to_string(n_file_payload_bytes) +
                  (n_payload_bytes > n_file_payload_bytes ? " (truncated file?)"
                                                          : " (extra bytes: corrupt file?)"));
  }
  const unsigned char* payload = bytes.data() + kHeaderBytes;
  const uint32_t stored_crc = from_little_endian<uint32_t>(payload + n_payload_bytes);
  const uint32_t crc = crc32_update(/*crc=*/0, payload, static_cast<size_t>(n_payload_bytes));
  if (crc != stored_crc) {
    char detail[64];
    std::snprintf(detail, sizeof(detail), "stored %08x, computed %08x", stored_crc, crc);
    throw IoError(path + ": checksum mismatch: " + detail + " (corrupt file?)");
  }

  PayloadReader in(path, payload, n_payload_bytes);
  SavedModel saved;
  saved.net_text = in.get_string("net text");
  const uint32_t kind = in.get<uint32_t>("optimizer kind");
  if (kind > kMaxOptimizerKind) {
    in.corrupt("optimizer kind " + std::to_string(kind) + ", at most " +
               std::to_string(kMaxOptimizerKind));
  }
  saved.optimizer = static_cast<OptimizerKind>(kind);
  OptimizerParams& op = saved.optimizer_params;
  op.lr = in.get_f32("optimizer lr");
  op.momentum = in.get_f32("optimizer momentum");
  op.nesterov = in.get_f32("optimizer nesterov") != 0.0f;
  op.weight_decay = in.get_f32("optimizer weight_decay");
  op.beta1 = in.get_f32("optimizer beta1");
  op.beta2 = in.get_f32("optimizer beta2");
  op.eps = in.get_f32("optimizer eps");
  saved.optimizer_steps = static_cast<int64_t>(in.get<uint64_t>("optimizer steps"));
  const uint32_t n_tensors = in.get<uint32_t>("tensor count");
  // Each tensor takes at least 16 bytes (name length, n_elems, n_state).
  constexpr uint64_t kMinTensorBytes = 4 + 8 + 4;
  if (n_tensors > in.left() / kMinTensorBytes) {
    in.corrupt(std::to_string(n_tensors) + " tensors cannot fit in the " +
               std::to_string(in.left()) + " bytes left");
  }
  saved.tensors.reserve(n_tensors);
  for (uint32_t t = 0; t < n_tensors; ++t) {
    SavedTensor tensor;
    tensor.name = in.get_string("tensor name");
    const uint64_t n_elems = in.get<uint64_t>("tensor size");
    const uint32_t n_state = in.get<uint32_t>("optimizer state count");
    if (n_state > kMaxStateTensors) {
      in.corrupt("'" + tensor.name + "' has " + std::to_string(n_state) +
                 " optimizer state tensors, at most " + std::to_string(kMaxStateTensors));
    }
    // Checked before any multiplication, so a huge n_elems cannot overflow the byte count.
    if (n_elems > in.left() / (4 * (1 + uint64_t{n_state}))) {
      in.corrupt("'" + tensor.name + "' claims " + std::to_string(n_elems) + " floats (x" +
                 std::to_string(1 + n_state) + "), only " + std::to_string(in.left()) +
                 " bytes left");
    }
    tensor.data = in.get_floats(n_elems, "'" + tensor.name + "' data");
    for (uint32_t s = 0; s < n_state; ++s) {
      tensor.optimizer_state.push_back(in.get_floats(n_elems, "'" + tensor.name + "' state"));
    }
    saved.tensors.push_back(std::move(tensor));
  }
  if (version >= 2) {
    saved.train_state.seed = in.get<uint64_t>("training seed");
    saved.train_state.steps = static_cast<int64_t>(in.get<uint64_t>("training steps"));
    saved.train_state.forward_calls = static_cast<int64_t>(in.get<uint64_t>("forward count"));
    saved.train_state.batch = static_cast<int64_t>(in.get<uint64_t>("training batch"));
  }
  if (version >= 3) {
    const uint32_t n_classes = in.get<uint32_t>("class count");
    // Each name takes at least its 4-byte length: a corrupt count cannot reserve much.
    if (n_classes > in.left() / 4) in.corrupt(std::to_string(n_classes) + " class names claimed");
    for (uint32_t c = 0; c < n_classes; ++c) saved.labels.class_names.push_back(in.get_string("class name"));
    saved.labels.has_normalisation = in.get<uint32_t>("normalisation flag") != 0;
    for (float& v : saved.labels.normalisation.mean) v = in.get_f32("normalisation mean");
    for (float& v : saved.labels.normalisation.std) v = in.get_f32("normalisation std");
  }
  if (in.left() != 0) {
    in.corrupt(std::to_string(in.left()) + " bytes left after the last field");
  }
  return saved;
}

bool looks_like_saved_model(const std::string& path) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) return false;
  std::array<unsigned char, kMagic.size()> head{};
  const size_t n = std::fread(head.data(), 1, head.size(), file);
  std::fclose(file);
  return n == head.size() && head == kMagic;
}

void restore_parameters(const SavedModel& saved, Runtime& runtime) {
  // SavedModel does not carry its path; callers that know it prefix it to the message.
  const std::string where = "saved model: ";
  std::unordered_map<std::string, const SavedTensor*> by_name;
  for (const SavedTensor& t : saved.tensors) {
    if (!by_name.emplace(t.name, &t).second) {
      throw IoError(where + "the file has '" + t.name + "' twice (corrupt file?)");
    }
  }

  // Everything is checked before anything is copied, so a mismatch leaves the runtime as it was.
  const std::vector<ParamView>& params = runtime.parameters();
  std::vector<const SavedTensor*> sources;
  bool same_state = saved.optimizer == runtime.plan().options.optimizer;
  for (const ParamView& p : params) {
    const auto it = by_name.find(p.name);
    if (it == by_name.end()) {
      throw IoError(where + "'" + p.name + "' is missing from the file (saved from another net?)");
    }
    const SavedTensor& t = *it->second;
    if (static_cast<int64_t>(t.data.size()) != p.n_elems) {
      throw IoError(where + "'" + p.name + "' needs " + std::to_string(p.n_elems) +
                    " floats, the file has " + std::to_string(t.data.size()) +
                    " (saved from another net?)");
    }
    if (t.optimizer_state.size() != p.optimizer_state.size()) same_state = false;
    sources.push_back(&t);
  }
  if (sources.size() != saved.tensors.size()) {
    for (const SavedTensor& t : saved.tensors) {
      const bool used = std::find(sources.begin(), sources.end(), &t) != sources.end();
      if (!used) {
        throw IoError(where + "the file has '" + t.name +
                      "', which this net does not (saved from another net?)");
      }
    }
  }

  for (size_t i = 0; i < params.size(); ++i) {
    const ParamView& p = params[i];
    std::copy(sources[i]->data.begin(), sources[i]->data.end(), p.data);
    if (!same_state) continue;
    for (size_t s = 0; s < p.optimizer_state.size(); ++s) {
      std::copy(sources[i]->optimizer_state[s].begin(), sources[i]->optimizer_state[s].end(),
                p.optimizer_state[s]);
    }
  }
  // Another optimizer's state (or none) means a fresh start: step counts drive Adam's bias
  // correction, so they only carry over together with the moments.
  if (same_state) {
    runtime.set_optimizer_steps(saved.optimizer_steps);
    runtime.set_forward_calls(saved.train_state.forward_calls);
  }
}

}  // namespace footprint
