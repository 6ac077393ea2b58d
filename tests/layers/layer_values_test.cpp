// Forward values of the layers against PyTorch, through the public API as a user runs a net:
// parse the fixture's .net text, plan it for inference, restore the fixture's parameters through
// Runtime::parameters(), run, compare with PyTorch's output. The fixtures (tests/layers/fixtures/)
// come from tests/layers/make_torch_fixtures.py; ctest runs this from the repository root.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "footprint/net.hpp"
#include "footprint/npy.hpp"
#include "footprint/plan.hpp"
#include "footprint/runtime.hpp"

namespace footprint {
namespace {

const std::string kFixtures = "tests/layers/fixtures/";

// Every case make_torch_fixtures.py writes; a missing fixture fails rather than being skipped.
const char* const kCases[] = {
    "gelu", "gelu_tanh", "hardswish", "hardsigmoid", "silu", "layernorm", "layernorm_plain",
    "shuffle", "shuffle_2", "pad_constant", "pad_reflect", "pad_edge", "upsample_nearest",
    "upsample_nearest_size", "upsample_nearest_ratio", "upsample_nearest_down",
    "upsample_bilinear", "upsample_bilinear_size", "upsample_bilinear_corners",
    "upsample_bilinear_down", "convtranspose_stride2", "convtranspose_groups_dilation",
    "convtranspose_rect",
};

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

int64_t elems(const NpyArray& a) {
  int64_t n = 1;
  for (int64_t d : a.shape) n *= d;
  return n;
}

// The runtime's output for the fixture's input, with `threads` workers.
std::vector<float> run_case(const std::string& name, int threads) {
  const std::string net_path = kFixtures + name + ".net";
  if (!std::filesystem::exists(net_path)) {
    ADD_FAILURE() << net_path << " is missing (run tests/layers/make_torch_fixtures.py)";
    return {};
  }
  const Net net = parse_net(read_text(net_path), net_path);
  const NpyArray input = read_npy(kFixtures + name + ".input.npy");
  const int batch = static_cast<int>(input.shape.at(0));
  EXPECT_EQ(elems(input), batch * net.input_shape().n_elems()) << name << ": input size";
  const Plan p = plan(net, {.batch = batch, .mode = Mode::infer, .threads = threads});
  Runtime runtime(net, p);
  for (const ParamView& param : runtime.parameters()) {
    const NpyArray values = read_npy(kFixtures + name + "." + param.name + ".npy");
    EXPECT_EQ(elems(values), param.n_elems) << name << ": " << param.name;
    if (elems(values) != param.n_elems) return {};
    std::copy(values.data.begin(), values.data.end(), param.data);
  }
  std::copy(input.data.begin(), input.data.end(), runtime.input());
  runtime.forward(batch, /*training=*/false);
  return {runtime.output(), runtime.output() + batch * net.output_shape().n_elems()};
}

TEST(LayerValues, MatchPyTorch) {
  for (const char* name : kCases) {
    const NpyArray want = read_npy(kFixtures + name + ".output.npy");
    for (int threads : {1, 2}) {
      SCOPED_TRACE(std::string(name) + " threads=" + std::to_string(threads));
      const std::vector<float> got = run_case(name, threads);
      ASSERT_EQ(static_cast<int64_t>(got.size()), elems(want)) << "output size";
      int failures = 0;
      for (size_t i = 0; i < got.size() && failures < 5; ++i) {
        const float bound = 1e-5f * std::max(1.0f, std::fabs(want.data[i]));
        if (!(std::fabs(got[i] - want.data[i]) <= bound)) {
          ++failures;
          ADD_FAILURE() << "output[" << i << "] = " << got[i] << ", PyTorch " << want.data[i];
        }
      }
    }
  }
}

}  // namespace
}  // namespace footprint
