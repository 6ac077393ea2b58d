// Human-readable byte counts and parsing of sizes such as "512M" or "4G".
#pragma once

#include <cstdint>
#include <string>

namespace footprint {

std::string format_bytes(int64_t bytes);        // "17.8 MiB"
std::string format_count(int64_t n);            // "344,398"
// text padded with spaces to width, on the right (or on the left when right_align) for tables.
std::string pad(const std::string& text, size_t width, bool right_align = false);

}  // namespace footprint
