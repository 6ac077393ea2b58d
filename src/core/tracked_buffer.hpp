// An owned array of T allocated through the counting allocator, so buffers outside a runtime
// (style transfer's image, gradients and targets) count toward the tracked peak like the
// runtime's own and can be checked against their plan to the byte.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>

#include "core/tracked_alloc.hpp"
#include "footprint/plan.hpp"

namespace footprint {

// Bytes a TrackedBuffer of n elements of T holds (what a plan should count for it).
template <typename T>
constexpr int64_t tracked_bytes(int64_t n) {
  return (n * static_cast<int64_t>(sizeof(T)) + kAlignBytes - 1) / kAlignBytes * kAlignBytes;
}

template <typename T>
class TrackedBuffer {
 public:
  TrackedBuffer() = default;
  explicit TrackedBuffer(int64_t n)
      : data_(reinterpret_cast<T*>(tracked_alloc(tracked_bytes<T>(n)))), size_(n) {}
  ~TrackedBuffer() { reset(); }
  TrackedBuffer(TrackedBuffer&& other) noexcept
      : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}
  TrackedBuffer& operator=(TrackedBuffer&& other) noexcept {
    if (this != &other) {
      reset();
      data_ = std::exchange(other.data_, nullptr);
      size_ = std::exchange(other.size_, 0);
    }
    return *this;
  }
  TrackedBuffer(const TrackedBuffer&) = delete;
  TrackedBuffer& operator=(const TrackedBuffer&) = delete;

  void reset() {
    if (data_) tracked_free(reinterpret_cast<std::byte*>(data_), tracked_bytes<T>(size_));
    data_ = nullptr;
    size_ = 0;
  }
  [[nodiscard]] T* data() { return data_; }
  [[nodiscard]] const T* data() const { return data_; }
  [[nodiscard]] int64_t size() const { return size_; }
  T& operator[](int64_t i) { return data_[i]; }
  const T& operator[](int64_t i) const { return data_[i]; }

 private:
  T* data_ = nullptr;
  int64_t size_ = 0;
};

}  // namespace footprint
