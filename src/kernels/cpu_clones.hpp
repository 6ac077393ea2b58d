// How the vectorised loops dispatch on the CPU. FP_CLONES builds a function twice
// (x86-64-v3, i.e. AVX2 with FMA, and the x86-64 baseline) and picks one by CPU feature when
// the program loads: the resolver tests the ISA-level bit ("arch=haswell" would dispatch by CPU
// model, so an AMD Zen would get the baseline), so the binary never assumes an instruction set.
// clang (the fuzz build) gets one baseline copy. FP_INLINE: helpers that must be inlined into
// each copy to be compiled for its instruction set.
#pragma once

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define FP_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define FP_CLONES
#endif
#define FP_INLINE inline __attribute__((always_inline))
