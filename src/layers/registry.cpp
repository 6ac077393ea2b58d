// Maps op keywords to layer factories: the built-in layers from the one list in layer_list.def,
// then the layers users register at run time (register_layer, include/footprint/layer.hpp).
#include <cctype>
#include <mutex>
#include <string>
#include <utility>

#include "footprint/error.hpp"
#include "layers/layer.hpp"

namespace footprint {

#define FP_LAYER(Class, keyword, onnx) std::unique_ptr<Layer> make_##Class(const LayerSpec& spec);
#include "layers/layer_list.def"
#undef FP_LAYER

namespace {

// Registered layers in registration order. Nets are built from any thread, so every access
// holds the mutex; a factory runs outside it (it may build a layer of another registered op).
struct Registered {
  std::mutex mutex;
  std::vector<std::pair<std::string, LayerFactory>> layers;
};

Registered& registered() {
  static Registered instance;
  return instance;
}

const std::vector<std::string>& builtin_ops() {
  static const std::vector<std::string> ops = {
#define FP_LAYER(Class, keyword, onnx) keyword,
#include "layers/layer_list.def"
#undef FP_LAYER
  };
  return ops;
}

// A letter, then letters, digits, '_', '-' or '.': nothing a .net line reads as a separator.
bool valid_keyword(const std::string& keyword) {
  if (keyword.empty() || !std::isalpha(static_cast<unsigned char>(keyword[0]))) return false;
  for (char ch : keyword) {
    if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '_' && ch != '-' && ch != '.') {
      return false;
    }
  }
  return true;
}

}  // namespace

void register_layer(const std::string& keyword, LayerFactory factory) {
  if (!valid_keyword(keyword)) {
    throw Error("registering layer '" + keyword + "': a keyword is a letter followed by letters, "
                "digits, '_', '-' or '.'");
  }
  if (!factory) throw Error("registering layer '" + keyword + "': the factory is empty");
  if (keyword == "input" || keyword == "output" || keyword == "loss") {
    throw Error("registering layer '" + keyword + "': '" + keyword +
                "' is a .net keyword of its own");
  }
  for (const std::string& op : builtin_ops()) {
    if (op == keyword) {
      throw Error("registering layer '" + keyword + "': a built-in layer has that keyword");
    }
  }
  Registered& reg = registered();
  std::lock_guard lock(reg.mutex);
  for (const auto& [op, unused] : reg.layers) {
    if (op == keyword) {
      throw Error("registering layer '" + keyword + "': it is already registered");
    }
  }
  reg.layers.emplace_back(keyword, std::move(factory));
}

std::unique_ptr<Layer> make_layer(const LayerSpec& spec) {
#define FP_LAYER(Class, keyword, onnx) \
  if (spec.op == keyword) return make_##Class(spec);
#include "layers/layer_list.def"
#undef FP_LAYER
  LayerFactory factory;
  {
    Registered& reg = registered();
    std::lock_guard lock(reg.mutex);
    for (const auto& [op, registered_factory] : reg.layers) {
      if (op == spec.op) factory = registered_factory;
    }
  }
  if (factory) {
    std::unique_ptr<Layer> layer = factory(spec);
    if (!layer) throw Error(spec.op + ": the registered factory returned no layer");
    return layer;
  }
  std::string known;
  for (const auto& op : layer_ops()) known += (known.empty() ? "" : ", ") + op;
  throw ParseError("unknown layer '" + spec.op + "'; expected one of: " + known + ", loss");
}

std::vector<std::string> layer_ops() {
  std::vector<std::string> ops = builtin_ops();
  Registered& reg = registered();
  std::lock_guard lock(reg.mutex);
  for (const auto& [op, unused] : reg.layers) ops.push_back(op);
  return ops;
}

}  // namespace footprint
