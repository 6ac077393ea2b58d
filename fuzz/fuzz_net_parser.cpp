// libFuzzer target: .net text -> parse_net -> plan (train and infer). Bad input must end in a
// footprint::Error, never a crash, a hang or a sanitizer report.
#include <cstddef>
#include <cstdint>
#include <string>

#include "footprint/footprint.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const footprint::Net net = footprint::parse_net(text, "fuzz.net");
    (void)footprint::plan(net, {.batch = 2, .mode = footprint::Mode::infer});
    if (net.loss_kind() != footprint::LossKind::none) {
      (void)footprint::plan(net, {.batch = 2, .optimizer = footprint::OptimizerKind::adam});
    }
  } catch (const footprint::Error&) {
  }
  return 0;
}
