// The memory guard: the limit the process lives under, and the refusal message.
#include "footprint/memory_guard.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <string>

#include "core/units.hpp"
#include "footprint/error.hpp"
#include "footprint/explain.hpp"

namespace footprint {
namespace {

// First number in a file, or -1 ("max" and unreadable files give -1).
int64_t read_number(const std::string& path) {
  std::ifstream file(path);
  std::string word;
  if (!(file >> word)) return -1;
  try {
    return std::stoll(word);
  } catch (const std::exception&) {
    return -1;
  }
}

int64_t meminfo_available() {
  std::ifstream meminfo("/proc/meminfo");
  for (std::string line; std::getline(meminfo, line);) {
    if (line.rfind("MemAvailable:", 0) == 0) return std::stoll(line.substr(13)) * 1024;
  }
  return -1;
}

int64_t cgroup_left() {
  const int64_t v2_max = read_number("/sys/fs/cgroup/memory.max");
  if (v2_max > 0) return v2_max - std::max<int64_t>(0, read_number("/sys/fs/cgroup/memory.current"));
  const int64_t v1_max = read_number("/sys/fs/cgroup/memory/memory.limit_in_bytes");
  // cgroup v1 reports "no limit" as a huge number near 2^63.
  if (v1_max > 0 && v1_max < (int64_t{1} << 60)) {
    return v1_max - std::max<int64_t>(0, read_number("/sys/fs/cgroup/memory/memory.usage_in_bytes"));
  }
  return -1;
}

// Address space the soft RLIMIT_AS leaves: the limit minus what is mapped now (VmSize); -1
// without a limit.
int64_t address_space_left() {
  struct rlimit limit {};
  if (getrlimit(RLIMIT_AS, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return -1;
  int64_t mapped = -1;
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmSize:", 0) == 0) mapped = std::stoll(line.substr(7)) * 1024;
  }
  if (mapped < 0) return -1;
  return std::max<int64_t>(0, static_cast<int64_t>(limit.rlim_cur) - mapped);
}

// What a runtime maps besides its plan, in address space: every thread that runs GEMMs (the
// caller and each worker) gets OpenBLAS's buffer on its first GEMM (BUFFER_SIZE, 32 << 22 on
// x86-64; OpenBLAS 0.3.21 retries forever when it cannot map it, so it must be left room), and
// each worker a stack (RLIMIT_STACK, 8 MiB by default) and a malloc arena (64 MiB reserved;
// glibc maps it before the thread's first GEMM). Six-block-512 under `ulimit -v` needed 156 MiB
// more with 2 threads than with 1; this counts 200.
constexpr int64_t kBlasBufferBytes = int64_t{128} << 20;
constexpr int64_t kWorkerAddressSpaceBytes = kBlasBufferBytes + (int64_t{64} << 20) + (int64_t{8} << 20);

int64_t runtime_address_space(int threads) {
  return kBlasBufferBytes + std::max(0, threads - 1) * kWorkerAddressSpaceBytes;
}

}  // namespace

MemoryLimit memory_limit(int threads) {
  MemoryLimit limit;
  auto consider = [&](int64_t bytes, const char* source) {
    if (bytes < 0) return;
    if (limit.source.empty() || bytes < limit.bytes) limit = {.bytes = bytes, .source = source};
  };
  consider(meminfo_available(), "MemAvailable");
  consider(cgroup_left(), "the cgroup's memory limit");
  const int64_t address_space = address_space_left();
  if (address_space >= 0) {
    // 1: "nothing left" without meaning "no limit known" (0).
    const int64_t reserved = runtime_address_space(threads);
    consider(std::max<int64_t>(1, address_space - reserved), "ulimit -v (RLIMIT_AS)");
    if (limit.source == "ulimit -v (RLIMIT_AS)") limit.reserved_bytes = reserved;
  }
  return limit;
}

int64_t available_memory_bytes() { return memory_limit(1).bytes; }

void check_memory_limit(const Net& net, const Plan& plan, int64_t other_bytes, int64_t limit_bytes,
                        const std::string& advice) {
  if (limit_bytes <= 0 || plan.total_bytes + other_bytes <= limit_bytes) return;
  std::string message = "plan needs " + format_bytes(plan.total_bytes) + " (peak at step " +
                        std::to_string(plan.peak_step) + ", " + plan.step_label(plan.peak_step) + ")";
  if (other_bytes > 0) message += " plus " + format_bytes(other_bytes) + " of data";
  // memory_limit() says 1 byte when nothing is left (0 would mean "no limit").
  message += limit_bytes <= 1 ? std::string("; nothing is left under the memory limit")
                              : "; the memory limit is " + format_bytes(limit_bytes);
  const int64_t budget = limit_bytes - other_bytes;
  const std::optional<int> batch = fit_batch(net, plan.options, budget);
  if (batch && *batch < plan.options.batch) {
    message += "; --batch " + std::to_string(*batch) + " fits";
  }
  // Training can recompute instead of keeping values: say so when that fits the batch asked.
  std::optional<BatchFit> recomputing;
  if (plan.options.mode == Mode::train && plan.options.memory_budget == 0 && budget > 0) {
    recomputing = fit_batch_recomputing(net, plan.options, budget);
  }
  if (recomputing && recomputing->batch >= plan.options.batch) {
    const std::string bytes = budget % (int64_t{1} << 20) == 0
                                  ? std::to_string(budget >> 20) + "M"
                                  : std::to_string(budget);
    char extra[32];
    std::snprintf(extra, sizeof extra, "%.0f%%", 100.0 * recomputing->extra_compute);
    message += std::string(batch ? " (or" : "; ") + (batch ? " " : "") + "--memory-budget " +
               bytes + " fits batch " + std::to_string(plan.options.batch) + " by recomputing, " +
               extra + " more forward compute" + (batch ? ")" : "");
  } else if (!batch && limit_bytes > 1) {
    message += "; not even batch 1 fits: try a smaller --size or --tile-bytes";
  }
  if (!advice.empty()) message += "; " + advice;
  throw PlanError(message);
}

}  // namespace footprint
