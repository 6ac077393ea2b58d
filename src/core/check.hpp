// FP_CHECK: always-on assertion for bugs (not for bad input, which throws footprint::Error).
#pragma once

#include <cstdio>
#include <cstdlib>

#define FP_CHECK(cond, ...)                                                         \
  do {                                                                              \
    if (!(cond)) {                                                                  \
      std::fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond); \
      std::fprintf(stderr, __VA_ARGS__);                                            \
      std::fprintf(stderr, "\n");                                                   \
      std::abort();                                                                 \
    }                                                                               \
  } while (0)

#ifndef NDEBUG
#define FP_DCHECK(cond, ...) FP_CHECK(cond, __VA_ARGS__)
#else
#define FP_DCHECK(cond, ...) \
  do {                       \
  } while (0)
#endif
