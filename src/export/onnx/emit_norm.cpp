// Normalisation: batchnorm as BatchNormalization with its running statistics (what it computes
// at inference), and layernorm over the channels as the decomposition torch.onnx writes at opset
// 13 (which has no LayerNormalization) and the importer fuses back into one layer.
#include "export/onnx/emitters.hpp"
#include "export/onnx/exporter.hpp"
#include "layers/attr_reader.hpp"

namespace footprint::onnx_export {

void emit_batchnorm(Exporter& ex) {
  AttrReader r(ex.spec());
  const float eps = r.get_float("eps", 1e-5f), momentum = r.get_float("momentum", 0.1f);
  const int64_t c = ex.in_shape(0).c;
  const Value x = ex.input(0);
  onnx::NodeProto& n = ex.add_node(
      "BatchNormalization",
      {x.name, ex.weight("weight", {c}), ex.weight("bias", {c}), ex.weight("running_mean", {c}),
       ex.weight("running_var", {c})},
      ex.output());
  set_float(n, "epsilon", eps);
  // ONNX's momentum is the share of the running value kept; Footprint's (PyTorch's) the share renewed.
  set_float(n, "momentum", 1.0f - momentum);
}

// (x - mean_c(x)) / Sqrt(mean_c((x - mean_c(x))^2) + eps) [* weight + bias], means over axis 1.
void emit_layernorm(Exporter& ex) {
  AttrReader r(ex.spec());
  const float eps = r.get_float("eps", 1e-5f);
  const bool affine = r.get_bool("affine", true);
  const Value x = ex.input(0);
  const std::string mean = ex.temp("mean"), centred = ex.temp("centred"), squared = ex.temp("squared");
  const std::string var = ex.temp("var"), var_eps = ex.temp("var_eps"), std_dev = ex.temp("std");
  set_ints(ex.add_node("ReduceMean", {x.name}, mean), "axes", {1});
  ex.add_node("Sub", {x.name, mean}, centred);
  ex.add_node("Pow", {centred, ex.scalar("two", 2.0f)}, squared);
  set_ints(ex.add_node("ReduceMean", {squared}, var), "axes", {1});
  ex.add_node("Add", {var, ex.scalar("eps", eps)}, var_eps);
  ex.add_node("Sqrt", {var_eps}, std_dev);
  if (!affine) {
    ex.add_node("Div", {centred, std_dev}, ex.output());
    return;
  }
  const std::vector<int64_t> dims = Exporter::per_channel_dims(ex.in_shape(0).c, x.rank);
  const std::string normalised = ex.temp("normalised"), scaled = ex.temp("scaled");
  ex.add_node("Div", {centred, std_dev}, normalised);
  ex.add_node("Mul", {normalised, ex.weight("weight", dims)}, scaled);
  ex.add_node("Add", {scaled, ex.weight("bias", dims)}, ex.output());
}

}  // namespace footprint::onnx_export
