// The counting allocator: every byte the runtime holds goes through here, so tests can compare
// the peak with the plan's total to the byte.
#pragma once

#include <cstddef>
#include <cstdint>

namespace footprint {

// Aligned to kAlignBytes; size_bytes must be a multiple of it. Returns nullptr for 0 bytes.
[[nodiscard]] std::byte* tracked_alloc(int64_t size_bytes);
void tracked_free(std::byte* ptr, int64_t size_bytes);

}  // namespace footprint
