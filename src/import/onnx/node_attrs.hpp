// A node's attributes, read by name and type. finish() refuses every attribute that was not
// read, so an attribute the importer does not understand is never silently ignored.
#pragma once

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <set>
#include <string>
#include <vector>

namespace footprint {

class Importer;

class NodeAttrs {
 public:
  // The attributes of the node `im` is converting.
  explicit NodeAttrs(const Importer& im);

  [[nodiscard]] bool has(const std::string& name) const { return find(name) != nullptr; }
  int64_t get_int(const std::string& name, int64_t fallback);
  float get_float(const std::string& name, float fallback);
  std::string get_string(const std::string& name, const std::string& fallback);
  std::vector<int64_t> get_ints(const std::string& name);  // empty when absent
  std::vector<float> get_floats(const std::string& name);  // empty when absent
  const onnx::TensorProto* get_tensor(const std::string& name);  // nullptr when absent
  // Marks an attribute as read without using it (it changes nothing Footprint computes).
  void ignore(const std::string& name) { read_.insert(name); }
  void finish() const;

 private:
  const onnx::AttributeProto* find(const std::string& name) const;
  const onnx::AttributeProto* read(const std::string& name, onnx::AttributeProto::AttributeType type);

  const Importer& im_;
  const onnx::NodeProto& node_;
  std::set<std::string> read_;
};

}  // namespace footprint
