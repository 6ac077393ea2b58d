// What a plan's bytes are for, what each memory technique saves against a naive layout, the
// floor the mathematics needs, and the largest batch or input that fits a budget.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "footprint/net.hpp"
#include "footprint/plan.hpp"

namespace footprint {

// The floor: at the step where it is largest, the bytes that must exist for the computation
// without recomputation: parameters (with gradients and optimizer state when training), the
// values later backward steps read, at their compact sizes, and the gradients alive at that
// step. Workspace and fragmentation are not in it: they are the overhead a plan must justify.
struct Floor {
  int64_t bytes = 0;
  int step = 0;
  std::string step_label;
};
[[nodiscard]] Floor plan_floor(const Net& net, const PlanOptions& options);

// One line of the waterfall from a naive layout down to the plan.
struct ExplainStep {
  std::string technique;     // "lifetime sharing in one arena"
  std::string detail;        // what it changes
  int64_t bytes_saved = 0;   // against the line before
  int64_t total_after = 0;   // plan total once this technique is on
};

struct Explanation {
  int64_t naive_bytes = 0;   // every tensor its own buffer, full im2col, per-thread copies
  std::vector<ExplainStep> steps;
  int64_t plan_bytes = 0;
  Floor floor;
  // Where the plan's bytes are, by what they hold (pre-pool volumes named on their own).
  std::vector<std::pair<std::string, int64_t>> components;
};
[[nodiscard]] Explanation explain_plan(const Net& net, const PlanOptions& options);
[[nodiscard]] std::string explanation_text(const Explanation& e);

// The net with its input's height and width replaced. Throws ShapeError, naming the layer,
// when a layer cannot take that size.
[[nodiscard]] Net with_input_size(const Net& net, int64_t height, int64_t width);

// Largest batch (>= 1) whose plan fits in budget_bytes; nullopt when not even batch 1 fits.
[[nodiscard]] std::optional<int> fit_batch(const Net& net, const PlanOptions& options,
                                           int64_t budget_bytes);

// The largest batch that fits when the planner may recompute (train mode): the batch, and the
// forward work recomputed as a share of one forward pass (0.23: 23% more).
struct BatchFit {
  int batch = 0;
  double extra_compute = 0.0;
};
[[nodiscard]] std::optional<BatchFit> fit_batch_recomputing(const Net& net,
                                                            const PlanOptions& options,
                                                            int64_t budget_bytes);

struct FitSize {
  int64_t height = 0;
  int64_t width = 0;
};
// Largest input height (width = round(height * aspect)) whose plan fits at options.batch;
// only for nets without fc layers. nullopt when nothing fits.
[[nodiscard]] std::optional<FitSize> fit_size(const Net& net, const PlanOptions& options,
                                              int64_t budget_bytes, double aspect);

// Parses "512M", "4G", "1.5GiB", "1000000" (bytes; K/M/G/T are powers of 1024).
[[nodiscard]] int64_t parse_bytes(const std::string& text);

}  // namespace footprint
