// Tensors the importer knows at import time: initializers, Constant nodes and what folding shape
// arithmetic computes. Integer types (and bool) read as int64, floating types as float32. An
// initializer's bytes may still be in the file: they are read when asked for, straight into the
// caller's buffer, so a weight is never held twice.
#pragma once

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "import/onnx/onnx_file.hpp"

namespace footprint {

// The most elements a tensor may have (2^40 floats, 4 TiB): past it, sizes could overflow.
inline constexpr int64_t kMaxTensorElems = int64_t{1} << 40;

std::string dims_text(const std::vector<int64_t>& dims);
// The product of dims; IoError naming `what` for a negative dimension or too many elements.
int64_t dims_product(const std::vector<int64_t>& dims, const std::string& what);

class ConstTensor {
 public:
  // Decodes a TensorProto (or notes where its bytes lie in `file`, when `range` is given).
  // ParseError for a data type Footprint does not read (strings, complex) or external data;
  // IoError for sizes that disagree with the dims.
  static std::shared_ptr<const ConstTensor> from_proto(const onnx::TensorProto& t, const std::string& what,
                                                       std::shared_ptr<const OnnxFile> file = nullptr,
                                                       const FileRange* range = nullptr);
  static std::shared_ptr<const ConstTensor> of_ints(std::vector<int64_t> dims, std::vector<int64_t> values);
  static std::shared_ptr<const ConstTensor> of_floats(std::vector<int64_t> dims, std::vector<float> values);

  [[nodiscard]] const std::vector<int64_t>& dims() const { return dims_; }
  [[nodiscard]] int rank() const { return static_cast<int>(dims_.size()); }
  [[nodiscard]] int64_t n_elems() const { return n_elems_; }
  [[nodiscard]] bool is_float() const { return is_float_; }
  // "FLOAT", "INT64", ...: the ONNX data type it was stored as.
  [[nodiscard]] const std::string& type_name() const { return type_name_; }

  // The values as integers; ParseError naming `what` for a floating-point tensor.
  [[nodiscard]] std::vector<int64_t> ints(const std::string& what) const;
  // The values as floats (integers converted).
  [[nodiscard]] std::vector<float> floats() const;
  // Writes the n_elems() values as floats into dst: from the file when the bytes are there.
  void read_floats(float* dst) const;

 private:
  ConstTensor() = default;
  void decode(const char* bytes, int64_t size_bytes, const std::string& what);

  std::vector<int64_t> dims_;
  int64_t n_elems_ = 0;
  bool is_float_ = true;
  int32_t data_type_ = onnx::TensorProto::FLOAT;
  std::string type_name_ = "FLOAT";
  std::string what_;
  std::vector<int64_t> ints_;   // integer tensors in memory
  std::vector<float> floats_;   // float tensors in memory
  std::shared_ptr<const OnnxFile> file_;  // set: the raw bytes are at range_ in the file
  FileRange range_;
};

}  // namespace footprint
