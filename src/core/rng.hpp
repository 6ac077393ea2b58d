// Deterministic random numbers that do not depend on the standard library's distributions
// (which differ between implementations) or on how work is split over threads.
#pragma once

#include <cstdint>

namespace footprint {

// SplitMix64: a counter-based hash, so element i of a mask can be drawn by any thread.
inline uint64_t mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// Uniform in [0, 1) with 24 random bits, from a hash value.
inline float unit_float(uint64_t bits) { return static_cast<float>(bits >> 40) * 0x1.0p-24f; }

class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t next() { return mix64(state_++); }
  float uniform(float lo, float hi) { return lo + (hi - lo) * unit_float(next()); }
  // Uniform integer in [0, n).
  uint64_t below(uint64_t n) { return next() % n; }
  [[nodiscard]] uint64_t state() const { return state_; }

 private:
  uint64_t state_;
};

}  // namespace footprint
