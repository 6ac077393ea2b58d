// Builds ONNX models in tests with protobuf (no downloads).
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <onnx/onnx_pb.h>

namespace footprint {

// Builds a ModelProto one node at a time.
class ModelBuilder {
 public:
  explicit ModelBuilder(int opset = 13) {
    model_.set_ir_version(8);
    model_.set_producer_name("footprint-test");
    auto* o = model_.add_opset_import();
    o->set_domain("");
    o->set_version(opset);
    model_.mutable_graph()->set_name("test");
  }
  void input(const std::string& name, const std::vector<int64_t>& dims) {
    value_info(model_.mutable_graph()->add_input(), name, dims);
  }
  void output(const std::string& name) { value_info(model_.mutable_graph()->add_output(), name, {}); }
  // A float initializer with values drawn from seed (uniform in [-scale, scale]).
  void weight(const std::string& name, const std::vector<int64_t>& dims, uint32_t seed, float scale = 0.3f) {
    int64_t n = 1;
    for (int64_t d : dims) n *= d;
    std::vector<float> values(n);
    for (auto& v : values) {
      seed = seed * 1664525u + 1013904223u;
      v = scale * (static_cast<float>(seed >> 8) / 8388608.0f - 1.0f);
    }
    onnx::TensorProto* t = model_.mutable_graph()->add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::FLOAT);
    for (int64_t d : dims) t->add_dims(d);
    t->set_raw_data(values.data(), values.size() * sizeof(float));
  }
  onnx::NodeProto& node(const std::string& op, std::vector<std::string> inputs, const std::string& out) {
    onnx::NodeProto* n = model_.mutable_graph()->add_node();
    n->set_op_type(op);
    n->set_name(out);
    for (const auto& in : inputs) n->add_input(in);
    n->add_output(out);
    return *n;
  }
  static void ints(onnx::NodeProto& n, const std::string& name, std::vector<int64_t> values) {
    auto* a = n.add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INTS);
    for (int64_t v : values) a->add_ints(v);
  }
  static void integer(onnx::NodeProto& n, const std::string& name, int64_t value) {
    auto* a = n.add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INT);
    a->set_i(value);
  }
  onnx::ModelProto& model() { return model_; }
  void save(const std::filesystem::path& path) const {
    std::ofstream out(path, std::ios::binary);
    ASSERT_TRUE(model_.SerializeToOstream(&out));
  }

 private:
  static void value_info(onnx::ValueInfoProto* v, const std::string& name, const std::vector<int64_t>& dims) {
    v->set_name(name);
    auto* tensor = v->mutable_type()->mutable_tensor_type();
    tensor->set_elem_type(onnx::TensorProto::FLOAT);
    if (dims.empty()) return;
    auto* shape = tensor->mutable_shape();
    for (size_t i = 0; i < dims.size(); ++i) {
      if (i == 0) shape->add_dim()->set_dim_param("N");  // a symbolic batch, as exporters write
      else shape->add_dim()->set_dim_value(dims[i]);
    }
  }
  onnx::ModelProto model_;
};

}  // namespace footprint
