// Where training samples come from: one interface over data held in memory (IDX files,
// synthetic data), image folders decoded from disk as they are needed, and NumPy arrays mapped
// from disk. A source holds only what it needs to find a sample (a file list, a mapping), so
// memory does not grow with the size of the data set; BatchLoader (batch_loader.hpp) reads
// samples into batches ahead of the training step.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "footprint/data.hpp"
#include "footprint/image.hpp"
#include "footprint/net.hpp"
#include "footprint/shape.hpp"

namespace footprint {

// How a decoded image becomes a net input, in one pass (no resized copy of the image).
struct SampleTransform {
  // > 0: resize so the shorter side has this many pixels (keeping the aspect ratio), then take
  // a window of the net's H x W; 0: resize straight to H x W.
  int64_t resize = 0;
  bool random_crop = false;    // training takes the window at a random place (else the centre)
  bool random_mirror = false;  // training mirrors half the samples left to right
  ImagePreprocess normalise;   // (p / 255 - mean[c]) / std[c]
};

class DataSource {
 public:
  virtual ~DataSource() = default;

  [[nodiscard]] virtual const std::string& name() const = 0;
  [[nodiscard]] virtual int64_t size() const = 0;
  [[nodiscard]] virtual int classes() const = 0;
  // Class names in label order, when the source has them (an image folder's directories).
  [[nodiscard]] virtual std::vector<std::string> class_names() const { return {}; }
  // Targets given as float rows of `target_elems()` values (regression), not class labels.
  [[nodiscard]] virtual bool float_targets() const { return false; }
  [[nodiscard]] virtual int64_t target_elems() const { return 0; }

  // Throws ShapeError when the source cannot feed a net whose input is `input` with `outputs`
  // outputs (a fixed sample shape that differs, more classes than outputs).
  virtual void check_fits(const Shape& input, int64_t outputs) const = 0;

  // Writes sample i as one net input (input.n_elems() floats) and returns its label (-1 for
  // float targets, written to `target` then, target_elems() floats). `augment` seeds the
  // sample's random transforms (0: none). Returns -2 with `error` set when the sample cannot
  // be read (a corrupt or vanished file): the loader skips it. Safe to call from many threads.
  virtual int read(int64_t i, const Shape& input, uint64_t augment, float* pixels, float* target,
                   std::string& error) const = 0;

  // Label of sample i without reading it, or -1 when that needs the sample (or it has none).
  [[nodiscard]] virtual int label_hint(int64_t i) const { (void)i; return -1; }

  // Images: the mean and std that read() normalises with from now on (measure_normalisation
  // measures them); other sources ignore it.
  virtual void set_normalisation(const ImagePreprocess& normalise) { (void)normalise; }

  // Bytes the source holds while it exists (the samples themselves when in memory; an index of
  // files; 0 for mapped files, whose pages are let go after each read).
  [[nodiscard]] virtual int64_t resident_bytes() const = 0;
  // A bound on what read() allocates while it runs (decoding), per reading thread, for a net
  // whose input is `input`.
  [[nodiscard]] virtual int64_t read_scratch_bytes(const Shape& input) const = 0;
};

// A Dataset in memory (IDX or synthetic) as a source. The source refers to `data`, which must
// outlive it.
[[nodiscard]] std::unique_ptr<DataSource> dataset_source(const Dataset& data);

// One line per file or directory the image folder left out, and why.
struct FolderSkip {
  std::string path;
  std::string why;
};

struct ImageFolderOptions {
  int channels = 3;                          // 1: decoded as grey; 3: as RGB
  int64_t max_pixels = kDefaultMaxImagePixels;
  SampleTransform transform;
  // Class names to use, in label order (a model's, so labels mean the same); empty: the
  // folder's subdirectories, sorted. A directory not among them is an error.
  std::vector<std::string> classes;
  int threads = 1;  // reading the headers while indexing
};

struct ImageFolderInfo {
  int64_t min_width = 0, min_height = 0, max_width = 0, max_height = 0;
  int64_t max_file_bytes = 0;
  std::vector<FolderSkip> skipped;  // files found unreadable while indexing, empty classes
  int64_t other_files = 0;          // files not named .png, .jpg or .jpeg, left alone
};

// DIR/<class>/<image>: every PNG or JPEG (told apart by their first bytes) under one directory
// per class, classes sorted by name. Each file's header is read when indexing, so files that are
// not images are skipped (named in info) before training starts; a file that fails later, when
// decoded, is skipped by the loader. IoError when DIR is missing or holds no images.
[[nodiscard]] std::unique_ptr<DataSource> image_folder(const std::string& dir,
                                                       const ImageFolderOptions& options,
                                                       ImageFolderInfo* info = nullptr);

// The samples `indices` of another source, in that order (a validation split).
[[nodiscard]] std::unique_ptr<DataSource> subset_source(std::shared_ptr<const DataSource> source,
                                                        std::vector<int64_t> indices,
                                                        std::string name);

// Per-channel mean and std of the pixels (scaled to [0, 1]) of up to `samples` images spread
// evenly over an image source, as they are when transformed to `input` (centre window, no
// mirror); deterministic. Leaves the source normalising with what it found. Unreadable
// images are passed over.
ImagePreprocess measure_normalisation(DataSource& images, const Shape& input, int64_t samples);

// Arrays from NumPy files: X of [N, C, H, W] float32 (used as they are) or uint8 (scaled as
// pixels: (p / 255 - mean) / std), Y of [N] int64 labels or [N, ...] float32 targets. Both are
// memory-mapped and read a sample at a time; the pages read are given back, so the process
// does not grow with N. IoError naming the file for a foreign dtype, Fortran order, a
// truncated file or N that differs between the two.
[[nodiscard]] std::unique_ptr<DataSource> npy_source(const std::string& x_path,
                                                     const std::string& y_path,
                                                     const ImagePreprocess& normalise);

}  // namespace footprint
