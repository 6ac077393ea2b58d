// Decoding ONNX tensors: raw_data (little-endian, as ONNX stores it) or the typed repeated
// fields, for every numeric type a classifier's shape arithmetic or weights use.
#include "import/onnx/const_tensor.hpp"

#include <cmath>
#include <cstring>

#include "footprint/error.hpp"

namespace footprint {
namespace {

using T = onnx::TensorProto;

// Bytes per element in raw_data, 0 for types Footprint does not read.
int element_bytes(int32_t type) {
  switch (type) {
    case T::FLOAT: case T::INT32: case T::UINT32: return 4;
    case T::DOUBLE: case T::INT64: case T::UINT64: return 8;
    case T::FLOAT16: case T::BFLOAT16: case T::INT16: case T::UINT16: return 2;
    case T::INT8: case T::UINT8: case T::BOOL: return 1;
    default: return 0;
  }
}

bool is_float_type(int32_t type) {
  return type == T::FLOAT || type == T::DOUBLE || type == T::FLOAT16 || type == T::BFLOAT16;
}

float half_to_float(uint16_t h) {
  const uint32_t sign = (h >> 15) & 1, exponent = (h >> 10) & 0x1f, mantissa = h & 0x3ff;
  float value;
  if (exponent == 0) {
    value = std::ldexp(static_cast<float>(mantissa), -24);
  } else if (exponent == 31) {
    value = mantissa ? NAN : INFINITY;
  } else {
    value = std::ldexp(static_cast<float>(mantissa | 0x400), static_cast<int>(exponent) - 25);
  }
  return sign ? -value : value;
}

float bfloat_to_float(uint16_t b) {
  const uint32_t bits = static_cast<uint32_t>(b) << 16;
  float value;
  std::memcpy(&value, &bits, 4);
  return value;
}

// Element i of raw little-endian bytes of the given type, as double (floats) or int64.
template <typename Out>
Out raw_element(const char* p, int32_t type) {
  auto load = [&](auto v) {
    std::memcpy(&v, p, sizeof(v));
    return v;
  };
  switch (type) {
    case T::FLOAT: return static_cast<Out>(load(float{}));
    case T::DOUBLE: return static_cast<Out>(load(double{}));
    case T::FLOAT16: return static_cast<Out>(half_to_float(load(uint16_t{})));
    case T::BFLOAT16: return static_cast<Out>(bfloat_to_float(load(uint16_t{})));
    case T::INT8: return static_cast<Out>(load(int8_t{}));
    case T::UINT8: case T::BOOL: return static_cast<Out>(load(uint8_t{}));
    case T::INT16: return static_cast<Out>(load(int16_t{}));
    case T::UINT16: return static_cast<Out>(load(uint16_t{}));
    case T::INT32: return static_cast<Out>(load(int32_t{}));
    case T::UINT32: return static_cast<Out>(load(uint32_t{}));
    case T::INT64: return static_cast<Out>(load(int64_t{}));
    case T::UINT64: return static_cast<Out>(load(uint64_t{}));
    default: return Out{};
  }
}

}  // namespace

std::string dims_text(const std::vector<int64_t>& dims) {
  std::string text = "[";
  for (size_t i = 0; i < dims.size(); ++i) text += (i ? ", " : "") + std::to_string(dims[i]);
  return text + "]";
}

int64_t dims_product(const std::vector<int64_t>& dims, const std::string& what) {
  int64_t n = 1;
  for (int64_t d : dims) {
    if (d < 0) throw IoError(what + ": negative dimension in " + dims_text(dims) + " (corrupt file?)");
    if (d != 0 && n > kMaxTensorElems / d) throw IoError(what + ": too many elements " + dims_text(dims));
    n *= d;
  }
  return n;
}

std::shared_ptr<const ConstTensor> ConstTensor::of_ints(std::vector<int64_t> dims, std::vector<int64_t> values) {
  auto t = std::shared_ptr<ConstTensor>(new ConstTensor());
  t->n_elems_ = dims_product(dims, "a computed tensor");
  t->dims_ = std::move(dims);
  t->is_float_ = false;
  t->data_type_ = T::INT64;
  t->type_name_ = "INT64";
  t->ints_ = std::move(values);
  return t;
}

std::shared_ptr<const ConstTensor> ConstTensor::of_floats(std::vector<int64_t> dims, std::vector<float> values) {
  auto t = std::shared_ptr<ConstTensor>(new ConstTensor());
  t->n_elems_ = dims_product(dims, "a computed tensor");
  t->dims_ = std::move(dims);
  t->floats_ = std::move(values);
  return t;
}

std::shared_ptr<const ConstTensor> ConstTensor::from_proto(const onnx::TensorProto& proto, const std::string& what,
                                                           std::shared_ptr<const OnnxFile> file,
                                                           const FileRange* range) {
  auto t = std::shared_ptr<ConstTensor>(new ConstTensor());
  t->what_ = what;
  t->dims_.assign(proto.dims().begin(), proto.dims().end());
  t->n_elems_ = dims_product(t->dims_, what);
  t->data_type_ = proto.data_type();
  t->type_name_ = T::DataType_IsValid(proto.data_type())
                      ? T::DataType_Name(static_cast<T::DataType>(proto.data_type()))
                      : std::to_string(proto.data_type());
  if (proto.data_location() == T::EXTERNAL) {
    throw ParseError(what + ": weights stored in external files are not supported; save the model with its data inside");
  }
  const int bytes = element_bytes(t->data_type_);
  if (bytes == 0) {
    throw ParseError(what + ": data type " + t->type_name_ + " is not supported; Footprint reads numbers "
                     "(float32, float16, double, integers, bool)");
  }
  t->is_float_ = is_float_type(t->data_type_);
  if (range) {
    if (range->size_bytes != t->n_elems_ * bytes) {
      throw IoError(what + ": " + std::to_string(range->size_bytes) + " bytes for " + std::to_string(t->n_elems_) +
                    " values of " + t->type_name_ + " (truncated or corrupt file?)");
    }
    t->file_ = std::move(file);
    t->range_ = *range;
    return t;
  }
  if (proto.has_raw_data()) {
    t->decode(proto.raw_data().data(), static_cast<int64_t>(proto.raw_data().size()), what);
    return t;
  }
  // The typed fields: which one holds the values depends on the type (onnx.proto).
  auto check_count = [&](int64_t count) {
    if (count != t->n_elems_) {
      throw IoError(what + ": " + std::to_string(count) + " values, its dims " + dims_text(t->dims_) + " say " +
                    std::to_string(t->n_elems_) + " (corrupt file?)");
    }
  };
  switch (t->data_type_) {
    case T::FLOAT:
      check_count(proto.float_data_size());
      t->floats_.assign(proto.float_data().begin(), proto.float_data().end());
      break;
    case T::DOUBLE:
      check_count(proto.double_data_size());
      t->floats_.assign(proto.double_data().begin(), proto.double_data().end());
      break;
    case T::INT64:
      check_count(proto.int64_data_size());
      t->ints_.assign(proto.int64_data().begin(), proto.int64_data().end());
      break;
    case T::UINT32: case T::UINT64:
      check_count(proto.uint64_data_size());
      t->ints_.assign(proto.uint64_data().begin(), proto.uint64_data().end());
      break;
    case T::FLOAT16: case T::BFLOAT16:
      check_count(proto.int32_data_size());
      for (int32_t bits : proto.int32_data()) {
        const auto b = static_cast<uint16_t>(bits);
        t->floats_.push_back(t->data_type_ == T::FLOAT16 ? half_to_float(b) : bfloat_to_float(b));
      }
      break;
    default:  // INT32, INT16, INT8, UINT16, UINT8, BOOL
      check_count(proto.int32_data_size());
      t->ints_.assign(proto.int32_data().begin(), proto.int32_data().end());
      break;
  }
  return t;
}

void ConstTensor::decode(const char* bytes, int64_t size_bytes, const std::string& what) {
  const int element = element_bytes(data_type_);
  if (size_bytes != n_elems_ * element) {
    throw IoError(what + ": " + std::to_string(size_bytes) + " bytes for " + std::to_string(n_elems_) +
                  " values of " + type_name_ + " (truncated or corrupt file?)");
  }
  if (is_float_) {
    floats_.resize(n_elems_);
    if (data_type_ == T::FLOAT) {
      std::memcpy(floats_.data(), bytes, size_bytes);  // little-endian hosts
    } else {
      for (int64_t i = 0; i < n_elems_; ++i) floats_[i] = raw_element<float>(bytes + i * element, data_type_);
    }
  } else {
    ints_.resize(n_elems_);
    for (int64_t i = 0; i < n_elems_; ++i) ints_[i] = raw_element<int64_t>(bytes + i * element, data_type_);
  }
}

std::vector<int64_t> ConstTensor::ints(const std::string& what) const {
  if (is_float_) throw ParseError(what + ": expected integers, found a tensor of " + type_name_);
  if (!file_) return ints_;
  ConstTensor copy = *this;
  std::vector<char> bytes(range_.size_bytes);
  file_->read(range_.offset, range_.size_bytes, bytes.data(), what_);
  copy.decode(bytes.data(), range_.size_bytes, what_);
  return copy.ints_;
}

std::vector<float> ConstTensor::floats() const {
  std::vector<float> values(n_elems_);
  read_floats(values.data());
  return values;
}

void ConstTensor::read_floats(float* dst) const {
  if (file_) {
    if (data_type_ == T::FLOAT) {  // straight into dst: no copy of the weights in between
      file_->read(range_.offset, range_.size_bytes, dst, what_);
      return;
    }
    ConstTensor copy = *this;
    copy.file_.reset();
    std::vector<char> bytes(range_.size_bytes);
    file_->read(range_.offset, range_.size_bytes, bytes.data(), what_);
    copy.decode(bytes.data(), range_.size_bytes, what_);
    copy.read_floats(dst);
    return;
  }
  if (is_float_) {
    std::copy(floats_.begin(), floats_.end(), dst);
  } else {
    for (int64_t i = 0; i < n_elems_; ++i) dst[i] = static_cast<float>(ints_[i]);
  }
}

}  // namespace footprint
