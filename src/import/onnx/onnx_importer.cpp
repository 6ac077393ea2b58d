// ONNX ModelProto -> Net + parameters. One table (kConverters, at the end) maps each ONNX op type
// to a function that appends Footprint layers. Footprint nets are chains (each layer reads the
// previous one; add and concat also name one earlier layer), so a graph of another shape is
// refused with the node that breaks the chain. Shapes must be static apart from the batch.
#include "import/onnx/onnx_importer.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include "footprint/error.hpp"
#include "layers/layer.hpp"

namespace footprint {
namespace {

// Opsets 7 to 17 are what the importer is written for; older models load when every op they use
// is unchanged since (the node tests keep GlobalAveragePool at opset 1). Attributes that older
// opsets had and later dropped (consumed_inputs, ...) are refused by name.
constexpr int64_t kMinOpset = 1, kMaxOpset = 17;
constexpr int64_t kMaxDim = int64_t{1} << 31;

// Where a value of the ONNX graph lives in the Net being built.
struct ValueRef {
  int fp_value = 0;  // 0: the net input; i + 1: layer i's output
  int rank = 4;      // ONNX rank: 1 [N], 2 [N, F], 3 [N, C, L], 4 [N, C, H, W]
};

// A layer waiting for the final Net, with its parameters in the order the layer declares them.
struct PendingLayer {
  LayerSpec spec;
  std::vector<SavedTensor> params;
};

std::string dims_text(const std::vector<int64_t>& dims) {
  std::string text = "[";
  for (size_t i = 0; i < dims.size(); ++i) text += (i ? ", " : "") + std::to_string(dims[i]);
  return text + "]";
}

std::vector<int64_t> tensor_dims(const onnx::TensorProto& t, const std::string& what) {
  std::vector<int64_t> dims(t.dims().begin(), t.dims().end());
  for (int64_t d : dims) {
    if (d < 0 || d > kMaxDim) throw IoError(what + ": bad dimension " + std::to_string(d) + " (corrupt file?)");
  }
  return dims;
}

int64_t dims_product(const std::vector<int64_t>& dims, const std::string& what) {
  int64_t n = 1;
  for (int64_t d : dims) {
    if (d != 0 && n > (int64_t{1} << 40) / d) throw IoError(what + ": too many elements " + dims_text(dims));
    n *= d;
  }
  return n;
}

std::vector<int64_t> tensor_int64s(const onnx::TensorProto& t, const std::string& what) {
  const int64_t n = dims_product(tensor_dims(t, what), what);
  std::vector<int64_t> values;
  if (t.data_type() == onnx::TensorProto::INT64) {
    if (t.has_raw_data()) {
      if (static_cast<int64_t>(t.raw_data().size()) != n * 8) {
        throw IoError(what + ": " + std::to_string(t.raw_data().size()) + " bytes for " +
                      std::to_string(n) + " int64 values (corrupt file?)");
      }
      values.resize(n);
      std::memcpy(values.data(), t.raw_data().data(), t.raw_data().size());
    } else {
      values.assign(t.int64_data().begin(), t.int64_data().end());
    }
  } else if (t.data_type() == onnx::TensorProto::INT32 && !t.has_raw_data()) {
    values.assign(t.int32_data().begin(), t.int32_data().end());
  } else {
    throw ParseError(what + ": expected an int64 tensor, found data type " + std::to_string(t.data_type()));
  }
  if (static_cast<int64_t>(values.size()) != n) {
    throw IoError(what + ": " + std::to_string(values.size()) + " values, its dims " +
                  dims_text(tensor_dims(t, what)) + " say " + std::to_string(n) + " (corrupt file?)");
  }
  return values;
}

// Frees a tensor's bytes: clear() alone would keep the capacity.
void release_tensor_data(onnx::TensorProto& t) {
  std::string().swap(*t.mutable_raw_data());
  google::protobuf::RepeatedField<float>().Swap(t.mutable_float_data());
  t.clear_raw_data();
}

std::string sanitize_name(const std::string& name) {
  std::string out;
  for (char ch : name) {
    const bool ok = std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '-' || ch == '.';
    out += ok ? ch : '_';
  }
  return out;
}

class Importer;
using Converter = void (*)(Importer&);

// The attributes of one node, read by name; finish() refuses any attribute not read, so an
// attribute the importer does not understand is never silently ignored.
class NodeAttrs {
 public:
  NodeAttrs(const Importer& im, const onnx::NodeProto& node) : im_(im), node_(node) {}

  bool has(const std::string& name) const { return find(name) != nullptr; }
  int64_t get_int(const std::string& name, int64_t fallback);
  float get_float(const std::string& name, float fallback);
  std::string get_string(const std::string& name, const std::string& fallback);
  std::vector<int64_t> get_ints(const std::string& name);  // empty when absent
  void finish() const;

 private:
  const onnx::AttributeProto* find(const std::string& name) const {
    for (const auto& a : node_.attribute())
      if (a.name() == name) return &a;
    return nullptr;
  }
  const onnx::AttributeProto* read(const std::string& name, onnx::AttributeProto::AttributeType type);

  const Importer& im_;
  const onnx::NodeProto& node_;
  std::set<std::string> read_;
};

class Importer {
 public:
  Importer(onnx::ModelProto& model, std::string source, const OnnxImportOptions& options)
      : model_(model), source_(std::move(source)), options_(options) {}

  OnnxModel run();

  // --- what converters use ---
  const onnx::NodeProto& node() const { return *node_; }
  int64_t opset() const { return opset_; }
  std::string where() const {
    return source_ + ": node '" + node_->name() + "' (" + node_->op_type() + ", node " +
           std::to_string(node_index_) + ")";
  }
  [[noreturn]] void fail(const std::string& what) const { throw ParseError(where() + ": " + what); }
  [[noreturn]] void fail_attr(const std::string& attr, const std::string& value,
                              const std::string& rule) const {
    fail("attribute " + attr + "=" + value + ": " + rule);
  }

  int n_inputs() const {  // trailing empty names mean "not given"
    int n = node_->input_size();
    while (n > 0 && node_->input(n - 1).empty()) --n;
    return n;
  }
  const std::string& input_name(int i) const {
    if (i >= node_->input_size() || node_->input(i).empty()) {
      fail("input " + std::to_string(i) + " is missing");
    }
    return node_->input(i);
  }
  bool is_constant(int i) const { return constants_.count(input_name(i)) > 0; }
  onnx::TensorProto& constant(int i, const char* role) const {
    auto it = constants_.find(input_name(i));
    if (it == constants_.end()) {
      fail(std::string("input ") + std::to_string(i) + " (" + role + ", '" + input_name(i) +
           "') must be an initializer or a Constant: Footprint layers take their weights as "
           "parameters, not as values computed by the graph");
    }
    return *it->second;
  }
  std::vector<int64_t> constant_dims(int i, const char* role) const {
    return tensor_dims(constant(i, role), where() + ": " + role);
  }
  // The constant's floats, or nothing when weights are not wanted. The proto's bytes are
  // released once converted, unless another node still needs them.
  std::vector<float> constant_floats(int i, const char* role) {
    onnx::TensorProto& t = constant(i, role);
    if (!options_.weights) return {};
    std::vector<float> values = onnx_tensor_floats(t, where() + ": " + role + " '" + input_name(i) + "'");
    if (--constant_uses_[canonical(input_name(i))] <= 0) release_tensor_data(t);
    return values;
  }
  std::vector<int64_t> constant_int64s(int i, const char* role) const {
    return tensor_int64s(constant(i, role), where() + ": " + role);
  }
  bool weights_wanted() const { return options_.weights; }
  int64_t batch() const { return batch_; }

  // An activation input (a value computed by the graph, or the graph input).
  ValueRef activation(int i) const {
    auto it = values_.find(input_name(i));
    if (it == values_.end()) {
      if (constants_.count(input_name(i))) {
        fail("input " + std::to_string(i) + " ('" + input_name(i) +
             "') is a constant, but Footprint computes this op only on values from the graph input");
      }
      fail("input '" + input_name(i) + "' is not produced by any earlier node (graph not sorted?)");
    }
    return it->second;
  }
  // The activation a one-input layer reads: it must be the previous layer's output.
  ValueRef chained(int i) const {
    const ValueRef ref = activation(i);
    if (ref.fp_value != last_value()) {
      fail("reads '" + input_name(i) + "' (" + value_label(ref.fp_value) + "), but the previous "
           "layer is " + value_label(last_value()) + ": Footprint nets are chains, where each "
           "layer reads the one before it (add and concat may also name one earlier layer)");
    }
    return ref;
  }
  int last_value() const { return static_cast<int>(layers_.size()); }
  std::string value_label(int fp_value) const {
    return fp_value == 0 ? "the graph input" : "'" + layers_[fp_value - 1].spec.name + "'";
  }
  const std::string& layer_name(int fp_value) const { return layers_.at(fp_value - 1).spec.name; }
  Shape shape(const ValueRef& ref) const { return running_->value_shape(ref.fp_value); }
  // How many nodes (and graph outputs) read a value.
  int readers(const std::string& value) const {
    auto it = readers_.find(value);
    return it == readers_.end() ? 0 : it->second;
  }
  PendingLayer& last_layer() { return layers_.back(); }

  // Appends a layer reading the previous value; output 0 of the node becomes its output.
  void add_layer(LayerSpec spec, std::vector<SavedTensor> params, int out_rank);
  // Output 0 of the node is the same value as ref (Identity, Dropout at inference, ...).
  void alias(const ValueRef& ref) { values_[node_->output(0)] = ref; }
  // Refuses outputs past the first that something reads (masks, indices, training statistics).
  void only_first_output_used() const {
    for (int o = 1; o < node_->output_size(); ++o) {
      if (!node_->output(o).empty() && readers(node_->output(o)) > 0) {
        fail("output " + std::to_string(o) + " ('" + node_->output(o) +
             "') is used, but Footprint computes only the first output of this op");
      }
    }
  }

 private:
  void read_opset();
  void collect_constants();
  // An Identity of a constant is the constant under another name (PyTorch's exporter writes
  // them for initializers that were deduplicated, e.g. equal biases): uses count for the original.
  static bool is_constant_identity(const onnx::NodeProto& n,
                                   const std::map<std::string, onnx::TensorProto*>& constants) {
    return n.op_type() == "Identity" && n.input_size() == 1 && n.output_size() == 1 &&
           constants.count(n.input(0)) > 0;
  }
  const std::string& canonical(const std::string& name) const {
    auto it = constant_alias_.find(name);
    return it == constant_alias_.end() ? name : it->second;
  }
  ValueRef read_graph_input(Shape& shape);
  std::string unique_name();

  onnx::ModelProto& model_;
  std::string source_;
  OnnxImportOptions options_;
  int64_t opset_ = 0;
  int64_t batch_ = 1;
  std::string input_name_;
  std::map<std::string, onnx::TensorProto*> constants_;
  std::map<std::string, int> constant_uses_;
  std::map<std::string, std::string> constant_alias_;  // Identity output -> original constant
  std::map<std::string, int> readers_;
  std::map<std::string, ValueRef> values_;
  std::set<std::string> names_;
  std::vector<PendingLayer> layers_;
  std::optional<Net> running_;  // the layers so far, for shapes and validation
  const onnx::NodeProto* node_ = nullptr;
  int node_index_ = 0;
};

// --- NodeAttrs ---

const onnx::AttributeProto* NodeAttrs::read(const std::string& name,
                                            onnx::AttributeProto::AttributeType type) {
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

// --- helpers for convolution and pooling windows ---

struct Window2d {
  int64_t kernel_h = 1, kernel_w = 1, stride_h = 1, stride_w = 1, dilation_h = 1, dilation_w = 1;
  int64_t pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;
};

// Reads kernel_shape (or the given kernel), strides, dilations, pads and auto_pad for a 2-D window
// over `in`; SAME_UPPER/SAME_LOWER become explicit pads for this input size.
Window2d read_window(Importer& im, NodeAttrs& a, const Shape& in, std::vector<int64_t> kernel,
                     bool with_dilations) {
  const std::vector<int64_t> kernel_shape = a.get_ints("kernel_shape");
  if (!kernel_shape.empty()) {
    if (!kernel.empty() && kernel_shape != kernel) {
      im.fail_attr("kernel_shape", dims_text(kernel_shape), "disagrees with the weights " + dims_text(kernel));
    }
    kernel = kernel_shape;
  }
  if (kernel.size() != 2) {
    im.fail_attr("kernel_shape", dims_text(kernel), "only 2-D windows are supported (1-D and 3-D are not)");
  }
  Window2d w{.kernel_h = kernel[0], .kernel_w = kernel[1]};
  auto pair = [&](const char* name, int64_t& h, int64_t& width) {
    const std::vector<int64_t> v = a.get_ints(name);
    if (v.empty()) return;
    if (v.size() != 2 || v[0] < 1 || v[1] < 1 || v[0] > kMaxDim || v[1] > kMaxDim) {
      im.fail_attr(name, dims_text(v), "expected two positive values (2-D)");
    }
    h = v[0], width = v[1];
  };
  pair("strides", w.stride_h, w.stride_w);
  if (with_dilations) {
    pair("dilations", w.dilation_h, w.dilation_w);
  } else if (a.has("dilations")) {
    const std::vector<int64_t> d = a.get_ints("dilations");
    if (std::any_of(d.begin(), d.end(), [](int64_t v) { return v != 1; })) {
      im.fail_attr("dilations", dims_text(d), "dilated pooling is not supported");
    }
  }
  const std::string auto_pad = a.get_string("auto_pad", "NOTSET");
  const std::vector<int64_t> pads = a.get_ints("pads");
  if (auto_pad == "NOTSET") {
    if (!pads.empty()) {
      if (pads.size() != 4 || std::any_of(pads.begin(), pads.end(), [](int64_t p) { return p < 0 || p > kMaxDim; })) {
        im.fail_attr("pads", dims_text(pads), "expected 4 values >= 0 (top, left, bottom, right)");
      }
      w.pad_top = pads[0], w.pad_left = pads[1], w.pad_bottom = pads[2], w.pad_right = pads[3];
    }
  } else if (auto_pad == "VALID") {
  } else if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
    // Output = ceil(in / stride); the odd pixel of padding goes after (UPPER) or before (LOWER).
    auto same = [&](int64_t in_size, int64_t k, int64_t s, int64_t d, int64_t& before, int64_t& after) {
      const int64_t out = (in_size + s - 1) / s;
      const int64_t total = std::max<int64_t>(0, (out - 1) * s + (k - 1) * d + 1 - in_size);
      before = auto_pad == "SAME_UPPER" ? total / 2 : (total + 1) / 2;
      after = total - before;
    };
    same(in.h, w.kernel_h, w.stride_h, w.dilation_h, w.pad_top, w.pad_bottom);
    same(in.w, w.kernel_w, w.stride_w, w.dilation_w, w.pad_left, w.pad_right);
  } else {
    im.fail_attr("auto_pad", auto_pad, "expected NOTSET, SAME_UPPER, SAME_LOWER or VALID");
  }
  return w;
}

// Writes a window as .net options, in the short form when the axes (or sides) agree.
void put_window(LayerSpec& spec, const Window2d& w, bool pool) {
  auto put = [&](const char* key, int64_t value) { spec.attrs[key] = std::to_string(value); };
  if (w.kernel_h == w.kernel_w) {
    put("k", w.kernel_h);
  } else {
    put("kh", w.kernel_h), put("kw", w.kernel_w);
  }
  // Pools default their stride to the window, so theirs is always written.
  if (w.stride_h == w.stride_w) {
    if (pool || w.stride_h != 1) put("stride", w.stride_h);
  } else {
    put("stride_h", w.stride_h), put("stride_w", w.stride_w);
  }
  if (w.dilation_h == w.dilation_w) {
    if (w.dilation_h != 1) put("dilation", w.dilation_h);
  } else {
    put("dilation_h", w.dilation_h), put("dilation_w", w.dilation_w);
  }
  const bool same_pads = w.pad_top == w.pad_left && w.pad_top == w.pad_bottom && w.pad_top == w.pad_right;
  // A pool's symmetric pad= is limited to half the window; the per-side keys to the window.
  const bool short_pad = same_pads && (!pool || w.pad_top <= std::min(w.kernel_h, w.kernel_w) / 2);
  if (short_pad) {
    if (w.pad_top != 0) put("pad", w.pad_top);
  } else {
    if (w.pad_top) put("pad_top", w.pad_top);
    if (w.pad_left) put("pad_left", w.pad_left);
    if (w.pad_bottom) put("pad_bottom", w.pad_bottom);
    if (w.pad_right) put("pad_right", w.pad_right);
  }
}

void require_rank(Importer& im, const ValueRef& ref, int rank, const char* why) {
  if (ref.rank != rank) {
    im.fail("input has rank " + std::to_string(ref.rank) + "; " + why);
  }
}

// --- converters: one per ONNX op type ---

void convert_conv(Importer& im) {
  NodeAttrs a(im, im.node());
  const ValueRef x = im.chained(0);
  require_rank(im, x, 4, "only 2-D convolutions over [N, C, H, W] are supported");
  const Shape in = im.shape(x);
  const std::vector<int64_t> w_dims = im.constant_dims(1, "W");
  if (w_dims.size() != 4) im.fail("W has shape " + dims_text(w_dims) + "; expected [M, C/group, kH, kW]");
  const int64_t group = a.get_int("group", 1);
  if (group < 1 || group > in.c) im.fail_attr("group", std::to_string(group), "expected 1 to the input channels");
  if (w_dims[1] * group != in.c) {
    im.fail("W has shape " + dims_text(w_dims) + ", but the input has " + std::to_string(in.c) +
            " channels in " + std::to_string(group) + " group(s)");
  }
  const Window2d w = read_window(im, a, in, {w_dims[2], w_dims[3]}, /*with_dilations=*/true);
  a.finish();
  LayerSpec spec{.op = "conv", .arg = std::to_string(w_dims[0])};
  put_window(spec, w, /*pool=*/false);
  if (group != 1) spec.attrs["groups"] = std::to_string(group);
  std::vector<SavedTensor> params = {{.name = "weight", .data = im.constant_floats(1, "W")}};
  if (im.n_inputs() > 2) {
    const std::vector<int64_t> b_dims = im.constant_dims(2, "B");
    if (b_dims.size() != 1 || b_dims[0] != w_dims[0]) {
      im.fail("B has shape " + dims_text(b_dims) + "; expected [" + std::to_string(w_dims[0]) + "]");
    }
    params.push_back({.name = "bias", .data = im.constant_floats(2, "B")});
  } else {
    spec.attrs["bias"] = "false";
  }
  im.add_layer(spec, std::move(params), 4);
}

void convert_pool(Importer& im, const char* op) {
  NodeAttrs a(im, im.node());
  const ValueRef x = im.chained(0);
  require_rank(im, x, 4, "only 2-D pooling over [N, C, H, W] is supported");
  const Shape in = im.shape(x);
  const Window2d w = read_window(im, a, in, {}, /*with_dilations=*/false);
  LayerSpec spec{.op = op};
  put_window(spec, w, /*pool=*/true);
  if (a.get_int("ceil_mode", 0) != 0) spec.attrs["ceil"] = "true";
  if (spec.op == "avgpool") {
    if (a.get_int("count_include_pad", 0) != 0) spec.attrs["count_include_pad"] = "true";
  } else {
    const int64_t order = a.get_int("storage_order", 0);  // only shapes the Indices output
    (void)order;
  }
  a.finish();
  im.only_first_output_used();
  im.add_layer(spec, {}, 4);
}

void convert_maxpool(Importer& im) { convert_pool(im, "maxpool"); }
void convert_averagepool(Importer& im) { convert_pool(im, "avgpool"); }

void convert_globalaveragepool(Importer& im) {
  NodeAttrs(im, im.node()).finish();
  const ValueRef x = im.chained(0);
  require_rank(im, x, 4, "only [N, C, H, W] inputs are supported");
  im.add_layer({.op = "globalavgpool"}, {}, 4);
}

void convert_activation(Importer& im, const char* op) {
  NodeAttrs(im, im.node()).finish();
  const ValueRef x = im.chained(0);
  im.add_layer({.op = op}, {}, x.rank);
}

void convert_relu(Importer& im) { convert_activation(im, "relu"); }
void convert_tanh(Importer& im) { convert_activation(im, "tanh"); }
void convert_sigmoid(Importer& im) { convert_activation(im, "sigmoid"); }

void convert_leakyrelu(Importer& im) {
  NodeAttrs a(im, im.node());
  const float alpha = a.get_float("alpha", 0.01f);
  a.finish();
  if (alpha < 0.0f) im.fail_attr("alpha", std::to_string(alpha), "Footprint's leakyrelu needs a slope >= 0");
  const ValueRef x = im.chained(0);
  std::ostringstream slope;
  slope.precision(9);
  slope << alpha;
  im.add_layer({.op = "leakyrelu", .attrs = {{"slope", slope.str()}}}, {}, x.rank);
}

void convert_softmax(Importer& im) {
  NodeAttrs a(im, im.node());
  const ValueRef x = im.chained(0);
  // Opset 13 normalises over one axis (default -1); earlier opsets over all axes from `axis`
  // on (default 1). Footprint's softmax is over the channels (axis 1) at each position.
  const int64_t fallback = im.opset() >= 13 ? -1 : 1;
  int64_t axis = a.get_int("axis", fallback);
  a.finish();
  if (axis < 0) axis += x.rank;
  const Shape in = im.shape(x);
  const bool spatial_one = in.h == 1 && in.w == 1;
  const bool over_channels = axis == 1 && (im.opset() >= 13 || spatial_one || x.rank == 2);
  if (!over_channels) {
    im.fail_attr("axis", std::to_string(axis),
                 "Footprint's softmax is over the channels (axis 1" +
                 std::string(im.opset() < 13 ? " with nothing after it" : "") + ") of a rank-" +
                 std::to_string(x.rank) + " input");
  }
  im.add_layer({.op = "softmax"}, {}, x.rank);
}

// Gemm and MatMul: fc with weight [M, K] = alpha * B (transposed as needed) and bias beta * C.
void add_fc(Importer& im, const ValueRef& x, int b_input, bool trans_b, float alpha,
            std::optional<int> c_input, float beta) {
  const int64_t k = im.shape(x).n_elems();
  const std::vector<int64_t> b_dims = im.constant_dims(b_input, "B");
  if (b_dims.size() != 2) im.fail("B has shape " + dims_text(b_dims) + "; expected a matrix");
  const int64_t b_k = trans_b ? b_dims[1] : b_dims[0], m = trans_b ? b_dims[0] : b_dims[1];
  if (b_k != k) {
    im.fail("B has shape " + dims_text(b_dims) + (trans_b ? " (transposed)" : "") + ", but its input has " +
            std::to_string(k) + " features");
  }
  std::vector<float> b = im.constant_floats(b_input, "B");
  std::vector<float> weight;
  if (trans_b || !im.weights_wanted()) {
    weight = std::move(b);
  } else {  // [K, M] -> [M, K], one matrix at a time
    weight.resize(b.size());
    for (int64_t r = 0; r < k; ++r)
      for (int64_t c = 0; c < m; ++c) weight[c * k + r] = b[r * m + c];
    std::vector<float>().swap(b);
  }
  if (alpha != 1.0f)
    for (float& v : weight) v *= alpha;
  LayerSpec spec{.op = "fc", .arg = std::to_string(m)};
  std::vector<SavedTensor> params = {{.name = "weight", .data = std::move(weight)}};
  if (c_input && beta != 0.0f) {
    // A bias per output broadcasts as [M], [1, M], [1] or []; a C that varies per row does not.
    std::vector<int64_t> c_dims = im.constant_dims(*c_input, "C");
    const bool per_output = (c_dims.size() <= 2 && dims_product(c_dims, "C") == m &&
                             (c_dims.empty() || c_dims.back() == m)) ||
                            dims_product(c_dims, "C") == 1;
    if (!per_output || c_dims.size() > 2) {
      im.fail("C has shape " + dims_text(c_dims) + "; only a bias per output ([" + std::to_string(m) +
              "], [1, " + std::to_string(m) + "] or a scalar) maps to fc");
    }
    std::vector<float> c = im.constant_floats(*c_input, "C");
    if (im.weights_wanted()) {
      if (c.size() == 1 && m != 1) c.assign(m, c[0]);
      for (float& v : c) v *= beta;
    }
    params.push_back({.name = "bias", .data = std::move(c)});
  } else {
    spec.attrs["bias"] = "false";
  }
  im.add_layer(spec, std::move(params), 2);
}

void convert_gemm(Importer& im) {
  NodeAttrs a(im, im.node());
  const float alpha = a.get_float("alpha", 1.0f), beta = a.get_float("beta", 1.0f);
  const int64_t trans_a = a.get_int("transA", 0), trans_b = a.get_int("transB", 0);
  if (a.has("broadcast")) (void)a.get_int("broadcast", 1);  // opset < 7; always broadcasts
  a.finish();
  if (trans_a != 0) {
    im.fail_attr("transA", std::to_string(trans_a), "a transposed input (samples along columns) does not map to fc");
  }
  const ValueRef x = im.chained(0);
  if (x.rank != 2) require_rank(im, x, 2, "Gemm takes a matrix [N, K]");
  add_fc(im, x, 1, trans_b != 0, alpha, im.n_inputs() > 2 ? std::optional<int>(2) : std::nullopt, beta);
}

void convert_matmul(Importer& im) {
  NodeAttrs(im, im.node()).finish();
  const ValueRef x = im.chained(0);
  require_rank(im, x, 2, "only [N, K] x [K, M] with a constant right-hand side maps to fc (no batched MatMul)");
  add_fc(im, x, 1, /*trans_b=*/false, 1.0f, std::nullopt, 0.0f);
}

// Add of two values -> add layer; of a value and a constant -> folded into the bias of the conv
// or fc that produced the value, when that is the constant's only effect.
void convert_add(Importer& im) {
  NodeAttrs(im, im.node()).finish();
  if (im.n_inputs() != 2) im.fail("expected 2 inputs");
  const bool c0 = im.is_constant(0), c1 = im.is_constant(1);
  if (c0 && c1) im.fail("both inputs are constants; fold them before import");
  if (c0 || c1) {
    const int xi = c0 ? 1 : 0, ci = c0 ? 0 : 1;
    const ValueRef x = im.chained(xi);
    PendingLayer* producer = x.fp_value == 0 ? nullptr : &im.last_layer();
    const bool foldable = producer && (producer->spec.op == "conv" || producer->spec.op == "fc") &&
                          im.readers(im.input_name(xi)) == 1;
    if (!foldable) {
      im.fail("adds the constant '" + im.input_name(ci) + "' to '" + im.input_name(xi) +
              "'; Footprint folds a constant only into the bias of the conv or fc (or Gemm, MatMul) "
              "right before it, when nothing else reads that layer's output");
    }
    const Shape s = im.shape(x);
    std::vector<int64_t> dims = im.constant_dims(ci, "bias");
    if (static_cast<int>(dims.size()) > x.rank) im.fail("the constant has more axes than its input");
    dims.insert(dims.begin(), x.rank - dims.size(), 1);  // numpy broadcasting aligns on the right
    bool per_channel = true;
    for (int axis = 0; axis < x.rank; ++axis)
      if (axis != 1 && dims[axis] != 1) per_channel = false;
    if (!per_channel || (dims[1] != 1 && dims[1] != s.c)) {
      im.fail("adds a constant of shape " + dims_text(im.constant_dims(ci, "bias")) +
              ", which is not one value per channel; only that folds into a bias");
    }
    std::vector<float> add = im.constant_floats(ci, "bias");
    if (im.weights_wanted() && add.size() == 1) add.assign(s.c, add[0]);
    if (producer->spec.attrs.count("bias")) {  // bias=false: the constant becomes the bias
      producer->spec.attrs.erase("bias");
      producer->params.push_back({.name = "bias", .data = std::move(add)});
    } else if (im.weights_wanted()) {
      std::vector<float>& bias = producer->params.back().data;
      for (size_t i = 0; i < bias.size(); ++i) bias[i] += add[i];
    }
    im.alias(x);
    return;
  }
  // Two values: one must be the previous layer's output, the other an earlier layer.
  const ValueRef v0 = im.activation(0), v1 = im.activation(1);
  const bool first_is_last = v0.fp_value == im.last_value();
  const ValueRef& prev = first_is_last ? v0 : v1;
  const ValueRef& other = first_is_last ? v1 : v0;
  if (prev.fp_value != im.last_value() || other.fp_value == im.last_value() || other.fp_value == 0) {
    im.fail("adds '" + im.input_name(0) + "' and '" + im.input_name(1) +
            "'; Footprint's add reads the previous layer's output and one earlier layer's (not the "
            "graph input)");
  }
  im.add_layer({.op = "add", .arg = im.layer_name(other.fp_value)}, {}, prev.rank);
}

void convert_concat(Importer& im) {
  NodeAttrs a(im, im.node());
  const int64_t axis = a.get_int("axis", 1);  // required from opset 4; 1 was the old default
  a.finish();
  if (im.n_inputs() != 2) im.fail("concatenates " + std::to_string(im.n_inputs()) + " values; Footprint's concat takes 2");
  const ValueRef first = im.activation(0), second = im.activation(1);
  if (axis != 1 && axis != 1 - first.rank) {
    im.fail_attr("axis", std::to_string(axis), "Footprint concatenates channels (axis 1) only");
  }
  // Footprint's concat puts the previous layer's channels first.
  if (first.fp_value != im.last_value() || second.fp_value == 0 || second.fp_value == im.last_value()) {
    im.fail("concatenates '" + im.input_name(0) + "' then '" + im.input_name(1) +
            "'; Footprint's concat puts the previous layer's output first and one earlier layer's "
            "(not the graph input) second");
  }
  im.add_layer({.op = "concat", .arg = im.layer_name(second.fp_value)}, {}, first.rank);
}

void convert_batchnorm(Importer& im) {
  NodeAttrs a(im, im.node());
  const float eps = a.get_float("epsilon", 1e-5f);
  const float momentum = a.get_float("momentum", 0.9f);
  if (a.get_int("spatial", 1) != 1) im.fail_attr("spatial", "0", "only per-channel statistics are supported");
  if (a.get_int("training_mode", 0) != 0) {
    im.fail_attr("training_mode", "1", "import the inference graph; Footprint trains it itself");
  }
  if (a.has("is_test")) (void)a.get_int("is_test", 1);
  a.finish();
  im.only_first_output_used();
  const ValueRef x = im.chained(0);
  const Shape in = im.shape(x);
  static const char* const kRoles[] = {"scale", "B", "mean", "var"};
  static const char* const kParams[] = {"weight", "bias", "running_mean", "running_var"};
  std::vector<SavedTensor> params;
  for (int i = 0; i < 4; ++i) {
    const std::vector<int64_t> dims = im.constant_dims(i + 1, kRoles[i]);
    if (dims.size() != 1 || dims[0] != in.c) {
      im.fail(std::string(kRoles[i]) + " has shape " + dims_text(dims) + "; expected [" + std::to_string(in.c) + "]");
    }
    params.push_back({.name = kParams[i], .data = im.constant_floats(i + 1, kRoles[i])});
  }
  std::ostringstream e, m;
  e.precision(9), m.precision(9);
  e << eps;
  m << 1.0f - momentum;  // ONNX keeps `momentum` of the running value; PyTorch (and Footprint) renew that share
  im.add_layer({.op = "batchnorm", .attrs = {{"eps", e.str()}, {"momentum", m.str()}}}, std::move(params), x.rank);
}

void convert_dropout(Importer& im) {
  NodeAttrs a(im, im.node());
  float ratio = a.get_float("ratio", 0.5f);  // an attribute before opset 12, an input from 12
  if (a.has("is_test")) (void)a.get_int("is_test", 0);
  if (a.has("seed")) (void)a.get_int("seed", 0);  // Footprint draws masks from its own seed
  a.finish();
  im.only_first_output_used();
  const ValueRef x = im.chained(0);
  if (im.n_inputs() > 1) {
    const std::vector<float> r = onnx_tensor_floats(im.constant(1, "ratio"), im.where() + ": ratio");
    if (r.size() != 1) im.fail("ratio must be a scalar");
    ratio = r[0];
  }
  if (im.n_inputs() > 2) {
    const onnx::TensorProto& t = im.constant(2, "training_mode");
    if (t.data_type() != onnx::TensorProto::BOOL) im.fail("training_mode must be a bool");
    const bool training = t.has_raw_data() ? (!t.raw_data().empty() && t.raw_data()[0] != 0)
                                           : (t.int32_data_size() > 0 && t.int32_data(0) != 0);
    if (training) im.fail("training_mode is true; import the inference graph (Footprint trains it itself)");
  }
  if (ratio < 0.0f || ratio >= 1.0f) im.fail("ratio " + std::to_string(ratio) + " is not in [0, 1)");
  std::ostringstream p;
  p.precision(9);
  p << ratio;
  // Identity at inference, as in ONNX; a real dropout once the imported net is trained.
  im.add_layer({.op = "dropout", .attrs = {{"p", p.str()}}}, {}, x.rank);
}

void convert_identity(Importer& im) {
  NodeAttrs(im, im.node()).finish();
  im.alias(im.activation(0));
}

// [N, C, H, W] -> [N, C*H*W]: nothing when already flat, else a flatten layer (in place).
void flatten_to_matrix(Importer& im, const ValueRef& x) {
  if (x.rank <= 2) {  // [N] -> [N, 1] and [N, F] are already flat in memory
    im.alias({.fp_value = x.fp_value, .rank = 2});
    return;
  }
  (void)im.chained(0);
  im.add_layer({.op = "flatten"}, {}, 2);
}

void convert_flatten(Importer& im) {
  NodeAttrs a(im, im.node());
  const ValueRef x = im.activation(0);
  int64_t axis = a.get_int("axis", 1);
  a.finish();
  if (axis < 0) axis += x.rank;
  if (axis != 1) {
    im.fail_attr("axis", std::to_string(axis), "only axis 1 (keep the batch, flatten the rest) is supported");
  }
  flatten_to_matrix(im, x);
}

void convert_reshape(Importer& im) {
  NodeAttrs a(im, im.node());
  const ValueRef x = im.activation(0);
  std::vector<int64_t> target = a.get_ints("shape");  // an attribute before opset 5
  const bool allow_zero = a.get_int("allowzero", 0) != 0;
  a.finish();
  if (im.n_inputs() > 1) target = im.constant_int64s(1, "shape");
  const Shape s = im.shape(x);
  // The ONNX shape of x with a placeholder batch; the batch is never reshaped.
  std::vector<int64_t> in_dims = {-2};
  if (x.rank >= 2) in_dims.push_back(s.c);
  if (x.rank == 3) in_dims.push_back(s.w);
  if (x.rank == 4) in_dims.push_back(s.h), in_dims.push_back(s.w);
  std::vector<int64_t> resolved;
  for (size_t i = 0; i < target.size(); ++i) {
    int64_t d = target[i];
    if (d == 0 && !allow_zero) {
      if (i >= in_dims.size()) im.fail("shape " + dims_text(target) + " copies a dimension its input does not have");
      d = in_dims[i];
    }
    resolved.push_back(d);
  }
  // The model's own batch size written out, or -1 with the rest fixed, also keeps the batch.
  if (!resolved.empty() && resolved[0] == im.batch()) resolved[0] = -2;
  if (resolved.size() == 2 && resolved[0] == -1 && resolved[1] == s.n_elems()) resolved[0] = -2;
  if (resolved == in_dims) {
    im.alias(x);
  } else if (resolved.size() == 2 && resolved[0] == -2 && (resolved[1] == -1 || resolved[1] == s.n_elems())) {
    flatten_to_matrix(im, x);
  } else {
    im.fail("reshapes to " + dims_text(target) + "; only [N, -1] (a flatten keeping the batch, as "
            "before a Gemm) or a reshape to the same shape is supported");
  }
}

struct OpEntry {
  const char* onnx_op;
  Converter convert;
};

// The one table of ONNX op types the importer maps, and to what.
const OpEntry kConverters[] = {
    {"Conv", convert_conv},
    {"MaxPool", convert_maxpool},
    {"AveragePool", convert_averagepool},
    {"GlobalAveragePool", convert_globalaveragepool},
    {"Relu", convert_relu},
    {"LeakyRelu", convert_leakyrelu},
    {"Tanh", convert_tanh},
    {"Sigmoid", convert_sigmoid},
    {"Softmax", convert_softmax},
    {"Gemm", convert_gemm},
    {"MatMul", convert_matmul},
    {"Add", convert_add},
    {"Concat", convert_concat},
    {"BatchNormalization", convert_batchnorm},
    {"Dropout", convert_dropout},
    {"Flatten", convert_flatten},
    {"Reshape", convert_reshape},
    {"Identity", convert_identity},
};

std::string supported_list() {
  std::string list;
  for (const OpEntry& e : kConverters) list += (list.empty() ? "" : ", ") + std::string(e.onnx_op);
  return list + ", Constant";
}

// --- Importer ---

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

void Importer::collect_constants() {
  onnx::GraphProto& graph = *model_.mutable_graph();
  for (auto& t : *graph.mutable_initializer()) {
    if (t.name().empty()) throw IoError(source_ + ": an initializer has no name (corrupt file?)");
    constants_[t.name()] = &t;
  }
  for (int i = 0; i < graph.node_size(); ++i) {
    onnx::NodeProto& n = *graph.mutable_node(i);
    if (is_constant_identity(n, constants_)) {
      constant_alias_[n.output(0)] = canonical(n.input(0));
      constants_[n.output(0)] = constants_[n.input(0)];
      continue;
    }
    for (const auto& in : n.input()) ++readers_[in], ++constant_uses_[canonical(in)];
    if (n.op_type() != "Constant") continue;
    if (n.output_size() != 1 || n.attribute_size() != 1 || n.attribute(0).name() != "value" ||
        !n.attribute(0).has_t()) {
      throw ParseError(source_ + ": node '" + n.name() + "' (Constant, node " + std::to_string(i) +
                       "): only the 'value' attribute (a tensor) is supported");
    }
    constants_[n.output(0)] = n.mutable_attribute(0)->mutable_t();
  }
  for (const auto& out : graph.output()) ++readers_[out.name()];
}

ValueRef Importer::read_graph_input(Shape& shape) {
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
  std::vector<int64_t> d;
  for (int i = 0; i < dims.size(); ++i) {
    if (!dims[i].has_dim_value() || dims[i].dim_value() < 1 || dims[i].dim_value() > (int64_t{1} << 24)) {
      if (i == 0) {  // a symbolic batch is fine: the batch is a plan option
        d.push_back(1);
        continue;
      }
      throw ParseError(source_ + ": input '" + input->name() + "' dimension " + std::to_string(i) + " is " +
                       (dims[i].has_dim_param() ? "'" + dims[i].dim_param() + "'" : "not a positive number") +
                       "; Footprint needs static shapes (apart from the batch)");
    }
    d.push_back(dims[i].dim_value());
  }
  batch_ = d[0];
  if (d.size() == 4) shape = {d[1], d[2], d[3]};
  if (d.size() == 3) shape = {d[1], 1, d[2]};
  if (d.size() == 2) shape = {d[1], 1, 1};
  if (d.size() == 1) shape = {1, 1, 1};
  input_name_ = input->name();
  values_[input->name()] = {.fp_value = 0, .rank = static_cast<int>(d.size())};
  return values_[input->name()];
}

std::string Importer::unique_name() {
  std::string base = sanitize_name(node_->name().empty() ? node_->output(0) : node_->name());
  if (base.empty()) base = node_->op_type() + std::to_string(node_index_);
  std::string name = base;
  for (int i = 1; names_.count(name) || name == "loss"; ++i) name = base + "_" + std::to_string(i);
  names_.insert(name);
  return name;
}

void Importer::add_layer(LayerSpec spec, std::vector<SavedTensor> params, int out_rank) {
  spec.name = unique_name();
  try {
    running_->add(spec);
  } catch (const ShapeError& e) {
    throw ShapeError(where() + ": " + e.what());
  } catch (const Error& e) {
    fail(e.what());
  }
  layers_.push_back({spec, std::move(params)});
  values_[node_->output(0)] = {.fp_value = last_value(), .rank = out_rank};
}

OnnxModel Importer::run() {
  if (!model_.has_graph()) throw IoError(source_ + ": not an ONNX model (no graph; truncated or corrupt file?)");
  read_opset();
  collect_constants();
  Shape input_shape;
  read_graph_input(input_shape);
  running_.emplace(input_shape);
  const onnx::GraphProto& graph = model_.graph();
  for (node_index_ = 0; node_index_ < graph.node_size(); ++node_index_) {
    node_ = &graph.node(node_index_);
    if (node_->op_type() == "Constant" || constant_alias_.count(node_->output_size() ? node_->output(0) : "")) continue;
    if (!node_->domain().empty() && node_->domain() != "ai.onnx") {
      fail("op domain '" + node_->domain() + "' is not supported; supported ops (default domain): " + supported_list());
    }
    if (node_->output_size() < 1 || node_->output(0).empty()) fail("the node has no output");
    const OpEntry* entry = nullptr;
    for (const OpEntry& e : kConverters)
      if (node_->op_type() == e.onnx_op) entry = &e;
    if (!entry) fail("op '" + node_->op_type() + "' is not supported; supported ops: " + supported_list());
    entry->convert(*this);
  }
  node_ = nullptr;
  if (graph.output_size() != 1) {
    throw ParseError(source_ + ": the graph has " + std::to_string(graph.output_size()) +
                     " outputs; Footprint nets have one");
  }
  const std::string& output = graph.output(0).name();
  auto it = values_.find(output);
  if (it == values_.end()) throw ParseError(source_ + ": the graph output '" + output + "' is not computed by any node");
  if (it->second.fp_value != last_value()) {
    throw ParseError(source_ + ": the graph output '" + output + "' is " + value_label(it->second.fp_value) +
                     ", not the last layer " + value_label(last_value()) + "; Footprint's output is its last layer");
  }

  // The final net: as the running one, with the biases that folding added.
  Net net(input_shape);
  for (const PendingLayer& l : layers_) net.add(l.spec);
  OnnxModel result{.net = std::move(net), .batch = batch_, .input_name = input_name_, .output_name = output};
  if (options_.weights) {
    result.weights.net_text = result.net.to_text();
    for (int i = 0; i < result.net.n_layers(); ++i) {
      const Net::Node& node = result.net.node(i);
      std::vector<Shape> in;
      for (int v : node.inputs) in.push_back(result.net.value_shape(v));
      const std::vector<ParamSpec> specs = node.layer->params(in);
      std::vector<SavedTensor>& given = layers_[i].params;
      for (size_t p = 0; p < specs.size(); ++p) {
        if (p >= given.size() || given[p].name != specs[p].name ||
            static_cast<int64_t>(given[p].data.size()) != specs[p].n_elems) {
          throw ParseError(source_ + ": layer '" + node.spec.name + "' needs " + specs[p].name + " of " +
                           std::to_string(specs[p].n_elems) + " values; the model gives " +
                           (p < given.size() ? std::to_string(given[p].data.size()) : std::string("none")));
        }
        given[p].name = node.spec.name + "." + specs[p].name;
        result.weights.tensors.push_back(std::move(given[p]));
      }
    }
  }
  return result;
}

}  // namespace

std::vector<float> onnx_tensor_floats(const onnx::TensorProto& t, const std::string& what) {
  if (t.data_location() == onnx::TensorProto::EXTERNAL) {
    throw ParseError(what + ": weights stored in external files are not supported; save the model with its data inside");
  }
  if (t.data_type() != onnx::TensorProto::FLOAT) {
    throw ParseError(what + ": data type " + onnx::TensorProto::DataType_Name(
                                                 static_cast<onnx::TensorProto::DataType>(t.data_type())) +
                     " is not supported; Footprint computes in float32");
  }
  const int64_t n = dims_product(tensor_dims(t, what), what);
  std::vector<float> values;
  if (t.has_raw_data()) {
    if (static_cast<int64_t>(t.raw_data().size()) != n * 4) {
      throw IoError(what + ": " + std::to_string(t.raw_data().size()) + " bytes for " + std::to_string(n) +
                    " floats (truncated or corrupt file?)");
    }
    values.resize(n);
    std::memcpy(values.data(), t.raw_data().data(), t.raw_data().size());  // little-endian hosts
  } else {
    if (t.float_data_size() != n) {
      throw IoError(what + ": " + std::to_string(t.float_data_size()) + " floats, its dims " +
                    dims_text(tensor_dims(t, what)) + " say " + std::to_string(n) + " (corrupt file?)");
    }
    values.assign(t.float_data().begin(), t.float_data().end());
  }
  return values;
}

void read_onnx_model(const std::string& path, onnx::ModelProto& model) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) throw IoError(path + ": cannot open (" + std::strerror(errno) + ")");
  // Streamed from the descriptor: protobuf keeps one copy of each tensor's bytes, not the file too.
  const bool parsed = model.ParseFromFileDescriptor(fd);
  const off_t size = ::lseek(fd, 0, SEEK_END);
  ::close(fd);
  if (size == 0) throw IoError(path + ": the file is empty");
  if (!parsed) throw IoError(path + ": not a valid ONNX model (truncated or corrupt file?)");
  if (!model.has_graph() || model.ir_version() <= 0) {
    throw IoError(path + ": not an ONNX model (no graph or IR version; truncated or corrupt file?)");
  }
}

OnnxModel import_onnx_model(onnx::ModelProto& model, const std::string& source,
                            const OnnxImportOptions& options) {
  return Importer(model, source, options).run();
}

OnnxModel import_onnx(const std::string& path, const OnnxImportOptions& options) {
  onnx::ModelProto model;
  read_onnx_model(path, model);
  return import_onnx_model(model, path, options);
}

bool looks_like_onnx(const std::string& path) {
  if (path.size() >= 5 && path.compare(path.size() - 5, 5, ".onnx") == 0) return true;
  std::ifstream in(path, std::ios::binary);
  char first = 0;
  // A ModelProto opens with field 1 (ir_version, a varint): tag byte 0x08. Text never does.
  return in.get(first) && first == 0x08;
}

std::vector<std::string> onnx_supported_ops() {
  std::vector<std::string> ops;
  for (const OpEntry& e : kConverters) ops.emplace_back(e.onnx_op);
  return ops;
}

}  // namespace footprint
