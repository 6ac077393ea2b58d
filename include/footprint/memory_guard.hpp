// Refusing, before allocating, a plan that would not fit: better a clear message with the
// plan's figures than a process killed by the kernel's out-of-memory killer.
#pragma once

#include <cstdint>
#include <string>

#include "footprint/net.hpp"
#include "footprint/plan.hpp"

namespace footprint {

// What a run may still use, and where that limit comes from.
struct MemoryLimit {
  int64_t bytes = 0;   // 0: no limit could be read
  std::string source{};  // "MemAvailable", "the cgroup's memory limit", "ulimit -v (RLIMIT_AS)"
  // Under RLIMIT_AS: the address space set aside for the runtime's threads (not in bytes).
  int64_t reserved_bytes = 0;
};

// The tightest of: MemAvailable in /proc/meminfo; the cgroup limit left (v2 memory.max minus
// memory.current, or v1 memory.limit_in_bytes minus usage); and the address space left under
// RLIMIT_AS (`ulimit -v`): its soft limit, minus what the process maps now (VmSize), minus the
// address space a runtime with `threads` threads maps besides its plan: OpenBLAS's 128 MiB GEMM
// buffer for each thread, and a stack and a malloc arena for each worker (200 MiB a worker;
// address space, mostly never touched, which is why it counts only against RLIMIT_AS).
[[nodiscard]] MemoryLimit memory_limit(int threads);
// memory_limit(1).bytes.
[[nodiscard]] int64_t available_memory_bytes();

// Throws PlanError when the plan's total plus other_bytes (a data set, say) exceeds
// limit_bytes, naming the peak step, both figures, the largest batch that would fit and, when
// given, `advice` (a command that shows what fits, say). limit_bytes <= 0: no limit.
void check_memory_limit(const Net& net, const Plan& plan, int64_t other_bytes, int64_t limit_bytes,
                        const std::string& advice = "");

}  // namespace footprint
