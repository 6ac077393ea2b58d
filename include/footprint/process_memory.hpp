// The whole process's memory as the operating system counts it (Linux /proc), to hold the plan
// to what a user measures: resident bytes now, the peak, and a way to restart the peak.
#pragma once

#include <cstdint>

namespace footprint {

// Resident set size now (VmRSS), in bytes; 0 when it cannot be read.
[[nodiscard]] int64_t resident_bytes();
// Peak resident set size (VmHWM) since the process started or since the last
// restart_peak_resident(); 0 when it cannot be read.
[[nodiscard]] int64_t peak_resident_bytes();
// Restarts the peak at the current resident size (writes 5 to /proc/self/clear_refs); false
// when the kernel does not allow it.
bool restart_peak_resident();

}  // namespace footprint
