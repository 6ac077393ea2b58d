// Opening --data: in-memory sets as before (IDX, synthetic), and streamed ones (an image folder,
// NumPy arrays) with their test part, normalisation and what indexing found.
#include "data_flags.hpp"

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "common.hpp"
#include "core/rng.hpp"
#include "core/units.hpp"

namespace footprint::cli {
namespace {

namespace fs = std::filesystem;

bool starts_with(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

ImagePreprocess preprocess_from_flags(const DataFlags& f) {
  ImagePreprocess pre;
  if (f.mean.size() != f.std.size() || (f.mean.size() != 1 && f.mean.size() != 3)) {
    throw Error("--mean and --std: give 1 or 3 values each, as many of one as of the other");
  }
  for (size_t c = 0; c < 3; ++c) {
    pre.mean[c] = f.mean[f.mean.size() == 1 ? 0 : c];
    pre.std[c] = f.std[f.std.size() == 1 ? 0 : c];
    if (!(pre.std[c] > 0)) throw Error("--std: values must be greater than 0");
  }
  return pre;
}

std::string size_range(const ImageFolderInfo& info) {
  const std::string lo = std::to_string(info.min_width) + "x" + std::to_string(info.min_height);
  const std::string hi = std::to_string(info.max_width) + "x" + std::to_string(info.max_height);
  return info.min_width == info.max_width && info.min_height == info.max_height
             ? lo + " (all)"
             : "from " + lo + " to " + hi + " (widths and heights apart)";
}

void note_skips(TrainingData& data, const ImageFolderInfo& info) {
  for (const FolderSkip& s : info.skipped) {
    // Some reasons name the file already.
    data.notes.push_back("skipped " + (s.why.starts_with(s.path) ? s.why : s.path + ": " + s.why));
  }
  if (info.other_files > 0) {
    data.notes.push_back(std::to_string(info.other_files) +
                         " files not named .png, .jpg or .jpeg left alone");
  }
}

void open_folder(TrainingData& data, const DataFlags& f, const Net& net, const std::string& dir,
                 const std::vector<std::string>& classes) {
  const Shape input = net.input_shape();
  if (input.c != 1 && input.c != 3) {
    throw ShapeError("--data folder:" + dir + ": images give 1 or 3 channels, the net takes " +
                     std::to_string(input.c));
  }
  if (f.val_split < 0 || f.val_split >= 1) throw Error("--val-split: expected a fraction in [0, 1)");
  ImageFolderOptions options{.channels = static_cast<int>(input.c),
                             .max_pixels = parse_bytes(f.max_pixels),
                             .transform = {.resize = f.resize, .random_crop = f.random_crop,
                                           .random_mirror = f.mirror},
                             .classes = classes,
                             .threads = std::max(1, f.loader_threads)};
  const bool split_dirs = fs::is_directory(fs::path(dir) / "train");
  const std::string train_dir = split_dirs ? (fs::path(dir) / "train").string() : dir;
  ImageFolderInfo info;
  std::shared_ptr<DataSource> train = image_folder(train_dir, options, &info);
  // The test part: DIR/test with the training classes, or a held-out fraction.
  if (options.classes.empty()) options.classes = train->class_names();
  data.class_names = train->class_names();
  data.notes.push_back(train_dir + ": " + std::to_string(train->size()) + " images in " +
                       std::to_string(train->classes()) + " classes, " + size_range(info));
  note_skips(data, info);
  // Normalisation: given, or measured on the training images (as the IDX path measures it).
  if (!f.mean.empty() || !f.std.empty()) {
    data.normalise = preprocess_from_flags(f);
    train->set_normalisation(data.normalise);
  } else {
    data.normalise = measure_normalisation(*train, input, 1000);
    char line[160];
    std::snprintf(line, sizeof line, "normalisation measured on %lld images: mean %.4f %.4f %.4f, std %.4f %.4f %.4f",
                  static_cast<long long>(std::min<int64_t>(1000, train->size())), data.normalise.mean[0],
                  data.normalise.mean[1], data.normalise.mean[2], data.normalise.std[0], data.normalise.std[1],
                  data.normalise.std[2]);
    data.notes.push_back(line);
  }
  if (split_dirs && fs::is_directory(fs::path(dir) / "test")) {
    options.transform = {.resize = f.resize, .normalise = data.normalise};  // no random transforms
    ImageFolderInfo test_info;
    data.test = image_folder((fs::path(dir) / "test").string(), options, &test_info);
    data.notes.push_back((fs::path(dir) / "test").string() + ": " + std::to_string(data.test->size()) +
                         " images, " + size_range(test_info));
    note_skips(data, test_info);
  } else if (f.val_split > 0) {
    // Every k-th sample by a fixed shuffle, so the split is the same on every run.
    const int64_t n = train->size();
    std::vector<int64_t> order(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) order[static_cast<size_t>(i)] = i;
    Rng rng(0x5eed);
    for (int64_t i = n - 1; i > 0; --i) std::swap(order[i], order[rng.below(static_cast<uint64_t>(i + 1))]);
    const int64_t held = std::max<int64_t>(1, static_cast<int64_t>(f.val_split * static_cast<double>(n)));
    std::vector<int64_t> test_part(order.begin(), order.begin() + held);
    std::vector<int64_t> train_part(order.begin() + held, order.end());
    std::sort(test_part.begin(), test_part.end());
    std::sort(train_part.begin(), train_part.end());
    data.test = subset_source(train, std::move(test_part), "held-out part of " + train_dir);
    data.notes.push_back(std::to_string(held) + " of them held out for testing (--val-split)");
    train = subset_source(train, std::move(train_part), train_dir);
  }
  data.train = std::move(train);
  data.images = true;
}

}  // namespace

void add_data_flags(CLI::App& cmd, DataFlags& f) {
  cmd.add_option("--data", f.spec,
                 "fashion-mnist[:DIR], mnist:DIR, synthetic, folder:DIR (DIR/train/<class>/*.png|jpg and "
                 "DIR/test/<class>/..., or DIR/<class>/...), or npy:X.npy,Y.npy[,XTEST.npy,YTEST.npy]")
      ->capture_default_str();
  cmd.add_option("--prefetch", f.prefetch,
                 "Batches read ahead while the step runs, in a ring the plan counts")
      ->check(CLI::Range(0, 64))
      ->default_str("2 for folders and arrays, 0 for data held in memory");
  cmd.add_option("--loader-threads", f.loader_threads, "Threads decoding images ahead of the step")
      ->check(CLI::Range(1, 64))->capture_default_str();
  cmd.add_option("--val-split", f.val_split,
                 "Folder without a test/ part: this fraction of its images held out for testing")
      ->capture_default_str();
  cmd.add_option("--resize", f.resize,
                 "Images: resize the shorter side to this, then take the net's HxW")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 16))
      ->default_str("none: resize straight to HxW");
  cmd.add_flag("--random-crop", f.random_crop, "Training images: take the window at a random place");
  cmd.add_flag("--mirror", f.mirror, "Training images: mirror half of them left to right");
  cmd.add_option("--mean", f.mean, "Images: mean of p/255, one value or R G B")
      ->default_str("measured on 1000 training images, or the saved model's");
  cmd.add_option("--std", f.std, "Images: std, one value or R G B")
      ->default_str("measured with the mean, or the saved model's");
  cmd.add_option("--max-pixels", f.max_pixels, "Images with more pixels are skipped")->capture_default_str();
}

void use_saved_normalisation(DataFlags& f, const ModelLabels& labels) {
  if (!labels.has_normalisation || !f.mean.empty() || !f.std.empty()) return;
  f.mean.assign(labels.normalisation.mean.begin(), labels.normalisation.mean.end());
  f.std.assign(labels.normalisation.std.begin(), labels.normalisation.std.end());
}

int prefetch_batches(const DataFlags& f) {
  if (f.prefetch >= 0) return f.prefetch;
  return starts_with(f.spec, "folder:") || starts_with(f.spec, "npy:") ? 2 : 0;
}

int64_t TrainingData::held_bytes() const {
  int64_t bytes = in_memory->train.bytes() + in_memory->test.bytes();
  for (const auto* source : {train.get(), test.get()}) {
    if (source == nullptr) continue;
    bytes += source->resident_bytes() + 9 * source->size();
  }
  return bytes;
}

std::vector<Plan::OutsideLine> TrainingData::outside_lines(const Shape& input) const {
  if (prefetch == 0 || !train) return {};
  const int64_t scratch = std::max(train->read_scratch_bytes(input), test ? test->read_scratch_bytes(input) : 0);
  // Two loaders exist (training and testing), each with its threads' stacks; one reads at a time.
  return {{"data loader: " + std::to_string(loader_threads) + " threads reading, each decoding at most " +
               format_bytes(scratch) + " (bound)",
           loader_threads * scratch},
          {"data loader threads: stacks and allocator state (bound)", 2 * loader_threads * kOutsideBytesPerThread}};
}

TrainingData open_training_data(const DataFlags& f, const Net& net, int64_t synthetic_size,
                                const std::vector<std::string>& classes) {
  TrainingData data;
  data.spec = f.spec;
  data.loader_threads = f.loader_threads;
  const std::string& spec = f.spec;
  if (starts_with(spec, "folder:") && spec.size() > 7) {
    open_folder(data, f, net, spec.substr(7), classes);
  } else if (starts_with(spec, "npy:") && spec.size() > 4) {
    std::vector<std::string> paths;
    std::string rest = spec.substr(4);
    for (size_t at; (at = rest.find(',')) != std::string::npos; rest = rest.substr(at + 1)) paths.push_back(rest.substr(0, at));
    paths.push_back(rest);
    if (paths.size() != 2 && paths.size() != 4) {
      throw Error("--data " + spec + ": expected npy:X.npy,Y.npy or npy:X.npy,Y.npy,XTEST.npy,YTEST.npy");
    }
    const ImagePreprocess pre = f.mean.empty() ? ImagePreprocess{.mean = {0, 0, 0}, .std = {1, 1, 1}}
                                               : preprocess_from_flags(f);
    data.train = npy_source(paths[0], paths[1], pre);
    if (paths.size() == 4) data.test = npy_source(paths[2], paths[3], pre);
    data.notes.push_back(paths[0] + ": " + std::to_string(data.train->size()) + " samples, mapped (read a sample at a time)");
  } else {
    *data.in_memory = load_data(spec, net, synthetic_size);
    data.train = dataset_source(data.in_memory->train);
    if (data.in_memory->test.size > 0) data.test = dataset_source(data.in_memory->test);
  }
  data.prefetch = prefetch_batches(f);
  if (data.train) data.train->check_fits(net.input_shape(), net.output_shape().n_elems());
  return data;
}

}  // namespace footprint::cli
