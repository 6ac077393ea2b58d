#include "footprint/process_memory.hpp"

#include <fstream>
#include <string>

namespace footprint {
namespace {

int64_t status_field_bytes(const char* field) {
  std::ifstream status("/proc/self/status");
  const std::string key = std::string(field) + ":";
  for (std::string line; std::getline(status, line);)
    if (line.rfind(key, 0) == 0) return std::stoll(line.substr(key.size())) * 1024;
  return 0;
}

}  // namespace

int64_t resident_bytes() { return status_field_bytes("VmRSS"); }
int64_t peak_resident_bytes() { return status_field_bytes("VmHWM"); }

bool restart_peak_resident() {
  std::ofstream clear("/proc/self/clear_refs");
  clear << "5";
  clear.flush();
  return static_cast<bool>(clear);
}

}  // namespace footprint
