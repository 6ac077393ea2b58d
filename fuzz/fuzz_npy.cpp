// libFuzzer target: NumPy .npy files.
#include "footprint/footprint.hpp"
#include "footprint/npy.hpp"
#include "fuzz_files.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = footprint::fuzz::write_input(data, size, ".npy");
  try {
    (void)footprint::read_npy(path);
  } catch (const footprint::Error&) {
  }
  return 0;
}
