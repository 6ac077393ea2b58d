// Values combined: add (Add of two, Sum of more) and concat (Concat along the channels).
#include "export/onnx/emitters.hpp"
#include "export/onnx/exporter.hpp"

namespace footprint::onnx_export {
namespace {

std::vector<std::string> names(const std::vector<Value>& values) {
  std::vector<std::string> out;
  for (const Value& v : values) out.push_back(v.name);
  return out;
}

}  // namespace

void emit_add(Exporter& ex) {
  const std::vector<Value> in = ex.inputs_same_rank();
  ex.add_node(in.size() == 2 ? "Add" : "Sum", names(in), ex.output());
  ex.set_output_rank(in[0].rank);
}

void emit_concat(Exporter& ex) {
  const std::vector<Value> in = ex.inputs_same_rank();
  set_int(ex.add_node("Concat", names(in), ex.output()), "axis", 1);
  ex.set_output_rank(in[0].rank);
}

}  // namespace footprint::onnx_export
