// Training under a memory budget: what to recompute instead of keeping.
//
// A training step keeps, from the forward pass to the backward pass, every value a backward
// step reads. Recomputing a layer means running its forward step again in the backward phase,
// just before the first backward step that reads its output, so its output (and what the
// layers it feeds keep of it) is not held across the middle of the step. Two choices, cheapest
// first:
//
//  1. Cheap layers for free. An element-wise layer (activation, batch norm, pooling, add: at
//     most a few FLOPs per output value), or a chain of them running in place, whose inputs are
//     alive anyway when its output is next needed, is recomputed from them at almost no cost:
//     memory-efficient DenseNet's trick (Pleiss et al. 2017) of recomputing batch norm and ReLU
//     before each dense layer's convolution, found by the planner on any graph.
//  2. Checkpointed segments. The graph is cut at values every path from the input to the loss
//     goes through (articulation points; for a chain, every value) and not overwritten in place;
//     a run of consecutive segments is either kept, or recomputed from the value at its start
//     (a checkpoint, the only thing of it kept through the forward pass) when its backward
//     begins (Chen et al. 2016, single-level). A dynamic programme over the segments chooses the
//     runs with the fewest extra FLOPs whose modelled peak fits (Beaumont et al.'s rotor solves
//     the same problem for chains with multi-level recomputation; single level recomputes each
//     layer at most once).
//
// With PlanOptions::saved_dtype bf16 only the second applies, on top of the bfloat16 plan:
// checkpoints wait in bfloat16 like every kept value, and the model counts them at half.
//
// Each choice is planned exactly and checked against the budget: the plan's total is what the
// runtime allocates, recomputation included. When even the smallest plan found is over the
// budget, plan() throws PlanError naming it.
#pragma once

#include <vector>

#include "footprint/net.hpp"
#include "footprint/plan.hpp"

namespace footprint {

// What to recompute, per layer. A recomputed layer's recompute and backward steps read the
// recomputed instances of recomputed values; so does the backward step of a reader, a layer
// not recomputed itself whose backward keeps a recomputed input (the layer that made the value
// cheap recomputation pays for). Other readers keep the first instance.
struct RecomputeChoice {
  std::vector<bool> layers;
  std::vector<bool> readers;
};

// The plan with these layers recomputed (planner.cpp).
[[nodiscard]] Plan plan_with_recompute(const Net& net, const PlanOptions& options,
                                       const RecomputeChoice& recompute);

// The plan for options.memory_budget: the plain plan when it fits, else the one with the least
// recomputation found that fits.
[[nodiscard]] Plan plan_within_budget(const Net& net, const PlanOptions& options);

}  // namespace footprint
