#include "core/units.hpp"

#include <algorithm>
#include <cstdio>

namespace footprint {

std::string format_bytes(int64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  int unit = 0;
  while (value >= 1024.0 && unit < 4) {
    value /= 1024.0;
    ++unit;
  }
  char text[32];
  if (unit == 0) {
    std::snprintf(text, sizeof text, "%lld B", static_cast<long long>(bytes));
  } else {
    std::snprintf(text, sizeof text, "%.1f %s", value, units[unit]);
  }
  return text;
}

std::string format_count(int64_t n) {
  std::string digits = std::to_string(n < 0 ? -n : n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return n < 0 ? "-" + out : out;
}

std::string pad(const std::string& text, size_t width, bool right_align) {
  if (text.size() >= width) return text;
  const std::string fill(width - text.size(), ' ');
  return right_align ? fill + text : text + fill;
}

size_t name_column_width(size_t longest_name, size_t min_width) {
  return std::clamp(longest_name + 2, min_width, std::max(min_width, kNameColumnMax));
}

std::string name_cell(const std::string& text, size_t width) {
  const size_t room = width > 1 ? width - 1 : 1;
  if (text.size() <= room) return pad(text, width);
  if (room <= 3) return pad(text.substr(0, room), width);
  return pad("..." + text.substr(text.size() - (room - 3)), width);
}

}  // namespace footprint
