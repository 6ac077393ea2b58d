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
  // An input whose dims are numbers or symbols ("N", "H"): symbolic where `symbols` has a name.
  void symbolic_input(const std::string& name, const std::vector<int64_t>& dims, const std::vector<std::string>& symbols) {
    onnx::ValueInfoProto* v = model_.mutable_graph()->add_input();
    v->set_name(name);
    auto* tensor = v->mutable_type()->mutable_tensor_type();
    tensor->set_elem_type(onnx::TensorProto::FLOAT);
    auto* shape = tensor->mutable_shape();
    for (size_t i = 0; i < dims.size(); ++i) {
      if (i < symbols.size() && !symbols[i].empty()) shape->add_dim()->set_dim_param(symbols[i]);
      else shape->add_dim()->set_dim_value(dims[i]);
    }
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
  // A float initializer of given values.
  void floats(const std::string& name, const std::vector<int64_t>& dims, const std::vector<float>& values) {
    onnx::TensorProto* t = model_.mutable_graph()->add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::FLOAT);
    for (int64_t d : dims) t->add_dims(d);
    t->set_raw_data(values.data(), values.size() * sizeof(float));
  }
  // An int64 initializer (shapes, axes, pads).
  void int64s(const std::string& name, const std::vector<int64_t>& dims, const std::vector<int64_t>& values) {
    onnx::TensorProto* t = model_.mutable_graph()->add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::INT64);
    for (int64_t d : dims) t->add_dims(d);
    for (int64_t v : values) t->add_int64_data(v);
  }
  // A Constant node holding a float scalar, as torch.onnx writes 0.5, 1, sqrt(2), eps, ...
  void scalar(const std::string& name, float value) {
    onnx::NodeProto& n = node("Constant", {}, name);
    auto* a = n.add_attribute();
    a->set_name("value");
    a->set_type(onnx::AttributeProto::TENSOR);
    a->mutable_t()->set_data_type(onnx::TensorProto::FLOAT);
    a->mutable_t()->add_float_data(value);
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
  static void real(onnx::NodeProto& n, const std::string& name, float value) {
    auto* a = n.add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::FLOAT);
    a->set_f(value);
  }
  static void text(onnx::NodeProto& n, const std::string& name, const std::string& value) {
    auto* a = n.add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::STRING);
    a->set_s(value);
  }
  // A 2-D convolution with seeded weights and a bias: pads `pad` on every side.
  void conv(const std::string& in, const std::string& out, int64_t in_c, int64_t out_c, int64_t k, int64_t pad,
            uint32_t seed, int64_t stride = 1, int64_t group = 1) {
    weight(out + ".W", {out_c, in_c / group, k, k}, seed);
    weight(out + ".B", {out_c}, seed + 1, 0.1f);
    onnx::NodeProto& n = node("Conv", {in, out + ".W", out + ".B"}, out);
    ints(n, "kernel_shape", {k, k});
    ints(n, "pads", {pad, pad, pad, pad});
    if (stride != 1) ints(n, "strides", {stride, stride});
    if (group != 1) integer(n, "group", group);
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
