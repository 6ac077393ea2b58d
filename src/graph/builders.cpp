// The C++ builders: each returns the LayerSpec its .net line would give.
#include <sstream>

#include "footprint/net.hpp"

namespace footprint {
namespace {

std::string number(float value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

LayerSpec simple(const char* op, const std::string& name) { return {.op = op, .name = name}; }

LayerSpec pool(const char* op, int k, const PoolParams& p) {
  LayerSpec spec{.op = op, .attrs = {{"k", std::to_string(k)}}, .name = p.name};
  if (p.stride != 0) spec.attrs["stride"] = std::to_string(p.stride);
  if (p.pad != 0) spec.attrs["pad"] = std::to_string(p.pad);
  return spec;
}

}  // namespace

LayerSpec conv(int out_c, const ConvParams& p) {
  LayerSpec spec{.op = "conv", .arg = std::to_string(out_c), .name = p.name};
  spec.attrs["k"] = std::to_string(p.k);
  if (p.stride != 1) spec.attrs["stride"] = std::to_string(p.stride);
  if (p.pad != 0) spec.attrs["pad"] = std::to_string(p.pad);
  if (p.dilation != 1) spec.attrs["dilation"] = std::to_string(p.dilation);
  if (p.groups != 1) spec.attrs["groups"] = std::to_string(p.groups);
  if (!p.bias) spec.attrs["bias"] = "false";
  return spec;
}

LayerSpec maxpool(int k, const PoolParams& p) { return pool("maxpool", k, p); }
LayerSpec avgpool(int k, const PoolParams& p) { return pool("avgpool", k, p); }
LayerSpec globalavgpool(const std::string& name) { return simple("globalavgpool", name); }

LayerSpec fc(int out_features, bool bias, const std::string& name) {
  LayerSpec spec{.op = "fc", .arg = std::to_string(out_features), .name = name};
  if (!bias) spec.attrs["bias"] = "false";
  return spec;
}

LayerSpec relu(const std::string& name) { return simple("relu", name); }
LayerSpec tanh(const std::string& name) { return simple("tanh", name); }
LayerSpec sigmoid(const std::string& name) { return simple("sigmoid", name); }
LayerSpec softmax(const std::string& name) { return simple("softmax", name); }

LayerSpec leakyrelu(float slope, const std::string& name) {
  return {.op = "leakyrelu", .attrs = {{"slope", number(slope)}}, .name = name};
}

// Options at their defaults are left out, so a built net's text matches a hand-written file.
LayerSpec batchnorm(float eps, float momentum, const std::string& name) {
  LayerSpec spec{.op = "batchnorm", .name = name};
  if (eps != 1e-5f) spec.attrs["eps"] = number(eps);
  if (momentum != 0.1f) spec.attrs["momentum"] = number(momentum);
  return spec;
}

LayerSpec dropout(float p, const std::string& name) {
  return {.op = "dropout", .attrs = {{"p", number(p)}}, .name = name};
}

LayerSpec add(const std::string& from, const std::string& name) {
  return {.op = "add", .arg = from, .name = name};
}

LayerSpec concat(const std::string& from, const std::string& name) {
  return {.op = "concat", .arg = from, .name = name};
}

LayerSpec loss(LossKind kind) { return {.op = "loss", .arg = loss_name(kind)}; }

LayerSpec layer(const std::string& op, Attributes attrs, const std::string& name) {
  return {.op = op, .attrs = std::move(attrs), .name = name};
}

LayerSpec add_of(std::vector<std::string> inputs, const std::string& name) {
  return {.op = "add", .name = name, .inputs = std::move(inputs)};
}

LayerSpec concat_of(std::vector<std::string> inputs, const std::string& name) {
  return {.op = "concat", .name = name, .inputs = std::move(inputs)};
}

}  // namespace footprint
