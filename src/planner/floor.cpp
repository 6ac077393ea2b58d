// The floor of a plan: what must be alive at the busiest step, whatever the layout. It is
// measured on the plan with every exact technique on (in place, compact saved values), counting
// each buffer at the bytes it was asked for and leaving out workspace: the mathematics does not
// need an im2col tile, only the values and gradients themselves.
#include <algorithm>

#include "footprint/explain.hpp"

namespace footprint {

Floor plan_floor(const Net& net, const PlanOptions& options) {
  PlanOptions ideal = options;
  ideal.inplace = true;
  ideal.reuse = true;
  const Plan p = plan(net, ideal);
  int64_t persistent = 0;
  std::vector<int64_t> live(p.steps.size(), 0);
  for (const Buffer& b : p.buffers) {
    if (b.persistent) {
      persistent += b.data_bytes;
      continue;
    }
    if (b.category == Category::workspace) continue;
    for (int s = b.first_step; s <= b.last_step; ++s) live[s] += b.data_bytes;
  }
  const int step = static_cast<int>(std::max_element(live.begin(), live.end()) - live.begin());
  return {.bytes = persistent + live[step], .step = step, .step_label = p.step_label(step)};
}

}  // namespace footprint
