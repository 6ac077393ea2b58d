// The memory plan: every buffer one run of a net needs (bytes, category, owner, lifetime), where
// each lives (one arena for what comes and goes, a persistent block for parameters and their
// state), and the figures that explain them. Computed before anything is allocated.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "footprint/net.hpp"

namespace footprint {

enum class Mode { train, infer };
enum class OptimizerKind { sgd, momentum, adam, adamw };
// The type values kept from the forward pass for the backward pass are held in between
// (PlanOptions::saved_dtype).
enum class SavedDtype { f32, bf16 };

enum class Category {
  weights,           // parameters, and non-trained state saved with them (batchnorm running stats)
  weight_grads,      // one gradient per trainable parameter
  optimizer_state,   // momentum, Adam moments
  activations,       // values produced in forward
  saved,             // compact forms kept for backward: max-pool indices, dropout masks, batch stats
  activation_grads,  // gradients of activations
  workspace,         // temporaries of one step (im2col tiles)
  io,                // input and target batches
  data,              // batches read ahead by the data loader (PlanOptions::prefetch_batches)
  allreduce,         // what sums over data-parallel ranks receive into (PlanOptions::ranks > 1)
};
inline constexpr int kNumCategories = 10;
const char* category_name(Category category);

// PlanOptions::conv_tile_bytes meaning "size each conv's im2col tile by its layer" (the
// default): enough columns for its GEMM to amortise reading the weights, within 1 to 16 MiB and
// at most a quarter of the layer's whole column matrix (src/layers/conv_tile.hpp has the rule).
inline constexpr int64_t kAutoConvTile = -1;

struct PlanOptions {
  int batch = 1;
  Mode mode = Mode::train;
  OptimizerKind optimizer = OptimizerKind::sgd;
  int threads = 1;
  bool reuse = true;         // false: every arena buffer gets bytes of its own (to show the saving)
  bool inplace = true;       // activations and dropout overwrite their input where exact
  bool input_grad = false;   // also compute the gradient with respect to the net input
  // Keep every layer's input and output until its backward, as a naive framework does, instead
  // of only what each backward reads (shows what saving only that saves).
  bool save_all = false;
  // Budget for one conv's im2col tile: kAutoConvTile (the default) sizes it per layer, a
  // positive value is a fixed budget, 0 builds the whole layer's column matrix.
  int64_t conv_tile_bytes = -1;
  // A pooling layer after an activation that keeps its output (conv, tanh, avgpool): the pool's
  // backward and the activation's run together a few planes at a time, so the activation's
  // output gradient never exists whole, and its input gradient is written over its output,
  // which nothing needs any more. The same arithmetic, in less memory.
  bool fuse_pool_backward = true;
  // Concat layers whose inputs can be written straight into their channel ranges of the output
  // compute nothing (src/planner/channel_groups.hpp); false gives every concat its copy.
  bool join_concat = true;
  // 3x3 stride-1 convolutions with few channels run direct loops that need no im2col tile
  // (src/kernels/conv/conv_direct.hpp); false sends every conv through im2col + GEMM (shows the
  // saving; also a way to compare the two).
  bool direct_conv = true;
  // 3x3 stride-1 convolutions where Winograd F(4x4, 3x3) pays (src/layers/conv2d.cpp,
  // winograd_pays: enough channels for the image's width, at least 64 4x4 tiles) run their
  // forward pass and data gradient by it (src/kernels/conv/conv_winograd.hpp): 4x fewer
  // multiplies, within the bytes the layer's GEMM tile would take (output channels in groups
  // where the transformed filters would not fit), so it never grows a plan. There it was the
  // fastest path on every shape measured (bench/winograd.sh, docs/design.md); false keeps
  // im2col + GEMM and the direct loops.
  bool winograd_conv = true;
  // Bytes the plan may take (arena + persistent); 0: no limit. When the plain plan is larger,
  // the planner recomputes some forward values in the backward phase instead of keeping them
  // (src/planner/recompute.hpp), choosing what costs the fewest extra FLOPs, or throws
  // PlanError naming the smallest budget it can meet. Train mode only.
  int64_t memory_budget = 0;
  // bf16: every value a backward step reads is held in bfloat16 from its forward step to the
  // backward phase, at half the bytes. A compress step right after the step that computes it
  // writes the bfloat16 copy, and the float32 value's bytes are free once its forward readers
  // have run; an expand step just before the first backward step that reads it writes it back
  // to float32 in a buffer of its own, which its backward readers then read. Not exact: those
  // backward steps see the value rounded to 8 bits of mantissa (relative error up to 2^-9);
  // the forward pass, the loss and what is not kept are unchanged. Values the caller reads
  // (outputs, taps) and the channel ranges of joined concats stay float32. Train mode only.
  // With memory_budget, the budget is met on the bfloat16 plan: the checkpoints recomputation
  // starts from wait in bfloat16 too (recomputed values are then computed from rounded inputs,
  // and so differ a little from the forward pass's).
  SavedDtype saved_dtype = SavedDtype::f32;
  // Each layer's optimizer update runs right after its backward step (a step of its own),
  // instead of one update of every parameter after the backward pass, so a weight gradient
  // lives in the arena from the step that writes it to its layer's update instead of in the
  // persistent block for the whole run: the plan holds the gradients of a few layers at a time,
  // not of all (as LOMO does for large language models). The same arithmetic on the same
  // values, so the same bits: a layer's update reads only its own parameters, gradients and
  // optimizer state, and no step reads a layer's parameters after its backward step. The
  // runtime then takes the optimizer's parameters before the backward pass
  // (Runtime::prepare_update) instead of after it. One process (ranks 1: data-parallel plans
  // sum whole gradient buckets over the ranks before any update); train mode only.
  bool update_in_backward = false;
  // false: parameters are constants (no gradients, no optimizer state), and backward computes
  // only activation gradients, e.g. the input gradient of a frozen feature net.
  bool train_params = true;
  // Feature taps (train mode): values (0 = input, i + 1 = layer i's output) whose gradients the
  // caller writes at the loss step (Runtime::backward_from_taps) instead of a loss layer, e.g.
  // the style and content layers of style transfer. Each tapped value stays readable from its
  // forward step until the loss step. With taps, only they start the backward pass.
  std::vector<int> taps{};
  // Batches a BatchLoader (batch_loader.hpp) reads ahead of the step, each with its input,
  // target and labels: a ring of slots in the persistent block, so reading data from disk
  // while the step runs costs bytes the plan shows. 0: the data is read into the input
  // between steps (in-memory data sets).
  int prefetch_batches = 0;
  // Data-parallel training over this many processes (communicator.hpp, train.hpp): the plan is
  // one rank's, with `batch` its share of the global batch. The weight gradients then lie one
  // after another at the start of the persistent block, in the order the backward pass finishes
  // them, cut at layer boundaries into buckets of at least gradient_bucket_bytes; each bucket
  // is summed over the ranks in place, started as soon as its last gradient is written. Each
  // bucket has a scratch buffer of its own (category allreduce, 1/ranks of the bucket) that the
  // other ranks' parts arrive in. Non-trained state (batch-norm running statistics) follows the
  // gradients, averaged over the ranks every step. 1: one process, no layout asked for.
  int ranks = 1;
  int64_t gradient_bucket_bytes = int64_t{1} << 20;
  // With ranks > 1: batch norm normalises with the statistics of the whole global batch, summed
  // over the ranks inside its forward and backward steps (as PyTorch's SyncBatchNorm), so the
  // ranks train what one process would; false: each rank's own share, as DDP does by default.
  bool sync_batch_norm = false;
};

// compress and expand: a value kept in bfloat16 (PlanOptions::saved_dtype) converted to it
// after its forward step, and back to float32 before its first backward reader.
enum class StepKind { forward, loss, backward, update, compress, expand };

struct Step {
  StepKind kind;
  // -1 for loss and for the update of every parameter; an update step of one layer
  // (PlanOptions::update_in_backward): that layer; compress and expand: the layer that
  // computes the value.
  int layer;
  // Which bindings the step runs with: -1, the layer's (Plan::layers); else an index into
  // Plan::recompute_bindings (a recomputed layer's recompute and backward steps, or the
  // backward step of a layer that reads expanded or recomputed values).
  int binding = -1;
  bool recompute = false;  // a forward step run again in the backward phase
  int compact = -1;        // compress and expand: index into Plan::compact_values
};

// A value held in bfloat16 between the forward and backward phases (PlanOptions::saved_dtype).
struct CompactValue {
  int value = 0;             // 1 + the layer that computes it
  int float_buffer = -1;     // where its forward step wrote it (offset 0, one sample after another)
  int bf16_buffer = -1;      // category saved: 2 bytes per value
  int expanded_buffer = -1;  // category activations: float32 again, for its backward readers
  int64_t sample_values = 0; // values per sample
  int compress_step = -1, expand_step = -1;
};

// A range of weight gradients summed over the ranks as one message (PlanOptions::ranks > 1).
struct GradientBucket {
  int64_t offset_bytes = 0;  // in the persistent block
  int64_t size_bytes = 0;    // its gradients, with the alignment between them
  int ready_step = 0;        // the backward step that writes its last gradient
  int first_layer = 0;       // the layers whose gradients it holds, in backward order:
  int last_layer = 0;        // first_layer's backward step runs first
  std::vector<int> buffers{};  // its weight_grads buffers, in the block's order
  int scratch_buffer = -1;     // (category allreduce) the other ranks' parts arrive here
};

inline constexpr int kNoLayer = -1;
inline constexpr int kNoBuffer = -1;

struct Buffer {
  std::string name;        // "conv1.out", "conv1.weight.grad", "conv1.im2col", ...
  Category category;
  int64_t size_bytes = 0;  // rounded up to kAlignBytes
  int64_t data_bytes = 0;  // what was asked for, before rounding
  int owner_layer = kNoLayer;
  int first_step = 0;      // lifetime [first_step, last_step] in plan order, inclusive
  int last_step = 0;
  bool persistent = false;  // in the persistent block, alive for the whole run
  int64_t offset_bytes = 0; // in the arena, or in the persistent block when persistent
};

// Which buffers a layer's steps read and write (indices into Plan::buffers, or kNoBuffer).
struct LayerBuffers {
  std::vector<int> src;          // forward inputs
  int dst = kNoBuffer;           // forward output (may be the same buffer as src[0]: in place)
  std::vector<int> params;       // weights (and non-trained state), in the layer's order
  std::vector<int> param_grads;  // kNoBuffer for non-trainable ones; empty in inference
  std::vector<std::vector<int>> optimizer_state;  // per param: 0, 1 or 2 buffers
  std::vector<int> saved;        // compact saved buffers, in the layer's order
  int workspace = kNoBuffer;           // the forward step's temporary (im2col tile)
  int backward_workspace = kNoBuffer;  // the backward step's temporary
  std::vector<int> d_src;        // per input: gradient to write, kNoBuffer when not needed
  std::vector<bool> d_src_accumulate;  // add into d_src (another consumer wrote it first)
  int d_dst = kNoBuffer;
  bool in_place = false;
  // The layer's own choices (LayerNeeds::tile and ::algorithm), kept so the runtime hands them
  // back in StepArgs: conv's im2col tile in output rows and its kernel paths, say. Their meaning
  // is private to each layer and may change between versions; do not rely on them.
  int64_t tile = 0;
  int algorithm = 0;
  int forward_step = -1;
  int backward_step = -1;        // -1 when the layer needs no backward
  // Where each tensor sits in its buffer: a byte offset, and floats from one sample to the next
  // (the sample's size, unless it is a channel range of a concat joined in place). A gradient
  // sits in its buffer as its value does.
  std::vector<int64_t> src_offset_bytes, src_stride;  // per input
  int64_t dst_offset_bytes = 0, dst_stride = 0;
  bool backward_reads_src = false;  // the backward step reads the forward inputs
  bool backward_reads_dst = false;  // the backward step reads the forward output
  bool joined_in_place = false;  // a concat whose inputs were written into its output: no work
  std::vector<int> zero_before_backward;  // gradient buffers cleared before the backward step
  // Pooling through an activation (see PlanOptions::fuse_pool_backward): on the pool, the
  // activation layer whose backward it runs too, plane by plane, writing the activation's input
  // gradient over the activation's output (d_src[0]); on the activation, that its backward step
  // has nothing left to do.
  int fused_activation = -1;
  bool backward_fused = false;
};

struct LayerReport {
  std::string name;
  std::string op;
  Shape output_shape;
  int64_t params = 0;             // trainable parameters
  int64_t activation_bytes = 0;   // its output buffer; 0 when it runs in place
  int64_t saved_bytes = 0;        // compact saved buffers
  int64_t workspace_bytes = 0;
  bool in_place = false;
  bool joined_in_place = false;   // a concat whose inputs are written straight into its output
  int64_t forward_flops = 0;      // of its forward step (estimated)
  bool recomputed = false;        // its forward step runs again in the backward phase
  bool saved_bf16 = false;        // its output is kept for backward in bfloat16
  std::string path;               // LayerNeeds::path: the kernel path its layer chose
};

struct Plan {
  PlanOptions options;
  uint64_t net_fingerprint = 0;  // Net::fingerprint() of the net planned; runtimes check it
  std::vector<Step> steps;
  // Index of the loss step in train mode (forward steps come before it; backward steps, and
  // any forward step a later plan repeats for them, after it); -1 in inference.
  int loss_step = -1;
  std::vector<Buffer> buffers;
  std::vector<LayerBuffers> layers;
  // Per recomputed layer: the bindings of its recompute step and its backward step (they read
  // the recomputed values); its gradients are the layer's own.
  std::vector<LayerBuffers> recompute_bindings;
  std::vector<CompactValue> compact_values;  // options.saved_dtype bf16, in forward order
  std::vector<LayerReport> layer_reports;
  int input_buffer = kNoBuffer;
  int target_buffer = kNoBuffer;
  std::vector<int> output_buffers;     // per net output (Net::outputs()), in its order
  int output_buffer = kNoBuffer;       // the first output's (the one the loss reads)
  int output_grad_buffer = kNoBuffer;  // written by the loss step
  int input_grad_buffer = kNoBuffer;   // only with options.input_grad
  std::vector<int> tap_value_buffers;  // per options.taps entry: its value's buffer
  std::vector<int> tap_grad_buffers;   // per options.taps entry: its gradient's buffer
  // The data ring (options.prefetch_batches slots, one after another, data_slot_bytes each):
  // a slot holds a batch's input, then its target (as the target buffer), then int32 labels,
  // each part starting on a kAlignBytes boundary.
  int data_ring_buffer = kNoBuffer;
  int64_t data_slot_bytes = 0;
  // Data-parallel plans (options.ranks > 1): the gradient buckets in the order they are summed,
  // and the non-trained state averaged over the ranks every step (a range of the persistent
  // block; 0 bytes when the net has none).
  std::vector<GradientBucket> gradient_buckets;
  int64_t synced_state_offset_bytes = 0;
  int64_t synced_state_bytes = 0;
  int synced_state_scratch_buffer = kNoBuffer;
  // Layers that sum over the ranks within a step (LayerNeeds::rank_sum_doubles, e.g. batch norm
  // with options.sync_batch_norm): their values (doubles) and the ring's scratch, persistent,
  // category allreduce.
  int rank_sums_buffer = kNoBuffer;
  int rank_sums_scratch_buffer = kNoBuffer;

  int64_t arena_bytes = 0;
  int64_t persistent_bytes = 0;
  int64_t total_bytes = 0;              // arena + persistent: all the runtime ever allocates
  std::vector<int64_t> live_bytes;      // per step: bytes of buffers alive (persistent included)
  int peak_step = 0;
  std::array<int64_t, kNumCategories> category_bytes{};  // sum of buffer sizes per category
  int64_t params = 0;                   // trainable parameters
  // What running the plan adds to the process besides its own two allocations, as bounds with
  // a name each (the plan's promise is to the whole process: docs/design.md, "The promise").
  struct OutsideLine {
    std::string what;
    int64_t bytes = 0;
  };
  std::vector<OutsideLine> outside;
  [[nodiscard]] int64_t outside_bytes() const {
    int64_t sum = 0;
    for (const OutsideLine& line : outside) sum += line.bytes;
    return sum;
  }
  int64_t forward_flops = 0;            // one forward pass (estimated: multiply-adds count 2)
  int64_t recompute_flops = 0;          // forward work done again in the backward phase

  [[nodiscard]] std::string step_label(int step) const;  // "conv3 backward"
  [[nodiscard]] int64_t bytes(Category c) const { return category_bytes[static_cast<int>(c)]; }
};

inline constexpr int64_t kAlignBytes = 64;

// What each worker thread may add to the process while steps run, outside the plan: its stack,
// its share of the C library's allocator state, and OpenBLAS's packing buffers for the GEMMs it
// runs. A bound, measured: `footprint train NET --data synthetic --steps 3 --report R` writes
// rss_growth_bytes; on the reference nets at 1 and 2 threads the growth past the plan was 0.65
// to 1.94 MiB (tests/cli/rss_test.cpp checks every case against this bound plus 2 MiB).
inline constexpr int64_t kOutsideBytesPerThread = int64_t{1} << 20;

// Pure function of the net and the options: the same inputs give the same plan, byte for byte.
[[nodiscard]] Plan plan(const Net& net, const PlanOptions& options);

const char* mode_name(Mode mode);
const char* optimizer_name(OptimizerKind kind);
const char* saved_dtype_name(SavedDtype dtype);  // "f32", "bf16"
// Number of optimizer state buffers per trainable parameter.
int optimizer_state_count(OptimizerKind kind);

}  // namespace footprint
