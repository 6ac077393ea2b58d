#include "style/feature_net.hpp"

#include <algorithm>
#include <numeric>

#include "footprint/error.hpp"
#include "layers/layer.hpp"

namespace footprint {
namespace {

// Receptive field of one value's positions along one axis: position o depends on input
// positions o * jump - offset + [0, size).
struct Field {
  int64_t jump = 1, offset = 0, size = 1;
};

Field through(const Field& in, const AxisWindow& w) {
  return {.jump = in.jump * w.stride,
          .offset = in.offset + int64_t{w.pad_before} * in.jump,
          .size = in.size + int64_t{w.kernel - 1} * w.dilation * in.jump};
}

// A layer with several inputs (add, concat) reads the same position of each: the union.
Field merge(const Field& a, const Field& b) {
  const int64_t offset = std::max(a.offset, b.offset);
  const int64_t end = std::max(a.size - a.offset, b.size - b.offset);
  return {.jump = std::lcm(a.jump, b.jump), .offset = offset, .size = end + offset};
}

}  // namespace

std::vector<std::string> vgg_layer_names(const Net& net) {
  std::vector<std::string> names;
  int block = 1, index = 0;
  for (const Net::Node& node : net.nodes()) {
    const std::string& op = node.spec.op;
    const std::string suffix = std::to_string(block) + "_" + std::to_string(index);
    if (op == "conv") {
      ++index;
      names.push_back("conv" + std::to_string(block) + "_" + std::to_string(index));
    } else if (op == "relu") {
      names.push_back("relu" + suffix);
    } else if (op == "maxpool" || op == "avgpool") {
      names.push_back("pool" + std::to_string(block));
      ++block;
      index = 0;
    } else {
      names.push_back("");
    }
  }
  return names;
}

FeatureNet::FeatureNet(const Net& net, const std::vector<std::string>& style_layers,
                       const std::string& content_layer)
    : input_channels_(net.input_shape().c) {
  const std::vector<std::string> vgg = vgg_layer_names(net);
  auto resolve = [&](const std::string& name) {
    int layer = net.find_layer(name);
    if (layer < 0) {
      auto it = std::find(vgg.begin(), vgg.end(), name);
      if (it != vgg.end()) layer = static_cast<int>(it - vgg.begin());
    }
    if (layer < 0) {
      throw ParseError("style transfer: the model has no layer '" + name +
                       "' (by its own names or VGG names such as relu1_1, conv4_2)");
    }
    return layer;
  };
  // Named as asked, with the net's own name beside a VGG name: "relu1_1 (/features/1/Relu)".
  auto tap_for = [&](const std::string& asked) -> FeatureTap& {
    const int layer = resolve(asked);
    for (FeatureTap& t : taps_)
      if (t.value == layer + 1) return t;
    const std::string& own = net.node(layer).spec.name;
    taps_.push_back({.name = own == asked ? own : asked + " (" + own + ")", .value = layer + 1});
    return taps_.back();
  };
  for (const std::string& name : style_layers) tap_for(name).style = true;
  if (!content_layer.empty()) tap_for(content_layer).content = true;
  if (taps_.empty()) throw ParseError("style transfer: no style or content layer given");
  std::sort(taps_.begin(), taps_.end(),
            [](const FeatureTap& a, const FeatureTap& b) { return a.value < b.value; });

  const int last = taps_.back().value;  // value id of the deepest tap = layers kept
  std::vector<Field> field_h(last + 1), field_w(last + 1);
  for (int i = 0; i < last; ++i) {
    const Net::Node& node = net.node(i);
    const SpatialWindow window = node.layer->window();
    if (!window.local) {
      throw ParseError("style transfer: layer '" + node.spec.name + "' (" + node.spec.op +
                       ") comes before '" + net.node(last - 1).spec.name +
                       "' but mixes positions, so the image cannot be tiled exactly");
    }
    Field in_h = field_h[node.inputs[0]], in_w = field_w[node.inputs[0]];
    for (size_t s = 1; s < node.inputs.size(); ++s) {
      in_h = merge(in_h, field_h[node.inputs[s]]);
      in_w = merge(in_w, field_w[node.inputs[s]]);
    }
    field_h[i + 1] = through(in_h, window.h);
    field_w[i + 1] = through(in_w, window.w);
    specs_.push_back(node.spec);
  }
  for (AxisReach* r : {&reach_h_, &reach_w_}) {
    const std::vector<Field>& field = r == &reach_h_ ? field_h : field_w;
    for (const Field& f : field) r->align = std::lcm(r->align, f.jump);
    for (const FeatureTap& t : taps_) {
      const Field& f = field[t.value];
      // Owned positions [b / jump, e / jump) read inputs [b - offset, e - jump - offset + size).
      r->halo_before = std::max(r->halo_before, f.offset);
      r->halo_after = std::max(r->halo_after, f.size - f.jump - f.offset);
    }
  }
  for (FeatureTap& t : taps_) {
    t.jump_h = field_h[t.value].jump;
    t.jump_w = field_w[t.value].jump;
  }
}

Net FeatureNet::at_size(int64_t height, int64_t width) const {
  Net net{Shape{input_channels_, height, width}};
  for (const LayerSpec& spec : specs_) net.add(spec);
  return net;
}

std::vector<int> FeatureNet::tap_values() const {
  std::vector<int> values;
  for (const FeatureTap& t : taps_) values.push_back(t.value);
  return values;
}

}  // namespace footprint
