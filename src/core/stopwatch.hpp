// Seconds elapsed on the monotonic clock, for the timings the loader and the trainer report.
#pragma once

#include <chrono>

namespace footprint {

using Clock = std::chrono::steady_clock;

inline double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace footprint
