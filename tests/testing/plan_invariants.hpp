// The plan invariants every planner test of a new way to keep values checks: each buffer's
// lifetime equals what the steps read and write (liveness.hpp's independent derivation), and no
// two arena buffers alive at the same step share a byte.
#pragma once

#include <gtest/gtest.h>

#include <vector>

#include "footprint/plan.hpp"
#include "planner/liveness.hpp"

namespace footprint::testing {

inline void expect_minimal_disjoint_lifetimes(const Plan& p) {
  const std::vector<Lifetime> minimal = minimal_lifetimes(p);
  for (size_t b = 0; b < p.buffers.size(); ++b) {
    EXPECT_EQ(p.buffers[b].first_step, minimal[b].first) << p.buffers[b].name;
    EXPECT_EQ(p.buffers[b].last_step, minimal[b].last) << p.buffers[b].name;
    for (size_t o = b + 1; o < p.buffers.size(); ++o) {
      const Buffer &x = p.buffers[b], &y = p.buffers[o];
      if (x.persistent || y.persistent) continue;
      const bool same_time = x.first_step <= y.last_step && y.first_step <= x.last_step;
      const bool same_bytes = x.offset_bytes < y.offset_bytes + y.size_bytes &&
                              y.offset_bytes < x.offset_bytes + x.size_bytes;
      EXPECT_FALSE(same_time && same_bytes) << x.name << " and " << y.name;
    }
  }
}

}  // namespace footprint::testing
