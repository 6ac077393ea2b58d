// Placement: an arena offset for every non-persistent buffer such that two buffers whose
// lifetimes overlap never share a byte (docs/design.md, invariant 1).
#pragma once

#include <cstdint>
#include <vector>

#include "footprint/plan.hpp"

namespace footprint {

// Greedy by size (as TFLite's memory planner): buffers are placed largest first, each at the
// lowest offset that fits between the buffers already placed whose lifetimes overlap its own.
// Large buffers settle first and small ones fill the gaps they leave. Returns the arena size.
int64_t place_greedy_by_size(std::vector<Buffer>& buffers);

// No reuse: every buffer its own bytes, one after another (the baseline that shows the saving).
int64_t place_without_reuse(std::vector<Buffer>& buffers);

}  // namespace footprint
