// What library code outside the runtime may use of a Runtime beyond its public interface.
#pragma once

#include "core/thread_pool.hpp"
#include "footprint/runtime.hpp"

namespace footprint {

// The runtime's worker threads, for work on its buffers between steps (style transfer adds up
// Gram matrices from its tapped values). Layers get the same pool as StepArgs::pool.
ThreadPool& runtime_pool(Runtime& runtime);

}  // namespace footprint
