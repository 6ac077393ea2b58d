#include "footprint/blas_core.hpp"

#include <cblas.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace footprint {
namespace {

// How much of the vector hardware a core type uses: 0 SSE, 1 AVX, 2 AVX2 + FMA, 3 AVX-512.
int core_level(const std::string& core) {
  for (const char* c : {"SkylakeX", "Cooperlake", "SapphireRapids"})
    if (core == c) return 3;
  for (const char* c : {"Haswell", "Zen"})
    if (core == c) return 2;
  if (core == "Sandybridge") return 1;
  return 0;
}

int cpu_level() {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq")) {
    return 3;
  }
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return 2;
  if (__builtin_cpu_supports("avx")) return 1;
  return 0;
}

const char* const kLevelNames[] = {"sse", "avx", "avx2", "avx512"};
const char* const kLevelCores[] = {"", "Sandybridge", "Haswell", "SkylakeX"};

}  // namespace

BlasCore blas_core_check() {
  BlasCore b;
  b.running = openblas_get_corename();
  const int cpu = cpu_level();
  b.cpu = kLevelNames[cpu];
  if (core_level(b.running) < cpu) b.recommended = kLevelCores[cpu];
  return b;
}

std::string blas_core_description() {
  const BlasCore b = blas_core_check();
  std::string config = openblas_get_config();
  const std::string version = config.substr(0, config.find(' ', config.find(' ') + 1));
  return version + ", core " + b.running + " (CPU " + b.cpu + ")" +
         (b.recommended.empty() ? "" : "; the CPU could run " + b.recommended);
}

void restart_with_fast_blas(char** argv) {
  if (std::getenv("FOOTPRINT_KEEP_BLAS_CORE") || std::getenv("FOOTPRINT_BLAS_RESTARTED")) return;
  const BlasCore b = blas_core_check();
  if (b.recommended.empty()) return;
  setenv("OPENBLAS_CORETYPE", b.recommended.c_str(), 1);
  setenv("FOOTPRINT_BLAS_RESTARTED", "1", 1);  // once: never a loop
  execv("/proc/self/exe", argv);               // returns only on failure: run on as we are
}

}  // namespace footprint
