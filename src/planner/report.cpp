// Formats a Plan as a table or JSON; decides nothing about the plan itself.
#include "footprint/report.hpp"

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "core/units.hpp"

namespace footprint {
namespace {

std::string bytes_or_dash(int64_t bytes) { return bytes == 0 ? "-" : format_bytes(bytes); }

// A layer's kernel path in the op column, pass by pass ("w+g"): w Winograd, d direct loops,
// dw depthwise loops, g im2col + GEMM; another layer's own names as they are.
std::string path_mark(const std::string& path) {
  std::string mark;
  size_t begin = 0;
  while (begin <= path.size()) {
    const size_t end = std::min(path.find('+', begin), path.size());
    const std::string part = path.substr(begin, end - begin);
    if (!mark.empty()) mark += "+";
    mark += part == "winograd" ? "w" : part == "direct" ? "d" : part == "depthwise" ? "dw"
          : part == "gemm"     ? "g" : part;
    begin = end + 1;
  }
  return mark;
}

}  // namespace

std::string plan_table(const Net& net, const Plan& plan) {
  const PlanOptions& o = plan.options;
  std::string out = std::string("Plan: ") + mode_name(o.mode) + ", batch " +
                    std::to_string(o.batch) +
                    (o.mode == Mode::train ? std::string(", ") + optimizer_name(o.optimizer) : "") +
                    ", " + std::to_string(o.threads) + (o.threads == 1 ? " thread" : " threads") +
                    "\n\n";
  size_t longest = 0;
  for (const LayerReport& r : plan.layer_reports) longest = std::max(longest, r.name.size());
  const size_t name_w = name_column_width(longest, 14);
  out += pad("#", 4, true) + "  " + pad("layer", name_w) + pad("op", 14) + pad("output", 14) +
         pad("params", 10, true) + pad("activations", 13, true) + pad("saved", 11, true) +
         pad("workspace", 11, true) + "\n";
  out += "      " + pad("input", name_w) + pad("", 14) + pad(net.input_shape().str(), 14) +
         pad("-", 10, true) +
         pad(format_bytes(plan.buffers[plan.input_buffer].size_bytes) + " io", 13, true) + "\n";
  for (size_t i = 0; i < plan.layer_reports.size(); ++i) {
    const LayerReport& r = plan.layer_reports[i];
    const std::string activations =
        std::string(r.recomputed ? "r " : "") + (r.saved_bf16 ? "b " : "") +
        (r.in_place          ? std::string("in place")
                                      : r.joined_in_place ? std::string("joined")
                                                          : format_bytes(r.activation_bytes));
    out += pad(std::to_string(i), 4, true) + "  " + name_cell(r.name, name_w) +
           name_cell(r.path.empty() ? r.op : r.op + " " + path_mark(r.path), 14) + name_cell(r.output_shape.str(), 14) +
           pad(r.params ? format_count(r.params) : "-", 10, true) + pad(activations, 13, true) +
           pad(bytes_or_dash(r.saved_bytes), 11, true) +
           pad(bytes_or_dash(r.workspace_bytes), 11, true) + "\n";
  }
  const bool any_path = std::any_of(plan.layer_reports.begin(), plan.layer_reports.end(),
                                    [](const LayerReport& r) { return !r.path.empty(); });
  if (any_path) {
    out += "(conv paths: w Winograd F(4x4, 3x3), d direct loops, dw depthwise loops, g im2col + "
           "GEMM; w+g: forward and data gradient by the first, weight gradient by the second)\n";
  }
  if (!plan.compact_values.empty()) {
    out += "(b: the output is kept for backward in bfloat16, its copy counted as saved)\n";
  }
  out += "\nParameters: " + format_count(plan.params) + " (" + format_bytes(plan.params * 4) +
         " as float32)\n\nBytes by category (every buffer counted once):\n";
  for (int c = 0; c < kNumCategories; ++c) {
    const int64_t bytes = plan.category_bytes[c];
    // Only data-parallel plans have all-reduce scratch and only streamed data a read-ahead
    // ring: other plans keep their report as it was.
    const Category category = static_cast<Category>(c);
    if ((category == Category::allreduce || category == Category::data) && bytes == 0) continue;
    out += "  " + pad(category_name(static_cast<Category>(c)), 18) +
           pad(format_bytes(bytes), 11, true) + pad(format_count(bytes), 16, true) + " B\n";
  }
  out += "\nPersistent block (parameters and their state): " + format_bytes(plan.persistent_bytes) +
         "\nArena (buffers alive at different steps share bytes): " +
         format_bytes(plan.arena_bytes) + "\nTotal allocated by the runtime: " +
         format_bytes(plan.total_bytes) + " (" + format_count(plan.total_bytes) + " B)\n";
  for (const Plan::OutsideLine& line : plan.outside) {
    out += "Outside the plan, at most: " + format_bytes(line.bytes) + " (" + line.what + ")\n";
  }
  // "Peak live" is peak_live_bytes in plan_json: the bytes of the buffers alive at the busiest
  // step. The runtime allocates the total above (peak_bytes / total_bytes), the arena being a
  // little larger than the live bytes at its peak when buffers of different sizes share it.
  out += "Peak live: " + format_bytes(plan.live_bytes[plan.peak_step]) + " (" +
         format_count(plan.live_bytes[plan.peak_step]) + " B) at step " +
         std::to_string(plan.peak_step) + " of " + std::to_string(plan.steps.size()) + " (" +
         plan.step_label(plan.peak_step) + ")\n";
  return out;
}

std::string plan_json(const Net& net, const Plan& plan) {
  using nlohmann::json;
  json categories = json::object();
  for (int c = 0; c < kNumCategories; ++c)
    categories[category_name(static_cast<Category>(c))] = plan.category_bytes[c];
  json layers = json::array();
  for (const LayerReport& r : plan.layer_reports) {
    layers.push_back({{"name", r.name},
                      {"op", r.op},
                      {"output_shape", {r.output_shape.c, r.output_shape.h, r.output_shape.w}},
                      {"params", r.params},
                      {"activation_bytes", r.activation_bytes},
                      {"saved_bytes", r.saved_bytes},
                      {"workspace_bytes", r.workspace_bytes},
                      {"in_place", r.in_place}, {"joined_in_place", r.joined_in_place},
                      {"recomputed", r.recomputed}, {"saved_bf16", r.saved_bf16}});
    if (!r.path.empty()) layers.back()["path"] = r.path;
  }
  const PlanOptions& o = plan.options;
  json doc = {
      {"peak_bytes", plan.total_bytes},
      {"total_bytes", plan.total_bytes},
      {"arena_bytes", plan.arena_bytes},
      {"persistent_bytes", plan.persistent_bytes},
      {"peak_live_bytes", plan.live_bytes[plan.peak_step]},
      {"peak_step", plan.peak_step},
      {"peak_step_label", plan.step_label(plan.peak_step)},
      {"steps", plan.steps.size()},
      {"params", plan.params},
      {"input_shape", {net.input_shape().c, net.input_shape().h, net.input_shape().w}},
      {"categories", categories},
      {"layers", layers},
      {"options",
       {{"batch", o.batch},
        {"mode", mode_name(o.mode)},
        {"optimizer", optimizer_name(o.optimizer)},
        {"threads", o.threads},
        {"reuse", o.reuse},
        {"inplace", o.inplace},
        {"save_all", o.save_all},
        {"conv_tile_bytes", o.conv_tile_bytes},
        {"join_concat", o.join_concat},
        {"memory_budget", o.memory_budget},
        {"saved_dtype", saved_dtype_name(o.saved_dtype)},
        {"update_in_backward", o.update_in_backward}}},
      {"outside_bytes", plan.outside_bytes()},
      {"forward_flops", plan.forward_flops},
      {"recompute_flops", plan.recompute_flops},
  };
  json outside = json::array();
  for (const Plan::OutsideLine& line : plan.outside)
    outside.push_back({{"what", line.what}, {"bytes", line.bytes}});
  doc["outside"] = outside;
  return doc.dump(2);
}

}  // namespace footprint
