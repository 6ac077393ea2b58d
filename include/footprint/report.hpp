// A Plan explained for people (a table) and for programs (JSON). The library prints nothing;
// callers decide where these go.
#pragma once

#include <string>

#include "footprint/net.hpp"
#include "footprint/plan.hpp"

namespace footprint {

// Per-layer table, bytes per category, arena and persistent block, the peak and its step.
[[nodiscard]] std::string plan_table(const Net& net, const Plan& plan);

// One JSON object: peak_bytes, total_bytes, arena_bytes, persistent_bytes, params, peak_step,
// peak_step_label, categories {name: bytes}, layers [{name, op, output_shape, params,
// activation_bytes, saved_bytes, workspace_bytes, in_place}], options.
[[nodiscard]] std::string plan_json(const Net& net, const Plan& plan);

// An SVG picture of one step: bytes live per step stacked by category with the peak marked, and
// the arena map (each buffer a box from its first to its last step, at its offset).
[[nodiscard]] std::string plan_svg(const Net& net, const Plan& plan);

}  // namespace footprint
