// Resident-memory figures mean nothing under AddressSanitizer (shadow memory, redzones,
// quarantine), so tests that measure them skip themselves there.
#pragma once

#if defined(__SANITIZE_ADDRESS__)
#define FP_SKIP_UNDER_ASAN() GTEST_SKIP() << "resident memory is not meaningful under ASan"
#else
#define FP_SKIP_UNDER_ASAN() \
  do {                       \
  } while (0)
#endif
