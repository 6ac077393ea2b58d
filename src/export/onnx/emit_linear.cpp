// fc as Gemm: y = x W^T + b with W [OUT, IN] as Footprint stores it (transB=1). fc flattens its
// input, so a [N, C, H, W] value goes through a Flatten first.
#include "export/onnx/emitters.hpp"
#include "export/onnx/exporter.hpp"
#include "layers/attr_reader.hpp"

namespace footprint::onnx_export {

void emit_fc(Exporter& ex) {
  AttrReader r(ex.spec());
  const int64_t out = r.arg_int("output size", 1);
  const bool bias = r.get_bool("bias", true);
  const Value x = ex.input(0);
  std::string flat = x.name;
  if (x.rank != 2) {
    flat = ex.temp("flatten");
    set_int(ex.add_node("Flatten", {x.name}, flat), "axis", 1);
  }
  std::vector<std::string> inputs = {flat, ex.weight("weight", {out, ex.in_shape(0).n_elems()})};
  if (bias) inputs.push_back(ex.weight("bias", {out}));
  set_int(ex.add_node("Gemm", inputs, ex.output()), "transB", 1);
  ex.set_output_rank(2);
}

}  // namespace footprint::onnx_export
