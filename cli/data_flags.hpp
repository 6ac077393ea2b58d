// --data and the flags of reading it: where training samples come from (IDX files, synthetic
// data, an image folder, NumPy arrays), how images are transformed, and how far ahead they are
// read. Shared by train and eval.
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <string>
#include <vector>

#include "footprint/footprint.hpp"

namespace footprint::cli {

struct DataFlags {
  std::string spec = "fashion-mnist";
  int prefetch = -1;        // -1: 2 for data read from disk, 0 for data held in memory
  int loader_threads = 1;
  double val_split = 0.0;   // folder with no test/ part: this fraction held out for testing
  int64_t resize = 0;
  bool random_crop = false;
  bool mirror = false;
  std::vector<float> mean, std;  // empty: measured on the training images
  std::string max_pixels = "100M";
};
void add_data_flags(CLI::App& cmd, DataFlags& flags);

// A model trained on images reads them as it was trained: its saved normalisation, unless
// --mean or --std were given.
void use_saved_normalisation(DataFlags& flags, const ModelLabels& labels);

// Batches to read ahead: --prefetch when given, else 2 for data read from disk (folder:, npy:)
// and 0 for data held in memory. Known before the data is opened, so the plan can count it.
[[nodiscard]] int prefetch_batches(const DataFlags& flags);

// What --data opened, ready for the trainer.
struct TrainingData {
  std::string spec;
  // IDX or synthetic sets (empty for streamed data), where the sources reading them can find them.
  std::shared_ptr<DataSplit> in_memory = std::make_shared<DataSplit>();
  std::shared_ptr<DataSource> train, test;    // test null when there is none
  int prefetch = 0;                           // batches to read ahead (PlanOptions::prefetch_batches)
  int loader_threads = 1;
  std::vector<std::string> class_names;       // an image folder's, in label order
  ImagePreprocess normalise;                  // what images are normalised with
  bool images = false;                        // samples decoded from image files
  std::vector<std::string> notes;             // lines for stderr: what was found, what was skipped

  // Bytes the data holds outside the plan while training: samples held in memory, or a
  // folder's index; and the epoch's order and the loader's per-sample marks (9 bytes a sample).
  [[nodiscard]] int64_t held_bytes() const;
  // The plan's lines for reading: the loader threads' decoding scratch (a bound).
  [[nodiscard]] std::vector<Plan::OutsideLine> outside_lines(const Shape& input) const;
};

// Opens --data for `net`. `classes`: a resumed model's class names (labels must mean the same);
// empty otherwise. Error naming the flag for a malformed spec; IoError for unreadable data.
[[nodiscard]] TrainingData open_training_data(const DataFlags& flags, const Net& net,
                                              int64_t synthetic_size,
                                              const std::vector<std::string>& classes = {});

}  // namespace footprint::cli
