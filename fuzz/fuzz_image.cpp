// libFuzzer target: PNG and JPEG images (header check, decode as RGB and as grey, resize to a net
// input); small decoded images are also saved as JPEG and PNG and read back.
#include "footprint/footprint.hpp"
#include "fuzz_files.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = footprint::fuzz::write_input(data, size, ".img");
  try {
    const footprint::Image image = footprint::load_image(path, 3, /*max_pixels=*/1 << 22);
    std::vector<float> input(3 * 16 * 16);
    footprint::image_to_input(image, footprint::Shape{3, 16, 16}, {}, input.data());
    const footprint::Image grey = footprint::load_image(path, 1, /*max_pixels=*/1 << 22);
    // Odd sizes (1 x 4000, 3 x 5) for the writers, kept small so each input stays fast.
    if (grey.width * grey.height <= 4096) {
      for (const char* suffix : {".out.jpg", ".out.png"}) {
        const std::string out = path + suffix;
        footprint::save_image(out, grey);
        if (footprint::load_image(out, 1, 1 << 22).width != grey.width) __builtin_trap();
      }
    }
  } catch (const footprint::Error&) {
  }
  return 0;
}
