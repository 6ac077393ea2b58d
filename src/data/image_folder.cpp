// An image folder (DIR/<class>/<image>) as a DataSource. Indexing lists each class's files in
// name order and reads every header, so the file list is fixed and the largest image known
// before training starts; samples are decoded and transformed when the loader asks for them.
// The index keeps every path in one block of characters, a few bytes a file.
#include <algorithm>
#include <filesystem>
#include <thread>

#include "data/sample_transform.hpp"
#include "footprint/data_source.hpp"
#include "footprint/error.hpp"

namespace footprint {
namespace {

namespace fs = std::filesystem;

bool has_image_extension(const fs::path& path) {
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  return ext == ".png" || ext == ".jpg" || ext == ".jpeg";
}

bool hidden(const fs::path& path) {
  const std::string name = path.filename().string();
  return !name.empty() && name[0] == '.';
}

// Fixed costs of one decode besides what scales with the image: libjpeg's tables and stb's
// zlib state, rounded up.
constexpr int64_t kDecodeFixedBytes = int64_t{256} << 10;

class ImageFolderSource final : public DataSource {
 public:
  ImageFolderSource(const std::string& dir, const ImageFolderOptions& options, ImageFolderInfo& info)
      : root_(dir), name_("image folder " + dir), options_(options) {
    std::error_code ec;
    if (!fs::is_directory(root_, ec)) throw IoError(dir + ": not a directory (expected DIR/<class>/<images>)");
    std::vector<std::string> dirs;
    for (const fs::directory_entry& entry : fs::directory_iterator(root_, ec)) {
      if (entry.is_directory() && !hidden(entry.path())) dirs.push_back(entry.path().filename().string());
    }
    if (ec) throw IoError(dir + ": cannot list (" + ec.message() + ")");
    std::sort(dirs.begin(), dirs.end());
    class_names_ = options.classes.empty() ? dirs : options.classes;
    if (class_names_.size() > 65535) throw IoError(dir + ": more than 65535 class directories");
    for (const std::string& d : dirs) {
      const auto at = std::find(class_names_.begin(), class_names_.end(), d);
      if (at == class_names_.end()) {
        throw IoError(dir + "/" + d + ": a class the model does not have (its classes are given by "
                      "the model; expected one of its " + std::to_string(class_names_.size()) + ")");
      }
      index_class(d, static_cast<int>(at - class_names_.begin()), info);
    }
    if (labels_.empty()) {
      throw IoError(dir + ": no images found (expected DIR/<class>/<image>.png|.jpg|.jpeg, one "
                    "directory per class)");
    }
    info.max_file_bytes = max_file_bytes_;
    widest_ = info.max_width;
    tallest_ = info.max_height;
  }

  const std::string& name() const override { return name_; }
  int64_t size() const override { return static_cast<int64_t>(labels_.size()); }
  int classes() const override { return static_cast<int>(class_names_.size()); }
  std::vector<std::string> class_names() const override { return class_names_; }

  void check_fits(const Shape& input, int64_t outputs) const override {
    if (input.c != options_.channels) {
      throw ShapeError(name_ + ": images are read with " + std::to_string(options_.channels) +
                       " channels but the net's input is " + input.str());
    }
    if (classes() > outputs) {
      throw ShapeError(name_ + ": " + std::to_string(classes()) + " classes do not fit a net with " +
                       std::to_string(outputs) + " outputs");
    }
    if (options_.transform.resize > 0 && options_.transform.resize < std::min(input.h, input.w)) {
      throw ShapeError(name_ + ": resizing the shorter side to " + std::to_string(options_.transform.resize) +
                       " leaves less than the net's input " + input.str() + "; expected at least " +
                       std::to_string(std::min(input.h, input.w)));
    }
  }

  int read(int64_t i, const Shape& input, uint64_t augment, float* pixels, float*,
           std::string& error) const override {
    const std::string path = path_of(i);
    try {
      const Image image = load_image(path, options_.channels, options_.max_pixels);
      thread_local TransformScratch scratch;
      transform_image(image, input,
                      sample_geometry(image.width, image.height, input, options_.transform, augment),
                      normalise_, pixels, scratch);
    } catch (const Error& e) {
      error = e.what();
      return -2;
    } catch (const std::bad_alloc&) {
      error = path + ": out of memory decoding it";
      return -2;
    }
    return labels_[static_cast<size_t>(i)];
  }

  int label_hint(int64_t i) const override { return labels_[static_cast<size_t>(i)]; }
  void set_normalisation(const ImagePreprocess& normalise) override { normalise_ = normalise; }

  int64_t resident_bytes() const override {
    int64_t bytes = static_cast<int64_t>(names_.capacity() + offsets_.capacity() * sizeof(uint32_t) +
                                         labels_.capacity() * sizeof(uint16_t));
    for (const std::string& c : class_names_) bytes += static_cast<int64_t>(c.capacity() + sizeof c);
    return bytes;
  }
  // The file read whole, stb's or libjpeg's buffers (the compressed stream gathered, the
  // inflated rows, the pixels converted; progressive JPEG's coefficients), the Image, and the
  // transform's rows and taps.
  int64_t read_scratch_bytes(const Shape& input) const override {
    return 3 * max_file_bytes_ + 12 * max_pixels_ + kDecodeFixedBytes +
           transform_scratch_bytes(widest_, tallest_, options_.channels, input);
  }

 private:
  std::string path_of(int64_t i) const {
    const size_t at = offsets_[static_cast<size_t>(i)];
    return root_ + "/" + class_names_[labels_[static_cast<size_t>(i)]] + "/" + (names_.c_str() + at);
  }

  // One class directory: its image files in name order (any depth), headers read by
  // options_.threads threads.
  void index_class(const std::string& dir_name, int label, ImageFolderInfo& info) {
    const fs::path dir = fs::path(root_) / dir_name;
    std::vector<std::string> files;
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(dir, fs::directory_options::skip_permission_denied, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (hidden(it->path())) {
        if (it->is_directory()) it.disable_recursion_pending();
        continue;
      }
      if (!it->is_regular_file()) continue;
      if (!has_image_extension(it->path())) {
        ++info.other_files;
        continue;
      }
      // The path below the class directory (fs::relative would resolve links: a stat a level).
      files.push_back(it->path().string().substr(dir.string().size() + 1));
    }
    if (ec) info.skipped.push_back({dir.string(), "cannot list it (" + ec.message() + ")"});
    std::sort(files.begin(), files.end());
    if (files.empty()) {
      info.skipped.push_back({dir.string(), "an empty class: no .png, .jpg or .jpeg files"});
      return;
    }

    std::vector<ImageSize> sizes(files.size());
    std::vector<std::string> errors(files.size());
    const int threads = std::max(1, std::min<int>(options_.threads, static_cast<int>(files.size())));
    auto scan = [&](int t) {
      for (size_t f = static_cast<size_t>(t); f < files.size(); f += static_cast<size_t>(threads)) {
        try {
          sizes[f] = read_image_size((dir / files[f]).string());
          if (sizes[f].width * sizes[f].height > options_.max_pixels) {
            errors[f] = std::to_string(sizes[f].width) + "x" + std::to_string(sizes[f].height) +
                        " pixels, more than the limit of " + std::to_string(options_.max_pixels);
          }
        } catch (const Error& e) {
          errors[f] = e.what();
        }
      }
    };
    std::vector<std::thread> pool;
    for (int t = 1; t < threads; ++t) pool.emplace_back(scan, t);
    scan(0);
    for (std::thread& thread : pool) thread.join();

    for (size_t f = 0; f < files.size(); ++f) {
      if (!errors[f].empty()) {
        info.skipped.push_back({(dir / files[f]).string(), errors[f]});
        continue;
      }
      const ImageSize& s = sizes[f];
      const bool first = labels_.empty();
      info.min_width = first ? s.width : std::min(info.min_width, s.width);
      info.min_height = first ? s.height : std::min(info.min_height, s.height);
      info.max_width = std::max(info.max_width, s.width);
      info.max_height = std::max(info.max_height, s.height);
      max_file_bytes_ = std::max(max_file_bytes_, s.file_bytes);
      max_pixels_ = std::max(max_pixels_, s.width * s.height * 4);
      if (names_.size() + files[f].size() + 1 > UINT32_MAX) throw IoError(root_ + ": file names too long to index");
      offsets_.push_back(static_cast<uint32_t>(names_.size()));
      names_ += files[f];
      names_ += '\0';
      labels_.push_back(static_cast<uint16_t>(label));
    }
  }

  std::string root_, name_;
  ImageFolderOptions options_;
  ImagePreprocess normalise_;
  std::vector<std::string> class_names_;
  std::string names_;              // every file's path under its class directory, each ended by '\0'
  std::vector<uint32_t> offsets_;  // per sample: where its name starts in names_
  std::vector<uint16_t> labels_;   // per sample: its class
  int64_t max_file_bytes_ = 0, max_pixels_ = 0;  // max_pixels_: of the decoded bytes (4 a pixel)
  int64_t widest_ = 0, tallest_ = 0;
};

}  // namespace

std::unique_ptr<DataSource> image_folder(const std::string& dir, const ImageFolderOptions& options,
                                         ImageFolderInfo* info) {
  if (options.channels != 1 && options.channels != 3) {
    throw Error("image folder " + dir + ": " + std::to_string(options.channels) +
                " channels; images give 1 (grey) or 3 (RGB)");
  }
  ImageFolderInfo local;
  auto source = std::make_unique<ImageFolderSource>(dir, options, info ? *info : local);
  source->set_normalisation(options.transform.normalise);
  return source;
}

}  // namespace footprint
