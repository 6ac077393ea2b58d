// OpenBLAS's kernels against the CPU: a CPU model OpenBLAS does not know (simulated by forcing
// its generic "Prescott" kernels) still gets the kernels the CPU can run, because the CLI starts
// itself again with the right core; FOOTPRINT_KEEP_BLAS_CORE keeps OpenBLAS's choice.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <string>

#include "footprint/blas_core.hpp"

namespace {

std::string gemm_line(const std::string& env) {
  const std::string command = env + " " + FOOTPRINT_CLI +
                              " train nets/lenet.net --data synthetic --steps 1 --profile 2>&1";
  std::string out;
  FILE* pipe = popen(command.c_str(), "r");
  std::array<char, 4096> chunk{};
  while (size_t n = fread(chunk.data(), 1, chunk.size(), pipe)) out.append(chunk.data(), n);
  pclose(pipe);
  const size_t at = out.find("GEMM: ");
  return at == std::string::npos ? "(no GEMM line)\n" + out : out.substr(at, out.find('\n', at) - at);
}

TEST(BlasCore, GenericKernelsOnAVectorCpuAreReplaced) {
  const footprint::BlasCore here = footprint::blas_core_check();
  if (here.cpu == "sse") GTEST_SKIP() << "this CPU has no AVX: the generic kernels are its own";
  const std::string forced = gemm_line("OPENBLAS_CORETYPE=PRESCOTT");
  EXPECT_EQ(forced.find("Prescott"), std::string::npos) << forced;
  EXPECT_EQ(forced.find("could run"), std::string::npos) << forced;
  const std::string kept = gemm_line("OPENBLAS_CORETYPE=PRESCOTT FOOTPRINT_KEEP_BLAS_CORE=1");
  EXPECT_NE(kept.find("core Prescott"), std::string::npos) << kept;
  EXPECT_NE(kept.find("the CPU could run"), std::string::npos) << kept;
}

}  // namespace
