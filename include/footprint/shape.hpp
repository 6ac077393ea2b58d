// Shape of one sample (C x H x W); the batch dimension N is a plan option, not part of a Shape.
#pragma once

#include <cstdint>
#include <string>

namespace footprint {

struct Shape {
  int64_t c = 1;  // channels
  int64_t h = 1;  // height
  int64_t w = 1;  // width

  [[nodiscard]] int64_t n_elems() const { return c * h * w; }
  [[nodiscard]] std::string str() const {  // "96x8x8"
    return std::to_string(c) + "x" + std::to_string(h) + "x" + std::to_string(w);
  }
  friend bool operator==(const Shape&, const Shape&) = default;
};

}  // namespace footprint
