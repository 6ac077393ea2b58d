// Maps op keywords to layer factories, from the one list in layer_list.def.
#include <string>

#include "footprint/error.hpp"
#include "layers/layer.hpp"

namespace footprint {

#define FP_LAYER(Class, keyword, onnx) std::unique_ptr<Layer> make_##Class(const LayerSpec& spec);
#include "layers/layer_list.def"
#undef FP_LAYER

std::unique_ptr<Layer> make_layer(const LayerSpec& spec) {
#define FP_LAYER(Class, keyword, onnx) \
  if (spec.op == keyword) return make_##Class(spec);
#include "layers/layer_list.def"
#undef FP_LAYER
  std::string known;
  for (const auto& op : layer_ops()) known += (known.empty() ? "" : ", ") + op;
  throw ParseError("unknown layer '" + spec.op + "'; expected one of: " + known + ", loss");
}

std::vector<std::string> layer_ops() {
  return {
#define FP_LAYER(Class, keyword, onnx) keyword,
#include "layers/layer_list.def"
#undef FP_LAYER
  };
}

}  // namespace footprint
