// Running a command line from a test, and the footprint CLI in particular (FOOTPRINT_CLI, the
// binary's path, defined by tests/CMakeLists.txt): its exit status and everything it printed.
#pragma once

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

namespace footprint::testing {

struct CommandResult {
  int status = -1;
  std::string output;  // stdout and stderr together
};

inline CommandResult shell(const std::string& command) {
  CommandResult result;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return result;
  std::array<char, 4096> chunk{};
  while (size_t n = std::fread(chunk.data(), 1, chunk.size(), pipe)) result.output.append(chunk.data(), n);
  const int status = ::pclose(pipe);
  result.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

#ifdef FOOTPRINT_CLI
// `footprint ARGS`.
inline CommandResult run_cli(const std::string& args) {
  return shell(std::string(FOOTPRINT_CLI) + " " + args);
}
#endif

}  // namespace footprint::testing
