// libFuzzer target: PNG and JPEG images (header check, decode, resize to a net input).
#include "footprint/footprint.hpp"
#include "fuzz_files.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = footprint::fuzz::write_input(data, size, ".img");
  try {
    const footprint::Image image = footprint::load_image(path, 3, /*max_pixels=*/1 << 22);
    std::vector<float> input(3 * 16 * 16);
    footprint::image_to_input(image, footprint::Shape{3, 16, 16}, {}, input.data());
  } catch (const footprint::Error&) {
  }
  return 0;
}
