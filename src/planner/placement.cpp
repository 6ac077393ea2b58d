#include "planner/placement.hpp"

#include <algorithm>
#include <numeric>

namespace footprint {
namespace {

bool lifetimes_overlap(const Buffer& a, const Buffer& b) {
  return a.first_step <= b.last_step && b.first_step <= a.last_step;
}

}  // namespace

int64_t place_greedy_by_size(std::vector<Buffer>& buffers) {
  std::vector<int> order;
  for (int i = 0; i < static_cast<int>(buffers.size()); ++i)
    if (!buffers[i].persistent && buffers[i].size_bytes > 0) order.push_back(i);
  // Ties broken by first step, then index, so the plan is the same on every machine.
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
    if (buffers[a].size_bytes != buffers[b].size_bytes)
      return buffers[a].size_bytes > buffers[b].size_bytes;
    return buffers[a].first_step < buffers[b].first_step;
  });
  std::vector<int> placed;
  int64_t arena_bytes = 0;
  for (int index : order) {
    Buffer& buffer = buffers[index];
    // Placed buffers that are alive at the same time, by offset; take the first gap that fits.
    std::vector<int> conflicts;
    for (int other : placed)
      if (lifetimes_overlap(buffer, buffers[other])) conflicts.push_back(other);
    std::sort(conflicts.begin(), conflicts.end(), [&](int a, int b) {
      return buffers[a].offset_bytes < buffers[b].offset_bytes;
    });
    int64_t offset = 0;
    for (int other : conflicts) {
      const Buffer& o = buffers[other];
      if (o.offset_bytes >= offset + buffer.size_bytes) break;  // the gap before o fits
      offset = std::max(offset, o.offset_bytes + o.size_bytes);
    }
    buffer.offset_bytes = offset;
    arena_bytes = std::max(arena_bytes, offset + buffer.size_bytes);
    placed.push_back(index);
  }
  return arena_bytes;
}

int64_t place_without_reuse(std::vector<Buffer>& buffers) {
  int64_t offset = 0;
  for (Buffer& buffer : buffers) {
    if (buffer.persistent) continue;
    buffer.offset_bytes = offset;
    offset += buffer.size_bytes;
  }
  return offset;
}

}  // namespace footprint
