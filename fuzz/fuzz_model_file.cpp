// libFuzzer target: model files (load_model, then restore into a small net when it parses).
#include "footprint/footprint.hpp"
#include "fuzz_files.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = footprint::fuzz::write_input(data, size, ".fpm");
  try {
    const footprint::SavedModel saved = footprint::load_model(path);
    const footprint::Net net = footprint::parse_net(saved.net_text, path);
    const footprint::Plan p = footprint::plan(net, {.batch = 1, .mode = footprint::Mode::infer});
    if (p.total_bytes < (64 << 20)) {  // restore only into nets small enough to allocate here
      footprint::Runtime runtime(net, p);
      footprint::restore_parameters(saved, runtime);
    }
  } catch (const footprint::Error&) {
  }
  return 0;
}
