// Image folders: indexing (classes, headers, what is left out and why), reading with
// transforms, training through the ring on a folder with broken files, the same weights
// whatever the number of loader threads.
#include "testing/png_writer.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "footprint/footprint.hpp"

namespace footprint {
namespace {

namespace fs = std::filesystem;

fs::path fresh_dir(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("footprint_folder_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

using testing::write_pattern_jpeg;
using testing::write_pattern_png;

std::vector<char> file_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_bytes(const fs::path& path, const std::vector<char>& bytes) {
  std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// bird: 3 PNGs (grey and colour, odd sizes); cat: 2 JPEGs, one truncated half way, and a text
// file named .png; dog: 3 PNGs in a subdirectory too; empty: nothing; plus notes.txt and a
// hidden file, which are not images.
fs::path make_folder(const std::string& name) {
  const fs::path dir = fresh_dir(name);
  for (const char* c : {"bird", "cat", "dog", "empty"}) fs::create_directories(dir / c);
  write_pattern_png(dir / "bird" / "b1.png", 20, 16, 3, 10);
  write_pattern_png(dir / "bird" / "b2.png", 31, 17, 1, 60);
  write_pattern_png(dir / "bird" / "b3.PNG", 16, 16, 3, 90);
  write_pattern_jpeg(dir / "cat" / "c1.jpg", 40, 30, 30);
  write_pattern_jpeg(dir / "cat" / "c2.jpeg", 64, 48, 50);
  std::vector<char> jpeg = file_bytes(dir / "cat" / "c2.jpeg");
  jpeg.resize(jpeg.size() / 2);
  write_bytes(dir / "cat" / "c2.jpeg", jpeg);
  std::ofstream(dir / "cat" / "fake.png") << "this is not an image\n";
  fs::create_directories(dir / "dog" / "more");
  write_pattern_png(dir / "dog" / "d1.png", 16, 24, 3, 5);
  write_pattern_png(dir / "dog" / "more" / "d2.png", 18, 18, 3, 15);
  write_pattern_png(dir / "dog" / "d3.png", 50, 20, 3, 25);
  std::ofstream(dir / "dog" / "notes.txt") << "labels\n";
  std::ofstream(dir / "dog" / ".hidden.png") << "editor droppings\n";
  return dir;
}

bool any_names(const std::vector<FolderSkip>& skipped, const std::string& end) {
  for (const FolderSkip& s : skipped)
    if (s.path.size() >= end.size() && s.path.compare(s.path.size() - end.size(), end.size(), end) == 0) return true;
  return false;
}

TEST(ImageFolder, IndexesClassesInOrderAndNamesWhatItLeavesOut) {
  const fs::path dir = make_folder("index");
  ImageFolderInfo info;
  const auto folder = image_folder(dir.string(), {.channels = 3, .threads = 2}, &info);
  EXPECT_EQ(folder->class_names(), (std::vector<std::string>{"bird", "cat", "dog", "empty"}));
  EXPECT_EQ(folder->classes(), 4);
  EXPECT_EQ(folder->size(), 8);  // 3 birds, 2 cats (the truncated one passes its header), 3 dogs
  ASSERT_EQ(info.skipped.size(), 2u);
  EXPECT_TRUE(any_names(info.skipped, "cat/fake.png")) << info.skipped[0].path;
  EXPECT_TRUE(any_names(info.skipped, "empty"));
  EXPECT_EQ(info.other_files, 1);  // notes.txt; the hidden file is not counted
  EXPECT_EQ(info.min_width, 16);
  EXPECT_EQ(info.max_width, 64);
  EXPECT_EQ(info.min_height, 16);
  EXPECT_EQ(info.max_height, 48);
  // Labels follow the sorted classes; files within a class in name order (d1, d3, more/d2).
  std::vector<int> labels;
  for (int64_t i = 0; i < folder->size(); ++i) labels.push_back(folder->label_hint(i));
  EXPECT_EQ(labels, (std::vector<int>{0, 0, 0, 1, 1, 2, 2, 2}));

  const Shape input{3, 16, 16};
  std::vector<float> pixels(static_cast<size_t>(input.n_elems()));
  std::string error;
  int unreadable = 0;
  for (int64_t i = 0; i < folder->size(); ++i) {
    const int label = folder->read(i, input, 0, pixels.data(), nullptr, error);
    if (label == -2) {
      ++unreadable;
      EXPECT_NE(error.find("c2.jpeg"), std::string::npos) << error;
      EXPECT_NE(error.find("truncated"), std::string::npos) << error;
    } else {
      EXPECT_EQ(label, labels[static_cast<size_t>(i)]);
    }
  }
  EXPECT_EQ(unreadable, 1);
  fs::remove_all(dir);
}

TEST(ImageFolder, RefusesWhatCannotBeAFolderOfClasses) {
  const fs::path dir = fresh_dir("refuse");
  EXPECT_THROW((void)image_folder((dir / "missing").string(), {}), IoError);
  fs::create_directories(dir / "a");
  try {
    (void)image_folder(dir.string(), {});
    FAIL() << "an empty folder was accepted";
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("no images found"), std::string::npos) << e.what();
  }
  write_pattern_png(dir / "a" / "x.png", 8, 8, 3, 0);
  fs::create_directories(dir / "zebra");
  write_pattern_png(dir / "zebra" / "z.png", 8, 8, 3, 0);
  try {
    (void)image_folder(dir.string(), {.classes = {"a", "b"}});
    FAIL() << "a class the model lacks was accepted";
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("zebra: a class the model does not have"), std::string::npos) << e.what();
  }
  // Given classes keep their labels, whatever directories exist.
  const auto folder = image_folder(dir.string(), {.classes = {"zebra", "b", "a"}});
  EXPECT_EQ(folder->label_hint(0), 2);
  EXPECT_EQ(folder->label_hint(1), 0);
  fs::remove_all(dir);
}

TEST(ImageFolder, JpegHeadersAfterLongSegmentsAreFound) {
  const fs::path dir = fresh_dir("header");
  write_pattern_jpeg(dir / "plain.jpg", 37, 23, 0);
  std::vector<char> jpeg = file_bytes(dir / "plain.jpg");
  // An APP1 segment of 60000 bytes (a big EXIF block) between SOI and the rest.
  std::vector<char> app1 = {char(0xff), char(0xe1), char(60000 >> 8), char(60000 & 0xff)};
  app1.resize(60000 + 2, 'x');
  jpeg.insert(jpeg.begin() + 2, app1.begin(), app1.end());
  write_bytes(dir / "exif.jpg", jpeg);
  const ImageSize size = read_image_size((dir / "exif.jpg").string());
  EXPECT_EQ(size.width, 37);
  EXPECT_EQ(size.height, 23);
  EXPECT_EQ(size.file_bytes, static_cast<int64_t>(jpeg.size()));
  // And the decoder agrees.
  const Image image = load_image((dir / "exif.jpg").string(), 3, kDefaultMaxImagePixels);
  EXPECT_EQ(image.width, 37);
  jpeg.resize(1000);  // cut inside the long segment
  write_bytes(dir / "cut.jpg", jpeg);
  EXPECT_THROW((void)read_image_size((dir / "cut.jpg").string()), IoError);
  fs::remove_all(dir);
}

TEST(ImageFolder, MeasuredNormalisationMatchesThePixels) {
  const fs::path dir = fresh_dir("norm");
  fs::create_directories(dir / "only");
  for (int k = 0; k < 4; ++k) {
    std::vector<uint8_t> pixels(8 * 8 * 3);
    for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<uint8_t>(i % 3 == 0 ? 51 : i % 3 == 1 ? 102 + 51 * (k % 2) : 255);
    ASSERT_TRUE(stbi_write_png((dir / "only" / (std::to_string(k) + ".png")).c_str(), 8, 8, 3, pixels.data(), 24));
  }
  auto folder = image_folder(dir.string(), {});
  const ImagePreprocess measured = measure_normalisation(*folder, Shape{3, 8, 8}, 100);
  EXPECT_NEAR(measured.mean[0], 0.2, 1e-6);
  EXPECT_NEAR(measured.std[0], 1.0, 1e-6);  // constant: left alone
  EXPECT_NEAR(measured.mean[1], 0.5, 1e-6);
  EXPECT_NEAR(measured.std[1], 0.1, 1e-6);
  std::vector<float> pixels(3 * 64);
  std::string error;
  ASSERT_EQ(folder->read(1, Shape{3, 8, 8}, 0, pixels.data(), nullptr, error), 0);
  EXPECT_NEAR(pixels[64], (0.6 - 0.5) / 0.1, 1e-4);  // the source now normalises with it
  fs::remove_all(dir);
}

std::vector<float> train_on_folder(const DataSource& folder, int loader_threads, int64_t* skips,
                                   int64_t* steps_done) {
  const Net net = parse_net("input 3 16 16\nconv 4 k=3 pad=1\nrelu\nmaxpool k=2\nfc 4\nloss softmax_xent\n", "tiny");
  const Plan p = plan(net, {.batch = 3, .prefetch_batches = 2});
  const int64_t before = tracked_memory().current_bytes;
  reset_tracked_peak();
  Runtime runtime(net, p, 1);
  TrainOptions options{.epochs = 3, .optimizer = {.lr = 0.01f}, .seed = 4, .loader_threads = loader_threads};
  options.on_skip = [&](const std::string& message) {
    ++*skips;
    EXPECT_NE(message.find("c2.jpeg"), std::string::npos) << message;
  };
  *steps_done = train(runtime, folder, &folder, options, nullptr, nullptr);
  EXPECT_EQ(tracked_memory().peak_bytes - before, p.total_bytes);
  return std::vector<float>(runtime.parameters()[0].data,
                            runtime.parameters()[0].data + runtime.parameters()[0].n_elems);
}

TEST(ImageFolder, TrainsToTheEndPastBrokenFilesTheSameForAnyNumberOfThreads) {
  const fs::path dir = make_folder("train");
  const auto folder = image_folder(
      dir.string(),
      {.transform = {.resize = 20, .random_crop = true, .random_mirror = true,
                     .normalise = {.mean = {0.5f, 0.5f, 0.5f}, .std = {0.25f, 0.25f, 0.25f}}}});
  int64_t skips1 = 0, skips3 = 0, steps1 = 0, steps3 = 0;
  const std::vector<float> one = train_on_folder(*folder, 1, &skips1, &steps1);
  const std::vector<float> three = train_on_folder(*folder, 3, &skips3, &steps3);
  EXPECT_EQ(steps1, 9);  // 8 samples in batches of 3, three epochs
  EXPECT_EQ(skips1, 2);  // named by the training loader and by the test loader, once each
  EXPECT_EQ(skips3, 2);
  EXPECT_EQ(one, three);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace footprint
