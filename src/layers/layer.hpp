// The interface every layer implements, in the order the pipeline uses it:
//   constructor (validate options) -> infer_shape -> params / describe (what to plan) ->
//   forward / backward (run on pointers the runtime binds; never allocate).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "footprint/net.hpp"
#include "footprint/plan.hpp"

namespace footprint {

class ThreadPool;

// How many values a layer reads: most read one, joins (add, concat, mul) two or more.
struct Arity {
  int min = 1;
  int max = 1;  // kAnyNumber: no upper bound
};
inline constexpr int kAnyNumber = 1 << 20;

enum class ParamInit { fan_in_uniform, ones, zeros };

struct ParamSpec {
  std::string name;  // suffix: "weight", "bias", "running_mean", ...
  int64_t n_elems = 0;
  bool trainable = true;
  ParamInit init = ParamInit::fan_in_uniform;
  int64_t fan_in = 1;  // for fan_in_uniform: bound 1/sqrt(fan_in)
};

struct SavedSpec {
  std::string name;  // suffix: "argmax", "mask", ...
  int64_t size_bytes = 0;
};

// What planning needs to know about one layer at a given batch size.
struct PlanContext {
  std::span<const Shape> in;
  Shape out;
  int batch = 1;
  int threads = 1;
  Mode mode = Mode::train;
  int64_t conv_tile_bytes = 0;
  bool param_grads = true;  // train mode: backward computes parameter gradients
  bool input_grads = true;  // train mode: backward computes the gradient of an input
  bool direct_conv = true;  // PlanOptions::direct_conv
};

struct LayerNeeds {
  bool saves_input = false;       // backward reads the forward inputs
  bool saves_output = false;      // backward reads the forward output
  bool may_run_in_place = false;  // forward handles dst == src[0], backward d_src[0] == d_dst
  // Backward's gradient for every input is d_dst itself (add), so when the layer runs in place
  // the later inputs' gradients may share d_dst's bytes too; otherwise only the first's does.
  bool gradient_passes_through = false;
  std::vector<SavedSpec> saved;   // compact values kept for backward (train mode only)
  int64_t workspace_bytes = 0;    // temporary bytes for one forward or backward step
  int64_t tile = 0;               // handed back in StepArgs::tile
  int algorithm = 0;              // handed back in StepArgs::algorithm (a layer's kernel choice)
  // The layer honours StepArgs::src_stride (for src and d_src) and dst_stride (for dst, d_dst):
  // its inputs, or its output, may be channel ranges of a larger tensor, so the planner can
  // place a concatenation's inputs side by side and drop the concat's copy.
  bool strided_src = false;
  bool strided_dst = false;
  // A channel concatenation: the planner may have its inputs written in place (see above).
  bool joins_channels = false;
  // Floating-point operations of one forward step (multiply-adds count 2); 0: one per output
  // value. What recomputing the layer costs.
  int64_t forward_flops = 0;
};

// Pointers and sizes for one forward or backward step. Tensors are NCHW float32, batch first.
// The spans point at storage the runtime binds once, so building a StepArgs allocates nothing.
struct StepArgs {
  int batch = 0;
  bool training = false;
  std::span<const Shape> in_shape;  // one per input
  Shape out_shape;
  std::span<float* const> src;      // forward inputs (read-only unless in place)
  float* dst = nullptr;
  // Floats from one sample to the next, per input and for the output (and their gradients):
  // the sample's own size, unless the layer declared strided_src / strided_dst.
  std::span<const int64_t> src_stride;
  int64_t dst_stride = 0;
  std::span<float* const> params;   // in the order params() declares them
  std::span<float* const> d_params; // overwritten by backward; nullptr: not needed
  std::span<std::byte* const> saved;
  std::span<std::byte> workspace;
  // Per input: the gradient to write (nullptr: not needed), and whether to add into it
  // (another reader of that value wrote it first) instead of overwriting it. When one value
  // is read through several inputs, an earlier input never adds and a later one always does,
  // so a layer must finish an input's gradient before it adds the next input's.
  std::span<float* const> d_src;
  std::span<const uint8_t> d_src_accumulate;
  float* d_dst = nullptr;
  int64_t tile = 0;
  int algorithm = 0;
  uint64_t seed = 0;  // differs per layer and per training forward (dropout)
  // A forward step run again in the backward phase to recompute values it did not keep: it must
  // give the same outputs and leave no other trace (batch norm leaves its running statistics).
  bool recompute = false;
  ThreadPool* pool = nullptr;
};

// How an output position depends on input positions along one axis, for exact tiling (style
// transfer): output o reads inputs o * stride - pad_before + [0, (kernel - 1) * dilation].
struct AxisWindow {
  int kernel = 1, stride = 1, pad_before = 0, dilation = 1;
};
struct SpatialWindow {
  AxisWindow h, w;
  // false: an output position depends on every input position or on the batch (fc, flatten,
  // softmax, global pooling, batch statistics, random masks), so the layer cannot be tiled.
  bool local = true;
};

class Layer {
 public:
  virtual ~Layer() = default;
  [[nodiscard]] virtual std::string_view op() const = 0;
  [[nodiscard]] virtual Arity arity() const { return {}; }
  // Output shape of one sample; throws ShapeError naming the cause (the caller adds the layer).
  [[nodiscard]] virtual Shape infer_shape(std::span<const Shape> in) const = 0;
  [[nodiscard]] virtual std::vector<ParamSpec> params(std::span<const Shape> /*in*/) const {
    return {};
  }
  [[nodiscard]] virtual LayerNeeds describe(const PlanContext& ctx) const = 0;
  // Position by position unless a layer says otherwise.
  [[nodiscard]] virtual SpatialWindow window() const { return {}; }
  virtual void forward(const StepArgs& args) const = 0;
  virtual void backward(const StepArgs& args) const = 0;
};

// Creates the layer for a spec from layer_list.def; throws ParseError for an unknown op or a
// bad option ("conv: k=0: kernel size must be at least 1").
std::unique_ptr<Layer> make_layer(const LayerSpec& spec);
// Every op keyword in layer_list.def, in order.
std::vector<std::string> layer_ops();

}  // namespace footprint
