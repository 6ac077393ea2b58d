// Constants that scale or shift each channel (Mul, Add, Sub, Div by one value per channel, or
// by a scalar) and where they go: folded into the conv, fc or affine layer that writes the
// value when nothing else reads it (no new buffer at all), else an affine layer.
#pragma once

#include <optional>
#include <vector>

#include "import/onnx/importer.hpp"

namespace footprint {

// The constant's values for each of x's channels, when it broadcasts over x as one value per
// channel (C values along the axis of x that is Footprint's C, ones elsewhere) or one value for
// all; nullopt otherwise. Reads the constant's values (C floats at most).
[[nodiscard]] std::optional<std::vector<float>> per_channel_values(Importer& im, const ValueRef& x,
                                                                   const ConstTensor& c);

// Output 0 of the node is x * scale + shift, per channel (an empty scale is 1, an empty shift 0).
void apply_per_channel(Importer& im, const ValueRef& x, std::vector<float> scale, std::vector<float> shift);

}  // namespace footprint
