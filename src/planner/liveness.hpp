// Each buffer's minimal lifetime, derived on its own from what the plan's steps read and write
// (the bindings the runtime passes to each step), not from the planner's lifetime rules: a check
// of the planner, and the basis of the floor.
#pragma once

#include <vector>

#include "footprint/plan.hpp"

namespace footprint {

struct Lifetime {
  int first = -1;  // the first step that writes the buffer (-1: never used)
  int last = -1;   // the last step that reads it
};

// Per buffer of the plan. Besides the steps, the caller's own uses count: the input and target
// are written before step 0 (in training the input is kept for the whole step, so a batch can
// be stepped on again; the target always, for the loss after an evaluation forward), the outputs are read at the loss step (training) or after the last step
// (inference), the input gradient after the last step, taps at the loss step; persistent
// buffers live throughout.
[[nodiscard]] std::vector<Lifetime> minimal_lifetimes(const Plan& plan);

}  // namespace footprint
