// NumPy .npy reader and writer for float32 arrays in C order (format versions 1.0 to 3.0).
// Other dtypes and Fortran order are refused with the dtype found, rather than converted.
#include "footprint/npy.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>

#include "footprint/error.hpp"
#include "io/atomic_file.hpp"
#include "io/npy_header.hpp"

namespace footprint {
namespace {

// The value of 'key' in the header dict, up to the next top-level comma or closing brace.
std::string dict_value(const std::string& header, const std::string& key, const std::string& path) {
  const auto at = header.find("'" + key + "'");
  if (at == std::string::npos) throw IoError(path + ": .npy header has no '" + key + "'");
  auto pos = header.find(':', at);
  if (pos == std::string::npos) throw IoError(path + ": bad .npy header");
  ++pos;
  while (pos < header.size() && header[pos] == ' ') ++pos;
  int depth = 0;
  std::string value;
  for (; pos < header.size(); ++pos) {
    const char ch = header[pos];
    if (ch == '(') ++depth;
    if (ch == ')') --depth;
    if (depth == 0 && (ch == ',' || ch == '}')) break;
    value += ch;
    if (depth == 0 && ch == ')') break;
  }
  return value;
}

}  // namespace

NpyHeader read_npy_header(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError(path + ": cannot open (" + std::strerror(errno) + ")");
  char magic[8] = {};
  if (!in.read(magic, 8) || std::memcmp(magic, "\x93NUMPY", 6) != 0) {
    throw IoError(path + ": not a NumPy .npy file (bad magic)");
  }
  const int major = static_cast<unsigned char>(magic[6]);
  uint32_t header_bytes = 0;
  if (major == 1) {
    unsigned char len[2];
    if (!in.read(reinterpret_cast<char*>(len), 2)) throw IoError(path + ": truncated .npy header");
    header_bytes = len[0] | (len[1] << 8);
  } else if (major == 2 || major == 3) {
    unsigned char len[4];
    if (!in.read(reinterpret_cast<char*>(len), 4)) throw IoError(path + ": truncated .npy header");
    header_bytes = len[0] | (len[1] << 8) | (len[2] << 16) | (uint32_t{len[3]} << 24);
  } else {
    throw IoError(path + ": .npy format version " + std::to_string(major) + " is not supported");
  }
  if (header_bytes > (1u << 20)) throw IoError(path + ": .npy header too large (corrupt file?)");
  std::string header(header_bytes, '\0');
  if (!in.read(header.data(), header_bytes)) throw IoError(path + ": truncated .npy header");

  NpyHeader result;
  const std::string descr = dict_value(header, "descr", path);
  if (descr == "'<f4'" || descr == "'=f4'" || descr == "'f4'") {
    result.dtype = NpyDtype::f32;
  } else if (descr == "'|u1'" || descr == "'u1'" || descr == "'<u1'") {
    result.dtype = NpyDtype::u8;
  } else if (descr == "'<i8'" || descr == "'=i8'" || descr == "'i8'") {
    result.dtype = NpyDtype::i64;
  } else {
    result.dtype = NpyDtype::other;
  }
  result.descr = descr;
  if (dict_value(header, "fortran_order", path) != "False") {
    throw IoError(path + ": Fortran-ordered arrays are not supported; save np.ascontiguousarray(x)");
  }
  const std::string shape_text = dict_value(header, "shape", path);
  if (shape_text.size() < 2 || shape_text.front() != '(' || shape_text.back() != ')') {
    throw IoError(path + ": bad shape " + shape_text + " in .npy header");
  }
  result.shape_text = shape_text;
  int64_t n = 1;
  const std::string inner = shape_text.substr(1, shape_text.size() - 2);
  size_t pos = 0;
  while (pos < inner.size()) {
    while (pos < inner.size() && (inner[pos] == ' ' || inner[pos] == ',')) ++pos;
    if (pos >= inner.size()) break;
    char* end = nullptr;
    const long long d = std::strtoll(inner.c_str() + pos, &end, 10);
    if (end == inner.c_str() + pos || d < 0 || d > (1LL << 40) || (d > 0 && n > (1LL << 40) / d)) {
      throw IoError(path + ": bad shape " + shape_text + " in .npy header");
    }
    result.shape.push_back(d);
    n *= d;
    pos = end - inner.c_str();
  }
  result.elements = n;
  result.data_offset = static_cast<int64_t>(in.tellg());
  in.seekg(0, std::ios::end);
  result.data_bytes = static_cast<int64_t>(in.tellg()) - result.data_offset;
  return result;
}

NpyArray read_npy(const std::string& path) {
  const NpyHeader header = read_npy_header(path);
  if (header.dtype != NpyDtype::f32) {
    throw IoError(path + ": dtype " + header.descr + " is not supported; expected float32 ('<f4'), e.g. "
                  "np.save(path, x.astype(np.float32))");
  }
  // The data must be in the file before anything is sized from the header: a 178-byte file
  // claiming 146 million floats made the fuzzer allocate 584 MB (fuzz_npy found it).
  const int64_t n = header.elements;
  if (n * static_cast<int64_t>(sizeof(float)) > header.data_bytes) {
    throw IoError(path + ": shape " + header.shape_text + " needs " + std::to_string(n) +
                  " floats; the file has " + std::to_string(header.data_bytes / 4) + " (truncated file?)");
  }
  NpyArray array;
  array.shape = header.shape;
  array.data.resize(n);
  std::ifstream in(path, std::ios::binary);
  in.seekg(header.data_offset);
  if (!in.read(reinterpret_cast<char*>(array.data.data()), n * static_cast<int64_t>(sizeof(float)))) {
    throw IoError(path + ": shape " + header.shape_text + " needs " + std::to_string(n) +
                  " floats; the file is shorter (truncated file?)");
  }
  return array;
}

void write_npy(const std::string& path, const std::vector<int64_t>& shape, const float* data) {
  std::string shape_text = "(";
  int64_t n = 1;
  for (int64_t d : shape) shape_text += std::to_string(d) + ", ", n *= d;
  if (shape.size() > 1) shape_text.resize(shape_text.size() - 2);
  if (shape.size() == 1) shape_text.resize(shape_text.size() - 1);  // "(5,)"
  shape_text += ")";
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape_text + ", }";
  // Magic (6) + version (2) + length (2) + header + '\n' is padded to a multiple of 64.
  const size_t unpadded = 10 + header.size() + 1;
  header.append((64 - unpadded % 64) % 64, ' ');
  header += '\n';
  std::string bytes = std::string("\x93NUMPY\x01\x00", 8);
  bytes += static_cast<char>(header.size() & 0xff);
  bytes += static_cast<char>(header.size() >> 8);
  bytes += header;
  AtomicFile file(path, "saving .npy");
  file.write(bytes.data(), bytes.size());
  file.write(data, sizeof(float) * static_cast<size_t>(n));
  file.commit();
}

}  // namespace footprint
