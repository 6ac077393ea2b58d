// libFuzzer target: IDX data sets, plain or gzipped; the input is split into an images file
// and a labels file at a position taken from its first byte.
#include "footprint/footprint.hpp"
#include "fuzz_files.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const size_t split = std::min<size_t>(size - 1, data[0] * 4u);
  const std::string images = footprint::fuzz::write_input(data + 1, split, ".images");
  const std::string labels = footprint::fuzz::write_input(data + 1 + split, size - 1 - split, ".labels");
  try {
    const footprint::Dataset set = footprint::load_idx(images, labels);
    if (set.size > 0 && set.sample_shape.n_elems() < (1 << 16)) {
      std::vector<float> input(set.sample_shape.n_elems());
      std::vector<int32_t> target(1);
      const int64_t index = 0;
      footprint::fill_batch(set, {&index, 1}, footprint::LossKind::softmax_xent, 256, input.data(),
                            target.data());
    }
  } catch (const footprint::Error&) {
  }
  return 0;
}
