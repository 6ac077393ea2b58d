// The waterfall from a naive layout to the plan: each technique switched on in turn, with the
// bytes it saves, measured by planning the net again with and without it.
#include <algorithm>
#include <cstdio>
#include <set>

#include "core/units.hpp"
#include "footprint/explain.hpp"

namespace footprint {
Explanation explain_plan(const Net& net, const PlanOptions& options) {
  PlanOptions o = options;
  o.memory_budget = 0;  // recomputation is the last line, when there is a budget
  o.reuse = false;
  o.inplace = false;
  o.save_all = options.mode == Mode::train;
  o.conv_tile_bytes = 0;
  o.direct_conv = false;
  o.join_concat = false;
  o.fuse_pool_backward = false;
  o.winograd_conv = false;
  o.saved_dtype = SavedDtype::f32;
  o.update_in_backward = false;
  const Plan separate = plan(net, o);
  // A naive framework gives each worker thread its own copy of every layer buffer and of the
  // weight gradients (tiny-dnn does); parameters and optimizer state stay shared.
  const int64_t per_thread = separate.arena_bytes + separate.bytes(Category::weight_grads);
  Explanation e;
  e.naive_bytes = separate.total_bytes + (options.threads - 1) * per_thread;
  int64_t before = e.naive_bytes;
  auto add_step = [&](std::string technique, std::string detail, int64_t total) {
    e.steps.push_back({std::move(technique), std::move(detail), before - total, total});
    before = total;
  };
  add_step("threads share one set of buffers",
           "each GEMM and im2col is split over " + std::to_string(options.threads) +
               " threads; no buffer is copied per thread",
           separate.total_bytes);
  if (options.conv_tile_bytes != 0) {
    o.conv_tile_bytes = options.conv_tile_bytes;
    const std::string size = options.conv_tile_bytes == kAutoConvTile
                                 ? "in tiles of 16 positions per output channel (1 to 16 MiB, at most a quarter of the whole)"
                                 : format_bytes(options.conv_tile_bytes) + " at a time";
    add_step("im2col in tiles of output rows",
             "each conv's column matrix is built " + size + " instead of whole",
             plan(net, o).total_bytes);
  }
  if (options.direct_conv) {
    o.direct_conv = true;
    add_step("direct 3x3 conv, few channels",
             "3x3 stride-1 convs with few channels run direct loops: no im2col at all",
             plan(net, o).total_bytes);
  }
  // Lifetimes only pay once buffers share bytes, so sharing comes before the techniques that
  // shorten lifetimes.
  if (options.reuse) {
    o.reuse = true;
    add_step("lifetime sharing in one arena",
             "buffers alive at different steps share bytes (greedy by size)", plan(net, o).total_bytes);
  }
  if (o.save_all && !options.save_all) {
    o.save_all = false;
    add_step("save only what backward reads",
             "pooling and add keep nothing, max-pool one byte per output, activations their output",
             plan(net, o).total_bytes);
  }
  if (options.inplace) {
    o.inplace = true;
    add_step("in place", "activations and dropout overwrite their input when nothing else reads it",
             plan(net, o).total_bytes);
  }
  if (options.fuse_pool_backward && options.mode == Mode::train) {
    o.fuse_pool_backward = true;
    const Plan fused = plan(net, o);
    const bool any = std::any_of(fused.layers.begin(), fused.layers.end(),
                                 [](const LayerBuffers& lb) { return lb.fused_activation >= 0; });
    if (any) {
      add_step("pool backward through activation",
               "a pool's backward runs its activation's too, a few planes at a time: the "
               "activation's output gradient never exists whole, its input gradient goes over "
               "its output",
               fused.total_bytes);
    }
  }
  if (options.join_concat) {
    o.join_concat = true;
    const Plan joined = plan(net, o);
    const bool any = std::any_of(joined.layers.begin(), joined.layers.end(),
                                 [](const LayerBuffers& lb) { return lb.joined_in_place; });
    if (any) {
      add_step("concat inputs written in place",
               "a concat's inputs are written straight into their channel ranges of its output "
               "(growing concats share one buffer): no copy, no second buffer",
               joined.total_bytes);
    }
  }
  if (options.winograd_conv) {
    // A speed technique held within each layer's GEMM tile: where it replaces the GEMM
    // altogether (inference) its smaller workspace may save bytes, never cost them.
    o.winograd_conv = true;
    const int64_t total = plan(net, o).total_bytes;
    if (total != before) {
      add_step("Winograd for wide 3x3 convs",
               "F(4x4, 3x3): 4x fewer multiplies, its transformed filters and tiles within "
               "the bytes of the GEMM tile it replaces",
               total);
    }
  }
  if (options.saved_dtype == SavedDtype::bf16 && options.mode == Mode::train) {
    o.saved_dtype = SavedDtype::bf16;
    const Plan compact = plan(net, o);
    add_step("saved values in bf16",
             std::to_string(compact.compact_values.size()) +
                 " values kept for backward are held in bfloat16 between the passes, expanded "
                 "to float32 just before their backward readers (not exact: 8 bits of mantissa)",
             compact.total_bytes);
  }
  if (options.update_in_backward && options.mode == Mode::train) {
    o.update_in_backward = true;
    add_step("updates in backward",
             "each layer's update runs right after its backward step: its weight gradients "
             "live from one to the other, not for the whole step",
             plan(net, o).total_bytes);
  }
  const Plan final_plan = plan(net, options);
  if (final_plan.recompute_flops > 0) {
    const double share = 100.0 * static_cast<double>(final_plan.recompute_flops) /
                         static_cast<double>(std::max<int64_t>(1, final_plan.forward_flops));
    char detail[200];
    std::snprintf(detail, sizeof detail,
                  "under the %s budget, %d layers run forward again in the backward pass instead "
                  "of keeping what their backward reads: %.3g GFLOP more, %.0f%% of a forward pass",
                  format_bytes(options.memory_budget).c_str(),
                  static_cast<int>(std::count_if(final_plan.layer_reports.begin(),
                                                 final_plan.layer_reports.end(),
                                                 [](const LayerReport& r) { return r.recomputed; })),
                  1e-9 * static_cast<double>(final_plan.recompute_flops), share);
    add_step("recompute", detail, final_plan.total_bytes);
  }
  e.plan_bytes = final_plan.total_bytes;
  e.floor = plan_floor(net, options);

  // What the bytes hold. Pre-pool volumes: the buffers pooling layers read.
  std::set<int> pre_pool;
  for (size_t i = 0; i < final_plan.layers.size(); ++i) {
    const std::string& op = final_plan.layer_reports[i].op;
    if (op == "maxpool" || op == "avgpool") pre_pool.insert(final_plan.layers[i].src[0]);
  }
  int64_t pre_pool_bytes = 0;
  for (int b : pre_pool) pre_pool_bytes += final_plan.buffers[b].size_bytes;
  const auto& c = final_plan.category_bytes;
  auto bytes = [&](Category k) { return c[static_cast<int>(k)]; };
  e.components = {
      {"parameters", bytes(Category::weights)},
      {"weight gradients", bytes(Category::weight_grads)},
      {"optimizer state", bytes(Category::optimizer_state)},
      {"activations", bytes(Category::activations)},
      {"  of which pre-pool volumes", pre_pool_bytes},
      {"compact saved values", bytes(Category::saved)},
      {"activation gradients", bytes(Category::activation_grads)},
      {"workspace (im2col tiles)", bytes(Category::workspace)},
      {"input and target", bytes(Category::io)},
  };
  if (bytes(Category::data) > 0) e.components.push_back({"data read ahead", bytes(Category::data)});
  if (bytes(Category::allreduce) > 0)
    e.components.push_back({"all-reduce scratch (ranks' parts)", bytes(Category::allreduce)});
  return e;
}

std::string explanation_text(const Explanation& e) {
  std::string out = "From a naive layout to this plan:\n";
  out += "  " + pad("naive layout", 36) + pad("", 12) + pad(format_bytes(e.naive_bytes), 12, true) +
         "  every tensor its own buffer, a full im2col per conv, buffers copied per thread\n";
  for (const ExplainStep& s : e.steps) {
    std::string change(s.bytes_saved >= 0 ? "-" : "+");
    change += format_bytes(s.bytes_saved >= 0 ? s.bytes_saved : -s.bytes_saved);
    out += "  " + std::string(s.bytes_saved >= 0 ? "- " : "+ ") + pad(s.technique, 34) +
           pad(change, 12, true) +
           pad(format_bytes(s.total_after), 12, true) + "  " + s.detail + "\n";
  }
  out += "  = " + pad("this plan", 34) + pad("", 12) + pad(format_bytes(e.plan_bytes), 12, true) + "\n";
  const double over = e.floor.bytes > 0
                          ? 100.0 * static_cast<double>(e.plan_bytes - e.floor.bytes) /
                                static_cast<double>(e.floor.bytes)
                          : 0.0;
  char line[256];
  if (over >= 0) {
    std::snprintf(line, sizeof line, "    %-34s%12s%12s  at step %d (%s); the plan is %.1f%% above it\n",
                  "floor", "", format_bytes(e.floor.bytes).c_str(), e.floor.step,
                  e.floor.step_label.c_str(), over);
  } else {
    std::snprintf(line, sizeof line,
                  "    %-34s%12s%12s  at step %d (%s), keeping everything; recomputing, the plan "
                  "is %.1f%% below it\n",
                  "floor", "", format_bytes(e.floor.bytes).c_str(), e.floor.step,
                  e.floor.step_label.c_str(), -over);
  }
  out += line;
  out += "\nWhat the plan's bytes hold (every buffer counted once, whatever its lifetime):\n";
  for (const auto& [name, value] : e.components) {
    out += "  " + pad(name, 36) + pad(format_bytes(value), 12, true) + "\n";
  }
  return out;
}

}  // namespace footprint
