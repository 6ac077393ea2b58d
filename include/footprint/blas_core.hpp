// Which GEMM kernels OpenBLAS runs, against what the CPU can do. OpenBLAS picks its kernels when
// the library loads, from the CPU model; on a CPU model it does not know (cloud VMs often mask
// theirs) it falls back to its generic "Prescott" kernels, SSE only, several times slower on an
// AVX2 or AVX-512 machine. The choice can only be changed before the library loads, through
// OPENBLAS_CORETYPE: a program checks early (blas_core_check) and, when the kernels are weaker
// than the CPU, starts itself again with the right core named (the footprint CLI does this).
#pragma once

#include <string>

namespace footprint {

struct BlasCore {
  std::string running;      // OpenBLAS's core now ("Haswell", "SkylakeX", "Prescott", ...)
  std::string cpu;          // what the CPU has that matters: "avx512", "avx2", "avx" or "sse"
  std::string recommended;  // the core type that uses it, or "" when running already does
};
[[nodiscard]] BlasCore blas_core_check();

// "OpenBLAS 0.3.21, core Haswell (CPU avx512)": for --profile and benchmark output.
[[nodiscard]] std::string blas_core_description();

// If OpenBLAS's kernels are weaker than the CPU and FOOTPRINT_KEEP_BLAS_CORE is not set, sets
// OPENBLAS_CORETYPE and replaces the process with a fresh start of the same program (argv), once;
// returns only when nothing needs to change (or the restart failed). Call first thing in main().
void restart_with_fast_blas(char** argv);

}  // namespace footprint
