// Saved models: architecture (.net text), every parameter tensor and the optimizer's state, in
// one binary file with a magic, a version and a CRC-32. Saves are atomic: the file is written
// as NAME.tmp, flushed and renamed over NAME, so a failed save leaves the previous file intact.
//
// Format, little-endian:
//   "FPMODEL\0" (8 bytes) | u32 version (2) | u64 payload_bytes | payload | u32 crc32(payload)
//   payload: string net_text | u32 optimizer kind | OptimizerParams as 7 f32 (lr, momentum,
//            nesterov as 0/1, weight_decay, beta1, beta2, eps) | i64 optimizer_steps |
//            u32 n_tensors | per tensor: string name | u64 n_elems | u32 n_state |
//            f32 data[n_elems] | n_state x f32 state[n_elems] |
//            training state (version 2): u64 seed | i64 steps | i64 forward_calls | i64 batch |
//            labels (version 3): u32 n_classes | n_classes x string | u32 has_normalisation |
//            f32 mean[3] | f32 std[3]
//   string: u32 length | bytes
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "footprint/image.hpp"
#include "footprint/net.hpp"
#include "footprint/plan.hpp"
#include "footprint/runtime.hpp"

namespace footprint {

struct SavedTensor {
  std::string name;
  std::vector<float> data;
  std::vector<std::vector<float>> optimizer_state;
};

// Where a training run stands, so that a run resumed from a checkpoint continues exactly as the
// uninterrupted one would: the data order is replayed from the seed and the step count, and
// dropout masks follow the runtime's count of training forwards.
struct TrainState {
  uint64_t seed = 0;          // TrainOptions::seed (data order)
  int64_t steps = 0;          // steps done
  int64_t forward_calls = 0;  // Runtime::forward_calls()
  int64_t batch = 0;          // the planned batch (the data order depends on it)
};

// What a model's outputs and inputs mean, saved with it (version 3): one class name per output
// (from the image folder it was trained on) and how images were normalised for it, so `run`
// and `eval` can name a prediction and prepare an image as training did.
struct ModelLabels {
  std::vector<std::string> class_names;  // empty: the outputs are unnamed
  bool has_normalisation = false;
  ImagePreprocess normalisation;
};

struct SavedModel {
  std::string net_text;
  OptimizerKind optimizer = OptimizerKind::sgd;
  OptimizerParams optimizer_params;
  int64_t optimizer_steps = 0;
  std::vector<SavedTensor> tensors;
  TrainState train_state;  // zeros for version-1 files
  ModelLabels labels;      // empty for files before version 3
};

// Writes the runtime's parameters (and optimizer state, when it has any) atomically.
void save_model(const std::string& path, const Runtime& runtime,
                const OptimizerParams& optimizer_params, const TrainState& train_state = {},
                const ModelLabels& labels = {});

// IoError for a missing, foreign, truncated or corrupt file (bad magic, version or checksum).
[[nodiscard]] SavedModel load_model(const std::string& path);

// True when the file opens with the model file's magic ("FPMODEL\0"); false when it does not,
// or cannot be read (load_model then says why).
[[nodiscard]] bool looks_like_saved_model(const std::string& path);

// Copies saved parameters (and, when the runtime has the same optimizer, its state, step
// count and forward count) into a runtime planned for saved.net_text. IoError naming the tensor
// on a mismatch.
void restore_parameters(const SavedModel& saved, Runtime& runtime);

}  // namespace footprint
