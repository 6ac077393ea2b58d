// Refusing, before allocating, a plan that would not fit: better a clear message with the
// plan's figures than a process killed by the kernel's out-of-memory killer.
#pragma once

#include <cstdint>

#include "footprint/net.hpp"
#include "footprint/plan.hpp"

namespace footprint {

// Bytes this process may still use: the smaller of the cgroup limit left (v2 memory.max minus
// memory.current, or v1 memory.limit_in_bytes minus usage) and MemAvailable in /proc/meminfo.
// 0 when neither can be read.
[[nodiscard]] int64_t available_memory_bytes();

// Throws PlanError when the plan's total plus other_bytes (a data set, say) exceeds
// limit_bytes, naming the peak step, both figures and the largest batch that would fit.
void check_memory_limit(const Net& net, const Plan& plan, int64_t other_bytes, int64_t limit_bytes);

}  // namespace footprint
