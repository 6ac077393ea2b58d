// Saved models: architecture (.net text), every parameter tensor and the optimizer's state, in
// one binary file with a magic, a version and a CRC-32. Saves are atomic: the file is written
// as NAME.tmp, flushed and renamed over NAME, so a failed save leaves the previous file intact.
//
// Format, little-endian:
//   "FPMODEL\0" (8 bytes) | u32 version (1) | u64 payload_bytes | payload | u32 crc32(payload)
//   payload: string net_text | u32 optimizer kind | OptimizerParams as 7 f32 (lr, momentum,
//            nesterov as 0/1, weight_decay, beta1, beta2, eps) | i64 optimizer_steps |
//            u32 n_tensors | per tensor: string name | u64 n_elems | u32 n_state |
//            f32 data[n_elems] | n_state x f32 state[n_elems]
//   string: u32 length | bytes
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "footprint/net.hpp"
#include "footprint/plan.hpp"
#include "footprint/runtime.hpp"

namespace footprint {

struct SavedTensor {
  std::string name;
  std::vector<float> data;
  std::vector<std::vector<float>> optimizer_state;
};

struct SavedModel {
  std::string net_text;
  OptimizerKind optimizer = OptimizerKind::sgd;
  OptimizerParams optimizer_params;
  int64_t optimizer_steps = 0;
  std::vector<SavedTensor> tensors;
};

// Writes the runtime's parameters (and optimizer state, when it has any) atomically.
void save_model(const std::string& path, const Runtime& runtime,
                const OptimizerParams& optimizer_params);

// IoError for a missing, foreign, truncated or corrupt file (bad magic, version or checksum).
[[nodiscard]] SavedModel load_model(const std::string& path);

// Copies saved parameters (and, when the runtime has the same optimizer, its state and step
// count) into a runtime planned for saved.net_text. IoError naming the tensor on a mismatch.
void restore_parameters(const SavedModel& saved, Runtime& runtime);

}  // namespace footprint
