// NodeAttrs: typed reads of a node's attributes; every failure names the node (Importer::fail).
#include "import/onnx/node_attrs.hpp"

#include "import/onnx/importer.hpp"

namespace footprint {

NodeAttrs::NodeAttrs(const Importer& im) : im_(im), node_(im.node()) {}

const onnx::AttributeProto* NodeAttrs::find(const std::string& name) const {
  for (const auto& a : node_.attribute())
    if (a.name() == name) return &a;
  return nullptr;
}

const onnx::AttributeProto* NodeAttrs::read(const std::string& name, onnx::AttributeProto::AttributeType type) {
  read_.insert(name);
  const onnx::AttributeProto* a = find(name);
  if (a && a->type() != type && a->type() != onnx::AttributeProto::UNDEFINED) {
    im_.fail("attribute " + name + " has type " + onnx::AttributeProto::AttributeType_Name(a->type()) +
             ", expected " + onnx::AttributeProto::AttributeType_Name(type));
  }
  return a;
}

int64_t NodeAttrs::get_int(const std::string& name, int64_t fallback) {
  const auto* a = read(name, onnx::AttributeProto::INT);
  return a ? a->i() : fallback;
}

float NodeAttrs::get_float(const std::string& name, float fallback) {
  const auto* a = read(name, onnx::AttributeProto::FLOAT);
  return a ? a->f() : fallback;
}

std::string NodeAttrs::get_string(const std::string& name, const std::string& fallback) {
  const auto* a = read(name, onnx::AttributeProto::STRING);
  return a ? a->s() : fallback;
}

std::vector<int64_t> NodeAttrs::get_ints(const std::string& name) {
  const auto* a = read(name, onnx::AttributeProto::INTS);
  if (!a) return {};
  return {a->ints().begin(), a->ints().end()};
}

std::vector<float> NodeAttrs::get_floats(const std::string& name) {
  const auto* a = read(name, onnx::AttributeProto::FLOATS);
  if (!a) return {};
  return {a->floats().begin(), a->floats().end()};
}

const onnx::TensorProto* NodeAttrs::get_tensor(const std::string& name) {
  const auto* a = read(name, onnx::AttributeProto::TENSOR);
  return a ? &a->t() : nullptr;
}

void NodeAttrs::finish() const {
  for (const auto& a : node_.attribute()) {
    if (read_.count(a.name()) == 0) {
      std::string known;
      for (const auto& k : read_) known += (known.empty() ? "" : ", ") + k;
      im_.fail("attribute '" + a.name() + "' is not supported" +
               (known.empty() ? "; this op takes none" : "; supported: " + known));
    }
  }
}

}  // namespace footprint
