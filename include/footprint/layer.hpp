// The interface every layer implements, in the order the pipeline uses it:
//   constructor (validate options) -> infer_shape -> params / describe (what to plan) ->
//   forward / backward (run on pointers the runtime binds; never allocate).
// The library's own layers implement it (src/layers/, listed in layer_list.def), and so can a
// user's: register_layer() below makes a layer of your own known to parse_net, layer("op") and
// everything after them. How to split a step's work over the threads is parallel_for() below.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "footprint/net.hpp"
#include "footprint/plan.hpp"

namespace footprint {

class ThreadPool;  // the runtime's workers (internal): split work with parallel_for() below

// How many values a layer reads: most read one, joins (add, concat, mul) two or more.
struct Arity {
  int min = 1;
  int max = 1;  // kAnyNumber: no upper bound
};
inline constexpr int kAnyNumber = 1 << 20;

enum class ParamInit { fan_in_uniform, ones, zeros };

struct ParamSpec {
  std::string name{};  // suffix: "weight", "bias", "running_mean", ...
  int64_t n_elems = 0;
  bool trainable = true;
  ParamInit init = ParamInit::fan_in_uniform;
  int64_t fan_in = 1;  // for fan_in_uniform: bound 1/sqrt(fan_in)
};

struct SavedSpec {
  std::string name{};  // suffix: "argmax", "mask", ...
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
  bool winograd_conv = true;   // PlanOptions::winograd_conv
  // Data-parallel training with PlanOptions::sync_batch_norm: batch statistics over the global
  // batch (StepArgs::rank_sums), not each rank's share.
  bool sync_batch_norm = false;
};

struct LayerNeeds {
  bool saves_input = false;       // backward reads the forward inputs
  bool saves_output = false;      // backward reads the forward output
  bool may_run_in_place = false;  // forward handles dst == src[0], backward d_src[0] == d_dst
  // Backward's gradient for every input is d_dst itself (add), so when the layer runs in place
  // the later inputs' gradients may share d_dst's bytes too; otherwise only the first's does.
  bool gradient_passes_through = false;
  std::vector<SavedSpec> saved{}; // compact values kept for backward (train mode only)
  int64_t workspace_bytes = 0;    // temporary bytes for one forward or backward step
  int64_t tile = 0;               // handed back in StepArgs::tile
  // The kernel path chosen, for reports only (the plan table and JSON): conv says "winograd",
  // "direct" or "gemm", or one per pass ("winograd+gemm": forward and data gradient by
  // Winograd, weight gradient by GEMM). Empty: nothing to say.
  std::string path{};
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
  // Each output plane (one channel of one sample) depends on its input plane alone, and each
  // saved buffer holds the same bytes per plane: the layer can run on any run of planes, given
  // as a batch of one whose channels are those planes (pooling).
  bool plane_wise = false;
  // An element-wise layer whose backward is d_src = d_dst * f'(dst): it may run on any run of
  // elements, and d_src may be dst itself (activations with the derivative from the output).
  bool elementwise_from_output = false;
  // Doubles the layer sums over the data-parallel ranks in one call (StepArgs::rank_sums), at
  // most; 0: none. The plan holds a buffer of the largest (category allreduce).
  int64_t rank_sum_doubles = 0;
};

// Sums over the ranks of a data-parallel step, for a layer whose step needs the whole global
// batch (batch norm with synchronised statistics). The layer writes its share into values(),
// then sum(n) adds the first n over the ranks in place: every rank gets the same bits. Called on
// the thread running the step, between its parallel loops; every rank runs the same steps, so
// the calls match. Allocates nothing.
class RankStepSums {
 public:
  virtual ~RankStepSums() = default;
  [[nodiscard]] virtual std::span<double> values() = 0;  // LayerNeeds::rank_sum_doubles at least
  virtual void sum(int64_t n) = 0;
};

// Pointers and sizes for one forward or backward step. Tensors are NCHW float32, batch first.
// The spans point at storage the runtime binds once, so building a StepArgs allocates nothing.
// Work the runtime fuses into a convolution's inference step (Runtime::set_epilogue_fusion): the
// batch norm and activation after it, applied in place to output values of one channel. The
// convolution calls it on each piece of output right after writing it, while it is in cache.
class ChannelEpilogue {
 public:
  virtual ~ChannelEpilogue() = default;
  virtual void apply(int64_t channel, float* x, int64_t n) const = 0;
};

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
  // Where this batch's first sample stands in the global batch of a data-parallel step (0 in
  // one process): layers that draw random numbers per sample (dropout) count samples from it,
  // so what a sample draws does not depend on how many ranks share the batch.
  int64_t first_sample = 0;
  // A forward step run again in the backward phase to recompute values it did not keep: it must
  // give the same outputs and leave no other trace (batch norm leaves its running statistics).
  bool recompute = false;
  ThreadPool* pool = nullptr;
  // Set in data-parallel training when the layer declared rank_sum_doubles; nullptr otherwise.
  RankStepSums* rank_sums = nullptr;
  // Inference: applied by the layer (a conv) to every output value after computing it; nullptr:
  // none. Only layers with op() "conv" are given one.
  const ChannelEpilogue* epilogue = nullptr;
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

  // For fusing an inference step into the one before it (the runtime runs a convolution's
  // batch norm and activation on each output plane right after the convolution, while it is in
  // cache). Each must compute exactly what forward does, so results keep their bits.
  // An element-wise function of one input with no parameters: applies it to x[0, n) in place
  // and returns true; false (touching nothing) for any other layer.
  [[nodiscard]] virtual bool apply_in_place(float* /*x*/, int64_t /*n*/) const { return false; }
  // A per-channel y = x * scale + shift in inference: sets channel c's two numbers from the
  // layer's parameters and returns true; false for any other layer.
  [[nodiscard]] virtual bool channel_affine(const float* const* /*params*/, int64_t /*c*/,
                                            float& /*scale*/, float& /*shift*/) const {
    return false;
  }
};

// Splits [0, n) into at most one contiguous chunk per thread of `pool` (StepArgs::pool) and
// calls fn(begin, end, chunk) for each, returning when all are done. `chunk` is below
// PlanContext::threads and unique among the calls running at once, so it may pick a slice of the
// workspace (plan threads slices of it in describe()). Work smaller than two `min_grain` runs on
// the calling thread alone. The split depends only on n, min_grain and the thread count, so
// results are the same from run to run. A null pool runs fn(0, n, 0). Allocates nothing.
// fn: void(int64_t begin, int64_t end, int chunk).
template <typename Fn>
void parallel_for(ThreadPool* pool, int64_t n, Fn&& fn, int64_t min_grain = 1);

// Makes a layer of the user's own known by its .net keyword: parse_net, layer("keyword", ...),
// Net::add and so plan, Runtime, model files and the gradient checker. The factory gets the
// whole spec (spec.arg: the positional argument, spec.attrs: the key=value options), validates
// it and throws ParseError for a bad option ("square: unknown option 'k'"). Register before
// building the nets that use it, once per process; it is a call, not a static initialiser, so
// that linking from a static library cannot drop it.
// Throws Error when the keyword is taken (by a built-in layer, "input", "output", "loss", or an
// earlier registration) or is not a letter followed by letters, digits, '_', '-' or '.'.
using LayerFactory = std::function<std::unique_ptr<Layer>(const LayerSpec& spec)>;
void register_layer(const std::string& keyword, LayerFactory factory);

// Creates the layer for a spec, built-in (layer_list.def) or registered; throws ParseError for
// an unknown op, listing every op, or a bad option ("conv: k=0: kernel size must be at least 1").
std::unique_ptr<Layer> make_layer(const LayerSpec& spec);
// Every op keyword: layer_list.def's in order, then the registered ones in registration order.
std::vector<std::string> layer_ops();

// ---- implementation of the template above ----
using ParallelChunkFn = void (*)(void* context, int64_t begin, int64_t end, int chunk);
void parallel_for_chunks(ThreadPool* pool, int64_t n, int64_t min_grain, ParallelChunkFn call,
                         void* context);

template <typename Fn>
void parallel_for(ThreadPool* pool, int64_t n, Fn&& fn, int64_t min_grain) {
  using Callable = std::remove_reference_t<Fn>;
  parallel_for_chunks(
      pool, n, min_grain,
      [](void* context, int64_t begin, int64_t end, int chunk) {
        (*static_cast<Callable*>(context))(begin, end, chunk);
      },
      const_cast<void*>(static_cast<const void*>(std::addressof(fn))));
}

}  // namespace footprint
