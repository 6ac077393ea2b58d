// The floor of a plan: what must be alive at the busiest step, whatever the layout. It counts
// the plan's buffers with every exact technique on (in place, compact saved values, concats
// joined) over their minimal lifetimes, derived from what the steps read and write
// (liveness.hpp) rather than from the planner's own rules, at the bytes each was asked for, and
// leaves out workspace: the mathematics needs no im2col tile, only values and gradients.
#include <algorithm>

#include "footprint/explain.hpp"
#include "planner/liveness.hpp"

namespace footprint {

Floor plan_floor(const Net& net, const PlanOptions& options) {
  PlanOptions ideal = options;
  ideal.inplace = true;
  ideal.join_concat = true;
  ideal.memory_budget = 0;  // the floor is what keeping everything needs
  const Plan p = plan(net, ideal);
  const std::vector<Lifetime> lives = minimal_lifetimes(p);
  int64_t persistent = 0;
  std::vector<int64_t> live(p.steps.size(), 0);
  for (size_t b = 0; b < p.buffers.size(); ++b) {
    const Buffer& buffer = p.buffers[b];
    if (buffer.persistent) {
      persistent += buffer.data_bytes;
      continue;
    }
    if (buffer.category == Category::workspace || lives[b].first < 0) continue;
    for (int s = lives[b].first; s <= lives[b].last; ++s) live[s] += buffer.data_bytes;
  }
  const int step = static_cast<int>(std::max_element(live.begin(), live.end()) - live.begin());
  return {.bytes = persistent + live[step], .step = step, .step_label = p.step_label(step)};
}

}  // namespace footprint
