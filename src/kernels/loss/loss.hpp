// Losses over a batch: the mean loss and its gradient with respect to the net's output.
#pragma once

#include <cstdint>

#include "footprint/net.hpp"

namespace footprint {

// out: [batch, classes]; target: float [batch, classes] for mse (mean over all elements, as
// PyTorch's MSELoss), int32 labels [batch] for softmax_xent (mean over the batch).
// d_out (nullptr: loss only) receives d loss / d out; it may be the same memory as out.
double loss_forward_backward(LossKind kind, int64_t batch, int64_t classes, const float* out,
                             const void* target, float* d_out);

}  // namespace footprint
