// The graph walk: reads the opset and the graph input, registers constants, converts the nodes
// in order (each by the op table, op_table.cpp), then keeps the layers the graph outputs need and
// assembles the Net and its parameters. A node may read any earlier value; the layers name the
// values they read (LayerSpec::inputs), so the Net is the graph's own shape.
#include "import/onnx/importer.hpp"

#include <algorithm>
#include <cctype>
#include <sstream>

#include "core/check.hpp"
#include "footprint/error.hpp"
#include "import/onnx/fusions.hpp"
#include "import/onnx/node_attrs.hpp"
#include "import/onnx/op_table.hpp"
#include "layers/layer.hpp"

namespace footprint {
namespace {

// Opsets 7 to 17 are what the importer is written for; older models load when every op they use
// is unchanged since (the node tests keep GlobalAveragePool at opset 1). Attributes that older
// opsets had and later dropped (consumed_inputs, ...) are refused by name.
constexpr int64_t kMinOpset = 1, kMaxOpset = 17;
constexpr int64_t kMaxInputDim = int64_t{1} << 24;

// A node name as a layer name: torch.onnx's scopes ("/layer1/layer1.0/conv1/Conv") read as
// "layer1.layer1.0.conv1.Conv"; characters .net names cannot hold become '_'.
std::string sanitize_name(const std::string& name) {
  std::string out;
  for (char ch : name) {
    const bool ok = std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '-' || ch == '.';
    if (ch == '/' && out.empty()) continue;
    out += ok ? ch : ch == '/' ? '.' : '_';
  }
  return out;
}

}  // namespace

const char* view_name(View view) {
  switch (view) {
    case View::nchw: return "NCHW";
    case View::nhwc: return "channels-last (NHWC)";
    case View::grouped: return "grouped [N, G, C/G, H, W]";
    case View::shuffled: return "transposed group view [N, C/G, G, H, W]";
  }
  return "?";
}

std::string float_text(float value) {
  std::ostringstream text;
  text.precision(9);
  text << value;
  return text.str();
}

ParamSource param_from(const std::string& name, std::shared_ptr<const ConstTensor> tensor) {
  const int64_t n = tensor->n_elems();
  return {.name = name, .n_elems = n, .fill = [tensor = std::move(tensor)](float* dst) { tensor->read_floats(dst); }};
}

ParamSource param_values(const std::string& name, std::vector<float> values) {
  const auto n = static_cast<int64_t>(values.size());
  return {.name = name, .n_elems = n,
          .fill = [values = std::move(values)](float* dst) { std::copy(values.begin(), values.end(), dst); }};
}

Importer::Importer(onnx::ModelProto& model, std::string source, const OnnxImportOptions& options,
                   std::shared_ptr<const OnnxFile> file,
                   const std::unordered_map<const onnx::TensorProto*, FileRange>* deferred)
    : model_(model), source_(std::move(source)), options_(options), file_(std::move(file)), deferred_(deferred) {}

// --- the node being converted ---

std::string Importer::where() const {
  return source_ + ": node '" + node_->name() + "' (" + node_->op_type() + ", node " + std::to_string(node_index_) + ")";
}

void Importer::fail(const std::string& what) const { throw ParseError(where() + ": " + what); }

void Importer::fail_attr(const std::string& attr, const std::string& value, const std::string& rule) const {
  fail("attribute " + attr + "=" + value + ": " + rule);
}

int Importer::n_inputs() const {
  int n = node_->input_size();
  while (n > 0 && node_->input(n - 1).empty()) --n;
  return n;
}

const std::string& Importer::input_name(int i) const {
  if (!has_input(i)) fail("input " + std::to_string(i) + " is missing");
  return node_->input(i);
}

void Importer::only_first_output_used() const {
  for (int o = 1; o < node_->output_size(); ++o) {
    const std::string& out = node_->output(o);
    if (!out.empty() && (!consumers(out).empty() || is_graph_output(out))) {
      fail("output " + std::to_string(o) + " ('" + out + "') is used, but Footprint computes only the first output of this op");
    }
  }
}

// --- constants ---

std::shared_ptr<const ConstTensor> Importer::constant(int i, const std::string& role) const {
  auto it = constants_.find(input_name(i));
  if (it == constants_.end()) {
    fail("input " + std::to_string(i) + " (" + role + ", '" + input_name(i) +
         "') must be an initializer or a Constant (or computed from them): Footprint takes it at import, "
         "not as a value the graph computes");
  }
  return it->second;
}

std::vector<int64_t> Importer::constant_ints(int i, const std::string& role) const {
  return constant(i, role)->ints(where() + ": " + role);
}

std::vector<float> Importer::constant_floats(int i, const std::string& role) const {
  return constant(i, role)->floats();
}

float Importer::constant_scalar(int i, const std::string& role) const {
  const auto t = constant(i, role);
  if (t->n_elems() != 1) fail(role + " has shape " + dims_text(t->dims()) + "; expected a single number");
  return t->floats()[0];
}

std::shared_ptr<const ConstTensor> Importer::constant_named(const std::string& name) const {
  auto it = constants_.find(name);
  return it == constants_.end() ? nullptr : it->second;
}

void Importer::set_constant(int k, std::shared_ptr<const ConstTensor> tensor) {
  if (k < node_->output_size() && !node_->output(k).empty()) constants_[node_->output(k)] = std::move(tensor);
}

// --- values ---

ValueRef Importer::value(int i) const {
  auto it = values_.find(input_name(i));
  if (it != values_.end()) return it->second;
  if (constants_.count(input_name(i))) {
    fail("input " + std::to_string(i) + " ('" + input_name(i) + "') is a constant, but Footprint computes " +
         node_->op_type() + " only on values computed from the graph input");
  }
  fail("input '" + input_name(i) + "' is not produced by any earlier node (graph not sorted?)");
}

ValueRef Importer::activation(int i) const {
  const ValueRef v = value(i);
  if (v.view != View::nchw) {
    fail("input " + std::to_string(i) + " ('" + input_name(i) + "') is a " + view_name(v.view) +
         " view of its data; " + node_->op_type() + " reads NCHW values (transpose it back first)");
  }
  return v;
}

ValueRef Importer::value_named(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end()) fail("value '" + name + "' is not produced by any earlier node");
  return it->second;
}

Shape Importer::shape(const ValueRef& v) const { return running_->value_shape(v.fp_value); }

std::vector<int64_t> Importer::onnx_dims(const ValueRef& v) const {
  const Shape s = shape(v);
  switch (v.view) {
    case View::nhwc: return {batch_, s.h, s.w, s.c};
    case View::grouped: return {batch_, v.groups, s.c / v.groups, s.h, s.w};
    case View::shuffled: return {batch_, s.c / v.groups, v.groups, s.h, s.w};
    case View::nchw: break;
  }
  switch (v.rank) {
    case 1: return {batch_};
    case 2: return {batch_, s.n_elems()};
    case 3: return {batch_, s.c, s.w};
    default: return {batch_, s.c, s.h, s.w};
  }
}

int Importer::storage_axis(const ValueRef& v, int64_t axis) const {
  if (axis < -v.rank || axis >= v.rank) {
    fail("axis " + std::to_string(axis) + " is out of range for a rank-" + std::to_string(v.rank) + " value");
  }
  if (axis < 0) axis += v.rank;
  if (axis == 0) return 0;
  switch (v.view) {
    case View::nhwc: return axis == 1 ? 2 : axis == 2 ? 3 : 1;
    case View::grouped:
    case View::shuffled: return axis == 3 ? 2 : axis == 4 ? 3 : -1;
    case View::nchw: break;
  }
  if (v.rank == 3) return axis == 1 ? 1 : 3;
  return static_cast<int>(axis);  // rank 2: axis 1 is the features, Footprint's C
}

const std::string& Importer::fp_name(int fp_value) const {
  static const std::string input = kInputName;
  return fp_value == 0 ? input : layers_.at(fp_value - 1).spec.name;
}

void Importer::set_value(const std::string& name, const ValueRef& v) {
  values_[name] = v;
  names_of_[v.fp_value].push_back(name);
}

void Importer::alias(const ValueRef& v, int k) {
  if (k < node_->output_size() && !node_->output(k).empty()) set_value(node_->output(k), v);
}

std::string Importer::unique_name(const std::string& from) {
  std::string base = sanitize_name(from.empty() ? (node_->name().empty() ? node_->output(0) : node_->name()) : from);
  if (base.empty()) base = node_->op_type() + std::to_string(node_index_);
  std::string name = base;
  for (int i = 1; names_.count(name) || name == "loss" || name == kInputName; ++i) name = base + "_" + std::to_string(i);
  names_.insert(name);
  return name;
}

ValueRef Importer::add_layer(LayerSpec spec, const std::vector<ValueRef>& inputs, std::vector<ParamSource> params,
                             ValueRef out, int k, const std::string& name_from) {
  spec.name = unique_name(name_from);
  spec.inputs.clear();
  for (const ValueRef& in : inputs) {
    // convert_pad keeps a pad only for the one AveragePool that reads it, which takes it.
    FP_CHECK(!in.has_pool_pad(), "layer '%s' reads a zero Pad kept for an AveragePool", spec.name.c_str());
    spec.inputs.push_back(fp_name(in.fp_value));
  }
  try {
    running_->add(spec);
  } catch (const ShapeError& e) {
    throw ShapeError(where() + ": " + e.what());
  } catch (const Error& e) {
    fail(e.what());
  }
  for (const ValueRef& in : inputs) ++layer_reads_[in.fp_value];
  layers_.push_back({std::move(spec), std::move(params)});
  out.fp_value = static_cast<int>(layers_.size());
  out.pool_pad = {};
  if (k >= 0) alias(out, k);
  return out;
}

PendingLayer* Importer::sole_reader_producer(const ValueRef& v) {
  if (v.fp_value == 0 || layer_reads_[v.fp_value] > 0) return nullptr;
  int reads = 0, reads_here = 0;
  for (const std::string& name : names_of_[v.fp_value]) {
    if (is_graph_output(name)) return nullptr;
    for (int reader : consumers(name)) {
      if (reader < node_index_ || absorbed_.count(reader)) continue;  // converted already
      ++reads;
    }
    for (int i = 0; i < node_->input_size(); ++i) reads_here += node_->input(i) == name;
  }
  return reads == reads_here && reads_here == 1 ? &layers_[v.fp_value - 1] : nullptr;
}

const std::vector<int>& Importer::consumers(const std::string& value) const {
  static const std::vector<int> none;
  auto it = consumers_.find(value);
  return it == consumers_.end() ? none : it->second;
}

// --- the walk ---

void Importer::read_opset() {
  for (const auto& o : model_.opset_import()) {
    if (o.domain().empty() || o.domain() == "ai.onnx") opset_ = o.version();
  }
  if (opset_ == 0 && model_.opset_import_size() == 0) opset_ = 1;  // IR v2 models have no opset list
  if (opset_ < kMinOpset || opset_ > kMaxOpset) {
    throw ParseError(source_ + ": the model uses opset " + std::to_string(opset_) + " of ONNX; the importer reads opsets " +
                     std::to_string(kMinOpset) + " to " + std::to_string(kMaxOpset));
  }
}

void Importer::register_constant_node(const onnx::NodeProto& n, int index) {
  const std::string what = source_ + ": node '" + n.name() + "' (Constant, node " + std::to_string(index) + ")";
  if (n.output_size() != 1 || n.attribute_size() != 1) {
    throw ParseError(what + ": expected one output and one attribute (value, value_float(s) or value_int(s))");
  }
  const onnx::AttributeProto& a = n.attribute(0);
  std::shared_ptr<const ConstTensor> t;
  if (a.name() == "value" && a.has_t()) {
    t = ConstTensor::from_proto(a.t(), what + ": value");
  } else if (a.name() == "value_float" && a.type() == onnx::AttributeProto::FLOAT) {
    t = ConstTensor::of_floats({}, {a.f()});
  } else if (a.name() == "value_floats" && a.type() == onnx::AttributeProto::FLOATS) {
    t = ConstTensor::of_floats({a.floats_size()}, {a.floats().begin(), a.floats().end()});
  } else if (a.name() == "value_int" && a.type() == onnx::AttributeProto::INT) {
    t = ConstTensor::of_ints({}, {a.i()});
  } else if (a.name() == "value_ints" && a.type() == onnx::AttributeProto::INTS) {
    t = ConstTensor::of_ints({a.ints_size()}, {a.ints().begin(), a.ints().end()});
  } else {
    throw ParseError(what + ": attribute '" + a.name() + "' is not supported; supported: value (a tensor), "
                     "value_float, value_floats, value_int, value_ints");
  }
  constants_[n.output(0)] = std::move(t);
}

void Importer::collect_constants() {
  const onnx::GraphProto& graph = model_.graph();
  for (const auto& t : graph.initializer()) {
    if (t.name().empty()) throw IoError(source_ + ": an initializer has no name (corrupt file?)");
    const FileRange* range = nullptr;
    if (deferred_) {
      auto it = deferred_->find(&t);
      if (it != deferred_->end()) range = &it->second;
    }
    constants_[t.name()] = ConstTensor::from_proto(t, source_ + ": initializer '" + t.name() + "'", file_, range);
  }
  // Constant nodes are known before the walk, so fusions may look ahead at them.
  for (int i = 0; i < graph.node_size(); ++i) {
    const onnx::NodeProto& n = graph.node(i);
    for (const auto& in : n.input())
      if (!in.empty()) consumers_[in].push_back(i);
    if (n.op_type() == "Constant" && (n.domain().empty() || n.domain() == "ai.onnx")) register_constant_node(n, i);
  }
  for (const auto& out : graph.output()) graph_outputs_.insert(out.name());
}

void Importer::read_graph_input() {
  const onnx::GraphProto& graph = model_.graph();
  const onnx::ValueInfoProto* input = nullptr;
  for (const auto& in : graph.input()) {
    if (constants_.count(in.name())) continue;  // older exporters list initializers as inputs
    if (input) {
      throw ParseError(source_ + ": the graph has inputs '" + input->name() + "' and '" + in.name() +
                       "'; Footprint nets take one input");
    }
    input = &in;
  }
  if (!input) throw ParseError(source_ + ": the graph has no input");
  const auto& type = input->type();
  if (!type.has_tensor_type() || type.tensor_type().elem_type() != onnx::TensorProto::FLOAT) {
    throw ParseError(source_ + ": input '" + input->name() + "' is not a float32 tensor; Footprint computes in float32");
  }
  const auto& dims = type.tensor_type().shape().dim();
  if (!type.tensor_type().has_shape() || dims.size() < 1 || dims.size() > 4) {
    throw ParseError(source_ + ": input '" + input->name() + "' has rank " + std::to_string(dims.size()) +
                     "; Footprint takes [N, C, H, W], [N, C, L], [N, F] or [N]");
  }
  const int rank = dims.size();
  // Which of the caller's C, H, W each ONNX axis takes (rank 3 is [N, C, L]: L is W).
  const char* const axis_names[] = {"N", "C", rank == 3 ? "W" : "H", "W"};
  auto given = [&](int i) -> int64_t {
    if (!options_.input_shape) return 0;
    const Shape& s = *options_.input_shape;
    if (i == 1) return s.c;
    return (rank == 3 || i == 3) ? s.w : s.h;
  };
  std::vector<int64_t> d;
  for (int i = 0; i < rank; ++i) {
    const bool fixed = dims[i].has_dim_value() && dims[i].dim_value() >= 1 && dims[i].dim_value() <= kMaxInputDim;
    if (fixed) {
      d.push_back(dims[i].dim_value());
      continue;
    }
    if (i == 0) {  // a symbolic batch is fine: the batch is a plan option
      d.push_back(1);
      continue;
    }
    const std::string found = dims[i].has_dim_param() ? "the symbolic '" + dims[i].dim_param() + "'"
                                                      : "not a positive number";
    const int64_t value = given(i);
    if (value < 1 || value > kMaxInputDim) {
      throw ParseError(source_ + ": input '" + input->name() + "' dimension " + std::to_string(i) + " (" +
                       axis_names[i] + ") is " + found + "; give the input size: --size WxH on the command "
                       "line (run also takes it from its .npy input), OnnxImportOptions::input_shape in C++");
    }
    d.push_back(value);
  }
  batch_ = d[0];
  if (rank == 4) input_shape_ = {d[1], d[2], d[3]};
  if (rank == 3) input_shape_ = {d[1], 1, d[2]};
  if (rank == 2) input_shape_ = {d[1], 1, 1};
  if (rank == 1) input_shape_ = {1, 1, 1};
  input_name_ = input->name();
  set_value(input->name(), {.fp_value = 0, .rank = rank});
}

void Importer::convert_node() {
  if (!node_->domain().empty() && node_->domain() != "ai.onnx") {
    fail("op domain '" + node_->domain() + "' is not supported; supported ops (default domain): " + supported_ops_text());
  }
  if (node_->op_type() == "Constant") return;  // registered before the walk
  if (node_->output_size() < 1 || node_->output(0).empty()) fail("the node has no output");
  if (try_fusion(*this)) return;
  const OpEntry* entry = find_op(node_->op_type());
  if (!entry) fail("op '" + node_->op_type() + "' is not supported; supported ops: " + supported_ops_text());
  bool all_constant = n_inputs() > 0;
  for (int i = 0; i < n_inputs(); ++i)
    if (has_input(i) && !is_constant(i)) all_constant = false;
  if (all_constant && entry->fold) return entry->fold(*this);
  if (!all_constant && entry->convert) return entry->convert(*this);
  if (all_constant) {
    fail("every input is a constant, but Footprint computes " + node_->op_type() +
         " only on values from the graph input (fold the constants before export)");
  }
  std::string computed;
  for (int i = 0; i < n_inputs(); ++i)
    if (has_input(i) && !is_constant(i)) computed = "input " + std::to_string(i) + " ('" + input_name(i) + "')";
  fail(node_->op_type() + " is imported only on constants (shape arithmetic, folded at import), but " + computed +
       " is computed by the graph");
}

OnnxModel Importer::run() {
  if (!model_.has_graph()) throw IoError(source_ + ": not an ONNX model (no graph; truncated or corrupt file?)");
  read_opset();
  collect_constants();
  read_graph_input();
  running_.emplace(input_shape_);
  const onnx::GraphProto& graph = model_.graph();
  for (node_index_ = 0; node_index_ < graph.node_size(); ++node_index_) {
    if (absorbed_.count(node_index_)) continue;
    node_ = &graph.node(node_index_);
    convert_node();
  }
  node_ = nullptr;
  return finish();
}

OnnxModel Importer::finish() {
  const onnx::GraphProto& graph = model_.graph();
  if (graph.output_size() < 1) throw ParseError(source_ + ": the graph has no output");
  std::vector<std::string> output_names;
  std::vector<int> output_values;
  for (const auto& out : graph.output()) {
    const std::string& name = out.name();
    auto it = values_.find(name);
    if (it == values_.end()) {
      if (constants_.count(name)) {
        throw ParseError(source_ + ": the graph output '" + name + "' is a constant; Footprint's outputs are "
                         "computed from the input");
      }
      throw ParseError(source_ + ": the graph output '" + name + "' is not computed by any node");
    }
    const ValueRef& v = it->second;
    if (v.fp_value == 0) {
      throw ParseError(source_ + ": the graph output '" + name + "' is the graph input itself; Footprint's "
                       "outputs are layers' outputs");
    }
    if (v.view != View::nchw) {
      throw ParseError(source_ + ": the graph output '" + name + "' is a " + view_name(v.view) +
                       " view; Footprint writes outputs in NCHW order (transpose it back in the model)");
    }
    const auto dup = std::find(output_values.begin(), output_values.end(), v.fp_value);
    if (dup != output_values.end()) {
      throw ParseError(source_ + ": the graph outputs '" + output_names[dup - output_values.begin()] + "' and '" +
                       name + "' are the same value; Footprint's outputs are distinct values");
    }
    output_names.push_back(name);
    output_values.push_back(v.fp_value);
  }

  // Only the layers some output depends on (Shape-only readers, unused Split outputs, ...).
  std::vector<bool> needed(layers_.size() + 1, false);
  for (int v : output_values) needed[v] = true;
  for (int i = static_cast<int>(layers_.size()); i >= 1; --i) {
    if (!needed[i]) continue;
    for (int input : running_->node(i - 1).inputs) needed[input] = true;
  }
  Net net(input_shape_);
  std::vector<int> kept;
  for (size_t i = 0; i < layers_.size(); ++i) {
    if (!needed[i + 1]) continue;
    net.add(layers_[i].spec);
    kept.push_back(static_cast<int>(i));
  }
  std::vector<std::string> fp_outputs;
  for (int v : output_values) fp_outputs.push_back(layers_[v - 1].spec.name);
  if (fp_outputs != std::vector<std::string>{net.value_name(net.n_layers())}) net.set_outputs(fp_outputs);

  // Each layer's parameters, checked against what the layer declares.
  std::vector<ParamSource> params;
  for (int i = 0; i < net.n_layers(); ++i) {
    const Net::Node& node = net.node(i);
    const std::vector<ParamSpec> specs = node.layer->params(net.input_shapes(i));
    std::vector<ParamSource>& given = layers_[kept[i]].params;
    if (given.size() != specs.size()) {
      throw ParseError(source_ + ": layer '" + node.spec.name + "' needs " + std::to_string(specs.size()) +
                       " parameter tensors; the model gives " + std::to_string(given.size()));
    }
    for (size_t p = 0; p < specs.size(); ++p) {
      if (given[p].name != specs[p].name || given[p].n_elems != specs[p].n_elems) {
        throw ParseError(source_ + ": layer '" + node.spec.name + "' needs " + specs[p].name + " of " +
                         std::to_string(specs[p].n_elems) + " values; the model gives " + given[p].name + " of " +
                         std::to_string(given[p].n_elems));
      }
      given[p].name = node.spec.name + "." + specs[p].name;
      params.push_back(std::move(given[p]));
    }
  }
  layers_.clear();
  constants_.clear();

  OnnxModel result{.net = std::move(net), .batch = batch_, .input_name = input_name_,
                   .output_name = output_names[0], .output_names = output_names};
  using Weights = OnnxImportOptions::Weights;
  if (options_.weights == Weights::in_memory) {
    result.weights.net_text = result.net.to_text();
    for (ParamSource& p : params) {
      SavedTensor t{.name = p.name};
      t.data.resize(p.n_elems);
      p.fill(t.data.data());
      result.weights.tensors.push_back(std::move(t));
      p.fill = nullptr;  // lets go of the constant (and its bytes) as soon as it is converted
    }
  } else if (options_.weights == Weights::deferred) {
    result.deferred = std::make_shared<OnnxDeferredWeights>();
    result.deferred->params = std::move(params);
  }
  return result;
}

}  // namespace footprint
