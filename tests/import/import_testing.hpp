// Helpers for the importer's tests: import a model built in memory, run a net on given weights
// and input, and read an import's error message.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "footprint/error.hpp"
#include "footprint/model_io.hpp"
#include "footprint/onnx.hpp"
#include "footprint/plan.hpp"
#include "footprint/runtime.hpp"
#include "import/onnx/onnx_importer.hpp"
#include "testing/onnx_builder.hpp"

namespace footprint::testing {

inline OnnxModel import_built(ModelBuilder& b, const OnnxImportOptions& options = {}) {
  return import_onnx_model(b.model(), "test.onnx", options);
}

// The message of the Error the import throws, or "(no error)".
inline std::string import_error(ModelBuilder& b, const OnnxImportOptions& options = {}) {
  try {
    (void)import_built(b, options);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

inline std::vector<float> random_values(int64_t n, uint32_t seed, float scale = 1.0f) {
  std::vector<float> v(n);
  for (auto& x : v) seed = seed * 1664525u + 1013904223u, x = scale * (static_cast<float>(seed >> 8) / 8388608.0f - 1.0f);
  return v;
}

// The layers' ops in order.
inline std::vector<std::string> ops_of(const Net& net) {
  std::vector<std::string> ops;
  for (const auto& node : net.nodes()) ops.push_back(node.spec.op);
  return ops;
}

// Output k of net on x (batch samples), its parameters set from `tensors` in order (so a net
// written by hand takes an imported model's weights when its layers come in the same order).
inline std::vector<float> run_with(const Net& net, const std::vector<SavedTensor>& tensors, const std::vector<float>& x,
                                   int batch = 1, int output = 0) {
  const Plan p = plan(net, {.batch = batch, .mode = Mode::infer, .threads = 2});
  Runtime runtime(net, p);
  const std::vector<ParamView>& params = runtime.parameters();
  EXPECT_EQ(params.size(), tensors.size()) << net.to_text();
  for (size_t i = 0; i < std::min(params.size(), tensors.size()); ++i) {
    EXPECT_EQ(params[i].n_elems, static_cast<int64_t>(tensors[i].data.size())) << params[i].name;
    if (params[i].n_elems == static_cast<int64_t>(tensors[i].data.size())) {
      std::copy(tensors[i].data.begin(), tensors[i].data.end(), params[i].data);
    }
  }
  EXPECT_EQ(static_cast<int64_t>(x.size()), batch * net.input_shape().n_elems());
  std::copy(x.begin(), x.end(), runtime.input());
  runtime.forward(batch, /*training=*/false);
  const int64_t n = batch * net.value_shape(net.outputs().at(output)).n_elems();
  return {runtime.output(output), runtime.output(output) + n};
}

// An imported model on x, its weights restored by name.
inline std::vector<float> run_model(OnnxModel& m, const std::vector<float>& x, int batch = 1, int output = 0) {
  const Plan p = plan(m.net, {.batch = batch, .mode = Mode::infer, .threads = 2});
  Runtime runtime(m.net, p);
  m.restore_weights(runtime);
  std::copy(x.begin(), x.end(), runtime.input());
  runtime.forward(batch, /*training=*/false);
  const int64_t n = batch * m.net.value_shape(m.net.outputs().at(output)).n_elems();
  return {runtime.output(output), runtime.output(output) + n};
}

inline void expect_close(const std::vector<float>& got, const std::vector<float>& want, float tolerance = 1e-5f) {
  ASSERT_EQ(got.size(), want.size());
  float scale = 1.0f;
  for (float w : want) scale = std::max(scale, std::fabs(w));
  for (size_t i = 0; i < got.size(); ++i) {
    ASSERT_NEAR(got[i], want[i], tolerance * scale) << "element " << i;
  }
}

}  // namespace footprint::testing
