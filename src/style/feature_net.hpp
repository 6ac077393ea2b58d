// The part of a classification net that style transfer reads: the layers up to the deepest
// style or content layer, which values are tapped, and how far each tapped position's receptive
// field reaches (the halo a tile needs so its owned positions come out exactly as untiled).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "footprint/net.hpp"

namespace footprint {

// Along one axis: which input positions a tapped value's position depends on, for tiling.
struct AxisReach {
  int64_t align = 1;         // tile origins must be multiples of this (every stride product)
  int64_t halo_before = 0;   // input positions needed before a tile's first owned position
  int64_t halo_after = 0;    // ... and after its last
};

struct FeatureTap {
  std::string name;     // the layer's name in the net, e.g. "relu1_1"
  int value = 0;        // value id in the truncated net
  bool style = false;   // contributes a Gram matrix
  bool content = false; // contributes the content loss
  int64_t jump_h = 1, jump_w = 1;  // input pixels per feature position
};

class FeatureNet {
 public:
  // Resolves the layer names (the net's own, or VGG names such as "relu3_1" / "conv4_2" counted
  // by block when the net names its layers otherwise, as ONNX exports do) and keeps the layers
  // up to the deepest one. Throws ParseError naming a layer that is missing, or one before it
  // that cannot be tiled (fc, global pooling, batch statistics).
  FeatureNet(const Net& net, const std::vector<std::string>& style_layers,
             const std::string& content_layer);

  // The truncated net at an input of height x width.
  [[nodiscard]] Net at_size(int64_t height, int64_t width) const;
  [[nodiscard]] const std::vector<FeatureTap>& taps() const { return taps_; }
  [[nodiscard]] std::vector<int> tap_values() const;
  [[nodiscard]] const AxisReach& reach_h() const { return reach_h_; }
  [[nodiscard]] const AxisReach& reach_w() const { return reach_w_; }
  [[nodiscard]] int64_t channels() const { return input_channels_; }
  [[nodiscard]] int n_layers() const { return static_cast<int>(specs_.size()); }

 private:
  std::vector<LayerSpec> specs_;
  int64_t input_channels_ = 3;
  std::vector<FeatureTap> taps_;
  AxisReach reach_h_, reach_w_;
};

// VGG-style names by position: "conv<block>_<i>", "relu<block>_<i>", "pool<block>", where a
// block ends at each pooling layer. One entry per layer of net.
[[nodiscard]] std::vector<std::string> vgg_layer_names(const Net& net);

}  // namespace footprint
