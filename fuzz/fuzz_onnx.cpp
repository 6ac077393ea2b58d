// libFuzzer target: ONNX models (import, then plan what imported).
#include "footprint/footprint.hpp"
#include "footprint/onnx.hpp"
#include "fuzz_files.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = footprint::fuzz::write_input(data, size, ".onnx");
  try {
    const footprint::OnnxModel model = footprint::import_onnx(path);
    (void)footprint::plan(model.net, {.batch = 1, .mode = footprint::Mode::infer});
  } catch (const footprint::Error&) {
  }
  return 0;
}
