// One optimizer step on one parameter tensor, in place, with the conventions PyTorch uses.
#pragma once

#include <cstdint>

#include "footprint/plan.hpp"
#include "footprint/runtime.hpp"

namespace footprint {

class ThreadPool;

// state: 0 (sgd), 1 (momentum: velocity) or 2 (adam/adamw: first and second moment) tensors.
// step: the 1-based step number (Adam's bias correction).
void optimizer_update(ThreadPool& pool, OptimizerKind kind, const OptimizerParams& p, int64_t step,
                      int64_t n, float* weights, const float* grads, float* state0, float* state1);

}  // namespace footprint
