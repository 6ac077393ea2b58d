// The memory guard: the limit the process lives under, and the refusal message.
#include "footprint/memory_guard.hpp"

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

}  // namespace

int64_t available_memory_bytes() {
  const int64_t meminfo = meminfo_available(), cgroup = cgroup_left();
  if (meminfo < 0 && cgroup < 0) return 0;
  if (meminfo < 0) return cgroup;
  if (cgroup < 0) return meminfo;
  return std::min(meminfo, cgroup);
}

void check_memory_limit(const Net& net, const Plan& plan, int64_t other_bytes, int64_t limit_bytes) {
  if (limit_bytes <= 0 || plan.total_bytes + other_bytes <= limit_bytes) return;
  std::string message = "plan needs " + format_bytes(plan.total_bytes) + " (peak at step " +
                        std::to_string(plan.peak_step) + ", " + plan.step_label(plan.peak_step) + ")";
  if (other_bytes > 0) message += " plus " + format_bytes(other_bytes) + " of data";
  message += "; the memory limit is " + format_bytes(limit_bytes);
  const std::optional<int> batch = fit_batch(net, plan.options, limit_bytes - other_bytes);
  if (batch && *batch < plan.options.batch) {
    message += "; --batch " + std::to_string(*batch) + " fits";
  } else if (!batch) {
    message += "; not even batch 1 fits: try a smaller --size or --tile-bytes";
  }
  message += " (see 'footprint plan NET --fit " + std::to_string(limit_bytes >> 20) + "M')";
  throw PlanError(message);
}

}  // namespace footprint
