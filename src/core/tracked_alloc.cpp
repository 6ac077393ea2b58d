#include "core/tracked_alloc.hpp"

#include <atomic>
#include <cstdlib>
#include <new>

#include "core/check.hpp"
#include "footprint/plan.hpp"
#include "footprint/runtime.hpp"

namespace footprint {
namespace {
std::atomic<int64_t> g_current_bytes{0};
std::atomic<int64_t> g_peak_bytes{0};
}  // namespace

std::byte* tracked_alloc(int64_t size_bytes) {
  if (size_bytes == 0) return nullptr;
  FP_CHECK(size_bytes > 0 && size_bytes % kAlignBytes == 0, "size_bytes=%lld",
           static_cast<long long>(size_bytes));
  void* p = std::aligned_alloc(kAlignBytes, static_cast<size_t>(size_bytes));
  if (p == nullptr) throw std::bad_alloc();
  int64_t now = g_current_bytes.fetch_add(size_bytes) + size_bytes;
  int64_t peak = g_peak_bytes.load();
  while (now > peak && !g_peak_bytes.compare_exchange_weak(peak, now)) {
  }
  return static_cast<std::byte*>(p);
}

void tracked_free(std::byte* ptr, int64_t size_bytes) {
  if (ptr == nullptr) return;
  g_current_bytes.fetch_sub(size_bytes);
  std::free(ptr);
}

TrackedMemory tracked_memory() { return {g_current_bytes.load(), g_peak_bytes.load()}; }

void reset_tracked_peak() { g_peak_bytes.store(g_current_bytes.load()); }

}  // namespace footprint
