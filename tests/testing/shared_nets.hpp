// Paths to the reference nets in ../shared/nets, for tests run by ctest or by hand.
#pragma once

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

namespace footprint::testing {

inline std::string shared_dir() {
  const char* env = std::getenv("FOOTPRINT_SHARED");
  return env ? env : "../shared";
}

inline std::string shared_net_path(const std::string& name) {
  return shared_dir() + "/nets/" + name + ".net";
}

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
