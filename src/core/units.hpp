// Human-readable byte counts and parsing of sizes such as "512M" or "4G".
#pragma once

#include <cstdint>
#include <string>

namespace footprint {

std::string format_bytes(int64_t bytes);        // "17.8 MiB"
std::string format_count(int64_t n);            // "344,398"
// text padded with spaces to width, on the right (or on the left when right_align) for tables.
std::string pad(const std::string& text, size_t width, bool right_align = false);

// Names in a table column (the plan table, train --profile): the column is as wide as the
// longest name, at least min_width and at most kNameColumnMax; a longer name is cut to
// "..." and its last characters, which for the dotted paths ONNX exports give
// (features.denseblock1.denselayer6.conv1.Conv) keeps the most specific part.
inline constexpr size_t kNameColumnMax = 48;
[[nodiscard]] size_t name_column_width(size_t longest_name, size_t min_width);
// text cut as above to at most width - 1 characters (one space always separates columns) and
// padded to width.
[[nodiscard]] std::string name_cell(const std::string& text, size_t width);

}  // namespace footprint
