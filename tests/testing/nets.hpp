// Paths to the reference nets in the repository's nets/, for tests run by ctest (which sets
// FOOTPRINT_NETS) or by hand from the repository root.
#pragma once

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

namespace footprint::testing {

inline std::string nets_dir() {
  const char* env = std::getenv("FOOTPRINT_NETS");
  return env ? env : "nets";
}

inline std::string net_path(const std::string& name) { return nets_dir() + "/" + name + ".net"; }

inline std::string read_text(const std::string& path) {
  std::ifstream file(path);
  std::ostringstream text;
  text << file.rdbuf();
  return text.str();
}

// The net's text with its input line replaced, to run a reference net at a small size.
inline std::string with_input(const std::string& text, const std::string& input_line) {
  const auto begin = text.find("\ninput ");
  const auto end = text.find('\n', begin + 1);
  return text.substr(0, begin + 1) + input_line + text.substr(end);
}

}  // namespace footprint::testing
