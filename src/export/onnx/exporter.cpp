// The layer walk: the graph input, each layer in net order by the export table (op_table.cpp),
// then the graph outputs. Footprint's value names become ONNX value names as they are, and each
// layer's last node carries the layer's name, so the importer names the layers it reads back the
// same way (src/import/onnx/importer.cpp) and the weights keep their names.
#include "export/onnx/exporter.hpp"

#include <cstring>

#include "core/check.hpp"
#include "export/onnx/op_table.hpp"
#include "footprint/error.hpp"
#include "footprint/layer.hpp"
#include "footprint/version.hpp"

namespace footprint::onnx_export {
namespace {

// The symbolic batch of the graph input and outputs.
constexpr const char* kBatchParam = "N";

void set_value_info(onnx::ValueInfoProto& info, const std::string& name, const Shape& s, int rank) {
  info.set_name(name);
  auto* tensor = info.mutable_type()->mutable_tensor_type();
  tensor->set_elem_type(onnx::TensorProto::FLOAT);
  auto* shape = tensor->mutable_shape();
  shape->add_dim()->set_dim_param(kBatchParam);
  if (rank == 2) {
    shape->add_dim()->set_dim_value(s.n_elems());
  } else {
    for (int64_t d : {s.c, s.h, s.w}) shape->add_dim()->set_dim_value(d);
  }
}

onnx::AttributeProto& new_attr(onnx::NodeProto& node, const std::string& name,
                               onnx::AttributeProto::AttributeType type) {
  onnx::AttributeProto& a = *node.add_attribute();
  a.set_name(name);
  a.set_type(type);
  return a;
}

}  // namespace

void set_int(onnx::NodeProto& node, const std::string& name, int64_t value) {
  new_attr(node, name, onnx::AttributeProto::INT).set_i(value);
}

void set_float(onnx::NodeProto& node, const std::string& name, float value) {
  new_attr(node, name, onnx::AttributeProto::FLOAT).set_f(value);
}

void set_string(onnx::NodeProto& node, const std::string& name, const std::string& value) {
  new_attr(node, name, onnx::AttributeProto::STRING).set_s(value);
}

void set_ints(onnx::NodeProto& node, const std::string& name, const std::vector<int64_t>& values) {
  onnx::AttributeProto& a = new_attr(node, name, onnx::AttributeProto::INTS);
  for (int64_t v : values) a.add_ints(v);
}

Exporter::Exporter(const Net& net, WeightLookup weights, std::string source)
    : net_(net), weights_(std::move(weights)), source_(std::move(source)) {}

std::string Exporter::where() const {
  return source_ + ": layer '" + spec().name + "' (" + spec().op + ", layer " + std::to_string(layer_) + ")";
}

void Exporter::fail(const std::string& what) const { throw ParseError(where() + ": " + what); }

Value Exporter::input(int i) const {
  const int v = node().inputs.at(i);
  return {.name = net_.value_name(v), .rank = ranks_.at(v)};
}

Value Exporter::input4(int i) {
  const int v = node().inputs.at(i);
  if (ranks_.at(v) == 4) return input(i);
  auto it = as_rank4_.find(v);
  if (it == as_rank4_.end()) {
    // [N, F] -> [N, F, 1, 1]: 0 keeps the batch, whatever it is at run time.
    const std::string name = unique(net_.value_name(v) + ".as_nchw");
    const std::string shape = unique(net_.value_name(v) + ".nchw_shape");
    add_ints(shape, {4}, {0, -1, 1, 1});
    add_node("Reshape", {net_.value_name(v), shape}, name);
    it = as_rank4_.emplace(v, name).first;
  }
  return {.name = it->second, .rank = 4};
}

std::vector<Value> Exporter::inputs_same_rank() {
  std::vector<Value> values;
  bool same = true;
  for (int i = 0; i < n_inputs(); ++i) {
    values.push_back(input(i));
    same = same && values.back().rank == values[0].rank;
  }
  if (!same) {
    for (int i = 0; i < n_inputs(); ++i) values[i] = input4(i);
  }
  return values;
}

std::string Exporter::unique(const std::string& base) {
  std::string name = base;
  for (int i = 1; names_.count(name) > 0; ++i) name = base + "_" + std::to_string(i);
  names_.insert(name);
  return name;
}

std::string Exporter::temp(const std::string& part) { return unique(spec().name + "." + part); }

onnx::NodeProto& Exporter::add_node(const std::string& op_type, const std::vector<std::string>& inputs,
                                    const std::string& output) {
  onnx::NodeProto& n = *graph_->add_node();
  n.set_op_type(op_type);
  n.set_name(output);
  for (const std::string& in : inputs) n.add_input(in);
  n.add_output(output);
  return n;
}

onnx::TensorProto& Exporter::add_initializer(const std::string& name, const std::vector<int64_t>& dims) {
  onnx::TensorProto& t = *graph_->add_initializer();
  t.set_name(name);
  for (int64_t d : dims) t.add_dims(d);
  return t;
}

std::string Exporter::weight(const std::string& param, const std::vector<int64_t>& dims) {
  const std::string full = spec().name + "." + param;
  int64_t n_elems = 1;
  for (int64_t d : dims) n_elems *= d;
  const std::span<const float> values = weights_(full);
  if (values.empty()) throw IoError(source_ + ": the weights have no '" + full + "'");
  if (static_cast<int64_t>(values.size()) != n_elems) {
    throw IoError(source_ + ": '" + full + "' has " + std::to_string(values.size()) + " values; layer '" +
                  spec().name + "' needs " + std::to_string(n_elems));
  }
  const std::string name = unique(full);
  onnx::TensorProto& t = add_initializer(name, dims);
  t.set_data_type(onnx::TensorProto::FLOAT);
  // Little-endian, as ONNX's raw_data is (the only byte order this project builds for).
  t.set_raw_data(values.data(), values.size_bytes());
  return name;
}

std::string Exporter::constant_floats(const std::string& part, const std::vector<int64_t>& dims,
                                      const std::vector<float>& values) {
  const std::string name = temp(part);
  onnx::TensorProto& t = add_initializer(name, dims);
  t.set_data_type(onnx::TensorProto::FLOAT);
  for (float v : values) t.add_float_data(v);
  return name;
}

void Exporter::add_ints(const std::string& name, const std::vector<int64_t>& dims, const std::vector<int64_t>& values) {
  onnx::TensorProto& t = add_initializer(name, dims);
  t.set_data_type(onnx::TensorProto::INT64);
  for (int64_t v : values) t.add_int64_data(v);
}

std::string Exporter::constant_ints(const std::string& part, const std::vector<int64_t>& dims,
                                    const std::vector<int64_t>& values) {
  const std::string name = temp(part);
  add_ints(name, dims, values);
  return name;
}

std::vector<int64_t> Exporter::per_channel_dims(int64_t channels, int rank) {
  return rank == 2 ? std::vector<int64_t>{channels} : std::vector<int64_t>{channels, 1, 1};
}

void Exporter::add_graph_input() {
  set_value_info(*graph_->add_input(), kInputName, net_.input_shape(), 4);
  ranks_.push_back(4);
}

void Exporter::export_layer() {
  const ExportEntry* entry = find_export(spec().op);
  if (!entry) {
    fail("op '" + spec().op + "' has no ONNX form the exporter writes (a layer registered with register_layer, "
         "or one without an ONNX equivalent); exportable ops: " + export_ops_text());
  }
  out_rank_ = n_inputs() > 0 ? ranks_.at(node().inputs[0]) : 4;
  const int first_node = graph_->node_size();
  entry->emit(*this);
  FP_CHECK(graph_->node_size() > first_node && graph_->node(graph_->node_size() - 1).output(0) == output(),
           "the %s emitter did not end with a node writing '%s'", spec().op.c_str(), output().c_str());
  ranks_.push_back(out_rank_);
}

void Exporter::add_graph_outputs() {
  for (int v : net_.outputs()) set_value_info(*graph_->add_output(), net_.value_name(v), net_.value_shape(v), ranks_.at(v));
}

onnx::ModelProto Exporter::run() {
  if (net_.n_layers() == 0) throw ParseError(source_ + ": the net has no layers; there is nothing to export");
  model_.set_ir_version(kIrVersion);
  model_.set_producer_name("footprint");
  model_.set_producer_version(version());
  model_.set_doc_string("Exported by Footprint " + std::string(version()) + " from " + source_);
  onnx::OperatorSetIdProto* opset = model_.add_opset_import();
  opset->set_domain("");
  opset->set_version(kOpset);
  graph_ = model_.mutable_graph();
  graph_->set_name("footprint");
  // Every value name first, so that the names made up for inner nodes avoid them all.
  names_.insert(kInputName);
  for (int i = 0; i < net_.n_layers(); ++i) names_.insert(net_.node(i).spec.name);
  add_graph_input();
  for (layer_ = 0; layer_ < net_.n_layers(); ++layer_) export_layer();
  add_graph_outputs();
  return std::move(model_);
}

}  // namespace footprint::onnx_export
