#include "planner/recompute.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>

#include "core/units.hpp"
#include "footprint/error.hpp"

namespace footprint {
namespace {

// At most this many FLOPs per output value make a layer cheap to recompute: element-wise
// layers, batch norm, pooling windows up to 3x3 (a 1x1 conv over 5 channels would count too).
constexpr int64_t kCheapFlopsPerValue = 10;

[[nodiscard]] bool fits(const Plan& p, int64_t budget) { return p.total_bytes <= budget; }

// The layers each run as one: a layer running in place goes with the layer that wrote its
// input, since recomputing it alone would overwrite a value nobody recomputes.
struct Units {
  std::vector<int> unit_of;                 // per layer
  std::vector<std::vector<int>> layers;     // per unit, in forward order
};

Units in_place_units(const Net& net, const Plan& p) {
  Units u;
  u.unit_of.assign(net.n_layers(), -1);
  for (int i = 0; i < net.n_layers(); ++i) {
    const int input = net.node(i).inputs[0];
    if (p.layers[i].in_place && input > 0) {
      u.unit_of[i] = u.unit_of[input - 1];
    } else {
      u.unit_of[i] = static_cast<int>(u.layers.size());
      u.layers.emplace_back();
    }
    u.layers[u.unit_of[i]].push_back(i);
  }
  return u;
}

// Facts about a plain plan that the choices below read.
struct PlanFacts {
  std::vector<bool> writes_group;  // per layer: its output is part of a joined concat
  std::vector<bool> pinned;        // per buffer: an output or a tap (the caller reads it)
};

PlanFacts facts_of(const Net& net, const Plan& p) {
  PlanFacts f;
  std::vector<bool> group_buffer(p.buffers.size(), false);
  for (const LayerBuffers& lb : p.layers)
    if (lb.joined_in_place) group_buffer[static_cast<size_t>(lb.dst)] = true;
  f.writes_group.assign(net.n_layers(), false);
  for (int i = 0; i < net.n_layers(); ++i)
    f.writes_group[i] = group_buffer[static_cast<size_t>(p.layers[i].dst)];
  f.pinned.assign(p.buffers.size(), false);
  for (int b : p.output_buffers) f.pinned[static_cast<size_t>(b)] = true;
  for (int b : p.tap_value_buffers) f.pinned[static_cast<size_t>(b)] = true;
  return f;
}

// The first backward step that reads a buffer (as a kept input or output), or -1.
int first_backward_read(const Plan& p, int buffer) {
  for (size_t s = static_cast<size_t>(p.loss_step) + 1; s < p.steps.size(); ++s) {
    const Step& step = p.steps[s];
    if (step.kind != StepKind::backward) continue;
    const LayerBuffers& lb = step.binding < 0 ? p.layers[step.layer]
                                              : p.recompute_bindings[static_cast<size_t>(step.binding)];
    const bool reads_src = lb.backward_reads_src &&
                           std::find(lb.src.begin(), lb.src.end(), buffer) != lb.src.end();
    if (reads_src || (lb.backward_reads_dst && lb.dst == buffer)) return static_cast<int>(s);
  }
  return -1;
}

// Choice 1: units of cheap layers that keep their output for backward and whose inputs are
// alive anyway when it is next read, so recomputing them holds nothing longer.
RecomputeChoice cheap_free_units(const Net& net, const Plan& p) {
  const Units units = in_place_units(net, p);
  const PlanFacts facts = facts_of(net, p);
  const std::vector<std::vector<int>> consumers = net.consumers();
  RecomputeChoice chosen{.layers = std::vector<bool>(net.n_layers(), false),
                         .readers = std::vector<bool>(net.n_layers(), false)};
  for (const std::vector<int>& unit : units.layers) {
    const int last = unit.back();
    const int out = p.layers[last].dst;
    const Buffer& buffer = p.buffers[static_cast<size_t>(out)];
    if (buffer.last_step <= p.loss_step || facts.pinned[static_cast<size_t>(out)]) continue;
    bool ok = true;
    for (int i : unit) {
      const LayerReport& r = p.layer_reports[i];
      const int64_t values = p.options.batch * r.output_shape.n_elems();
      // A fused pool goes with its activation (recomputing it alone would undo the fusion).
      ok = ok && r.forward_flops <= kCheapFlopsPerValue * values && !facts.writes_group[i] &&
           p.layers[i].backward_step >= 0 && p.layers[i].fused_activation < 0 &&
           !p.layers[i].backward_fused;
    }
    const int need = first_backward_read(p, out);
    if (!ok || need < 0) continue;
    for (int i : unit) {
      for (size_t k = 0; k < p.layers[i].src.size(); ++k) {
        const int src = p.layers[i].src[k];
        if (src == out) continue;  // the unit's own bytes (in place)
        const Buffer& in = p.buffers[static_cast<size_t>(src)];
        ok = ok && in.first_step <= need && need <= in.last_step;
      }
    }
    if (!ok) continue;
    // The unit's layers run again, and the layers that keep its output read them.
    for (int i : unit) {
      chosen.layers[i] = true;
      for (int reader : consumers[i + 1]) chosen.readers[reader] = true;
    }
  }
  return chosen;
}

// Choice 2: segments between cut values, kept or recomputed in runs.
struct Segment {
  int first_layer = 0, end_layer = 0;  // layers [first, end)
  bool recomputable = true;
  int64_t flops = 0;       // its forward work
  int64_t input_bytes = 0; // its input (a cut value), when kept for backward
  int64_t kept_bytes = 0;  // what else it keeps through the forward pass
  int64_t transient = 0;   // the most its backward steps hold besides what is kept
  // The same two while they wait for their backward: less when kept in bfloat16 (they are
  // float32 again, expanded, by the time their own backward reads them).
  int64_t input_held = 0, kept_held = 0;
};

// Cut values: every layer after value c's producer reads only values from c on, and no layer
// overwrites c in place (a checkpoint must survive its run's forward pass).
std::vector<Segment> segments_of(const Net& net, const Plan& p, const PlanFacts& facts) {
  const int n = net.n_layers();
  std::vector<int> min_input_from(n + 1, std::numeric_limits<int>::max());  // suffix minimum
  for (int i = n - 1; i >= 0; --i) {
    const auto& inputs = net.node(i).inputs;
    min_input_from[i] = std::min(min_input_from[i + 1], *std::min_element(inputs.begin(), inputs.end()));
  }
  // Not a cut either: a value a fused pool reads (the pool runs its activation's backward, so
  // the two are recomputed together or not at all).
  std::vector<bool> consumed_in_place(n + 1, false);
  for (int i = 0; i < n; ++i)
    if (p.layers[i].in_place || p.layers[i].fused_activation >= 0)
      consumed_in_place[net.node(i).inputs[0]] = true;
  std::vector<int> cuts = {0};
  for (int c = 1; c < n; ++c)
    if (min_input_from[c] >= c && !consumed_in_place[c] && !facts.writes_group[c - 1]) cuts.push_back(c);
  cuts.push_back(n);

  // Bytes kept through the middle of the step: buffers alive at the loss step.
  const int loss = p.loss_step;
  std::vector<int64_t> kept_live(p.steps.size(), 0);  // kept bytes still alive at each step
  std::vector<bool> kept(p.buffers.size(), false);
  int64_t persistent = 0;
  for (size_t b = 0; b < p.buffers.size(); ++b) {
    const Buffer& buffer = p.buffers[b];
    if (buffer.persistent) {
      persistent += buffer.size_bytes;
      continue;
    }
    kept[b] = buffer.first_step <= loss && loss <= buffer.last_step;
    if (kept[b])
      for (int s = buffer.first_step; s <= buffer.last_step; ++s) kept_live[s] += buffer.size_bytes;
  }
  std::vector<Segment> segments;
  for (size_t k = 0; k + 1 < cuts.size(); ++k) {
    Segment seg{.first_layer = cuts[k], .end_layer = cuts[k + 1]};
    const int input_value = cuts[k];
    const int input_buffer = input_value == 0 ? p.input_buffer : p.layers[input_value - 1].dst;
    if (input_value > 0 && kept[static_cast<size_t>(input_buffer)]) {
      seg.input_bytes = p.buffers[static_cast<size_t>(input_buffer)].size_bytes;
    }
    const int output_buffer = p.layers[seg.end_layer - 1].dst;
    for (int i = seg.first_layer; i < seg.end_layer; ++i) {
      seg.flops += p.layer_reports[i].forward_flops;
      seg.recomputable = seg.recomputable && !facts.writes_group[i] &&
                         !facts.pinned[static_cast<size_t>(p.layers[i].dst)];
      const int step = p.layers[i].backward_step;
      if (step >= 0) {
        seg.transient = std::max(seg.transient, p.live_bytes[step] - persistent - kept_live[step]);
      }
    }
    for (size_t b = 0; b < p.buffers.size(); ++b) {
      const Buffer& buffer = p.buffers[b];
      if (!kept[b] || buffer.owner_layer < seg.first_layer || buffer.owner_layer >= seg.end_layer) continue;
      if (static_cast<int>(b) == output_buffer || static_cast<int>(b) == input_buffer) continue;
      seg.kept_bytes += buffer.size_bytes;
    }
    seg.input_held = seg.input_bytes;
    seg.kept_held = seg.kept_bytes;
    segments.push_back(seg);
  }
  return segments;
}

// The runs to recompute: fewest FLOPs whose modelled backward peaks stay within `model_budget`
// (bytes besides the persistent block and what no segment owns). Empty when none fits.
struct Choice {
  bool found = false;
  std::vector<bool> recompute;  // per layer
  std::vector<bool> readers;    // per layer: keeps recomputed inputs, itself not recomputed
};

Choice choose_runs(const Net& net, const Plan& p, const std::vector<Segment>& segs,
                   int64_t model_budget) {
  const int m = static_cast<int>(segs.size());
  if (model_budget <= 0) return {};
  constexpr int kBuckets = 1024;
  const double bucket_bytes = static_cast<double>(model_budget) / kBuckets;
  auto bucket = [&](int64_t bytes) { return static_cast<int>(static_cast<double>(bytes) / bucket_bytes + 0.999); };
  constexpr int64_t kNone = std::numeric_limits<int64_t>::max();
  // best[i][a]: fewest FLOPs for segments [0, i) holding `a` buckets through the backward of
  // later segments; from[i][a]: the run that got there (its start, and whether recomputed).
  std::vector<std::vector<int64_t>> best(m + 1, std::vector<int64_t>(kBuckets + 1, kNone));
  struct Step {
    int prev_i = -1, prev_a = -1;
    bool recomputed = false;
  };
  std::vector<std::vector<Step>> from(m + 1, std::vector<Step>(kBuckets + 1));
  best[0][0] = 0;
  for (int i = 0; i < m; ++i) {
    for (int a = 0; a <= kBuckets; ++a) {
      if (best[i][a] == kNone) continue;
      const int64_t held = static_cast<int64_t>(a * bucket_bytes);
      // Keep segment i: its input and what it keeps stay until its backward.
      const int64_t keep = segs[i].input_bytes + segs[i].kept_bytes;
      if (held + keep + segs[i].transient <= model_budget) {
        const int next = std::min(kBuckets + 1, a + bucket(segs[i].input_held + segs[i].kept_held));
        if (next <= kBuckets && best[i][a] < best[i + 1][next]) {
          best[i + 1][next] = best[i][a];
          from[i + 1][next] = {i, a, false};
        }
      }
      // Recompute segments [i, j) from segment i's input, the checkpoint.
      int64_t flops = 0, peak_held = segs[i].input_bytes, transient = 0;
      for (int j = i + 1; j <= m; ++j) {
        const Segment& s = segs[j - 1];
        if (!s.recomputable) break;
        flops += s.flops;
        peak_held += s.kept_bytes + (j - 1 > i ? s.input_bytes : 0);
        transient = std::max(transient, s.transient);
        if (held + peak_held + transient > model_budget) break;
        const int next = a + bucket(segs[i].input_held);
        if (next > kBuckets) break;
        if (best[i][a] + flops < best[j][next]) {
          best[j][next] = best[i][a] + flops;
          from[j][next] = {i, a, true};
        }
      }
    }
  }
  int end_a = -1;
  for (int a = 0; a <= kBuckets; ++a)
    if (best[m][a] != kNone && (end_a < 0 || best[m][a] < best[m][end_a])) end_a = a;
  if (end_a < 0) return {};
  // A run recomputes its segments from its first value, except the layers that write its
  // last value: that is the next run's checkpoint (or kept by the next segment), so it stays,
  // and those layers' backward reads the run's recomputed values.
  Choice c{.found = true, .recompute = std::vector<bool>(net.n_layers(), false),
           .readers = std::vector<bool>(net.n_layers(), false)};
  for (int i = m, a = end_a; i > 0;) {
    const Step& st = from[i][a];
    if (st.recomputed) {
      const int last_layer = segs[i - 1].end_layer - 1;
      const int kept_buffer = p.layers[last_layer].dst;
      for (int seg = st.prev_i; seg < i; ++seg) {
        for (int l = segs[seg].first_layer; l < segs[seg].end_layer; ++l) {
          const bool writes_kept = seg == i - 1 && p.layers[l].dst == kept_buffer;
          (writes_kept ? c.readers : c.recompute)[l] = true;
        }
      }
    }
    i = st.prev_i;
    a = st.prev_a;
  }
  return c;
}

// Cheap units and checkpointed runs together; readers of runs keep first instances.
RecomputeChoice united(const RecomputeChoice& cheap, const Choice& runs) {
  RecomputeChoice out = cheap;
  for (size_t i = 0; i < runs.recompute.size(); ++i) {
    out.layers[i] = out.layers[i] || runs.recompute[i];
    out.readers[i] = out.readers[i] || runs.readers[i];
  }
  return out;
}

// Runs chosen on a model (choose_runs) and planned exactly: while the exact plan is over the
// budget, the model's budget shrinks by the excess; once one fits, with least_recompute the
// largest model budget that still fits is searched for (a loose model overstates what it
// needs). Without a fit, the smallest plan the runs can give, to name it.
struct RunSearchResult {
  std::optional<Plan> fit, smallest;
};

struct RunSearch {
  const Net& net;
  const PlanOptions& options;
  const Plan& model_plan;
  const RecomputeChoice& cheap;
  int64_t budget = 0;
  bool least_recompute = false;

  [[nodiscard]] std::optional<Plan> plan_choice(const std::vector<Segment>& segs,
                                                int64_t model) const {
    const Choice choice = choose_runs(net, model_plan, segs, model);
    if (!choice.found) return std::nullopt;
    return plan_with_recompute(net, options, united(cheap, choice));
  }

  [[nodiscard]] RunSearchResult run(const std::vector<Segment>& segs) const {
    int64_t unowned = model_plan.persistent_bytes;  // persistent block, input and target, ...
    for (const Buffer& b : model_plan.buffers)
      if (!b.persistent && b.owner_layer < 0 && b.first_step <= model_plan.loss_step &&
          model_plan.loss_step <= b.last_step)
        unowned += b.size_bytes;
    const int64_t model_most = model_plan.total_bytes - unowned;
    RunSearchResult r;
    auto consider = [&](std::optional<Plan>& p) {
      if (p && (!r.smallest || p->total_bytes < r.smallest->total_bytes)) r.smallest = std::move(p);
    };
    int64_t model_budget = budget - unowned;
    for (int attempt = 0; attempt < 12 && model_budget > 0; ++attempt) {
      std::optional<Plan> p = plan_choice(segs, model_budget);
      if (!p) break;
      if (fits(*p, budget)) {
        for (int64_t lo = model_budget, hi = model_most;
             least_recompute && hi - lo > std::max<int64_t>(1, hi / 128);) {
          const int64_t mid = lo + (hi - lo) / 2;
          std::optional<Plan> q = plan_choice(segs, mid);
          if (q && fits(*q, budget)) {
            lo = mid;
            if (q->recompute_flops < p->recompute_flops) p = std::move(q);
          } else {
            hi = mid;
          }
        }
        r.fit = std::move(p);
        return r;
      }
      model_budget -= std::max<int64_t>(p->total_bytes - budget, model_budget / 64);
      consider(p);
    }
    for (int64_t lo = 0, hi = model_most; hi - lo > std::max<int64_t>(1, hi / 256);) {
      const int64_t mid = lo + (hi - lo) / 2;
      std::optional<Plan> p = plan_choice(segs, mid);
      if (!p) {
        lo = mid;
        continue;
      }
      hi = mid;
      consider(p);
    }
    return r;
  }
};

}  // namespace

Plan plan_within_budget(const Net& net, const PlanOptions& options) {
  const int64_t budget = options.memory_budget;
  PlanOptions plain_options = options;
  plain_options.memory_budget = 0;
  auto finish = [&](Plan p) {
    p.options.memory_budget = budget;
    return p;
  };
  Plan plain = plan_with_recompute(net, plain_options, {});
  if (fits(plain, budget)) return finish(std::move(plain));

  // 1. Cheap layers recomputed for free; then as few of them as still fit. Not with values
  // kept in bfloat16: the inputs these layers would be recomputed from are not alive anyway
  // (they wait in bfloat16), so recomputing them is not free.
  const bool compact = options.saved_dtype != SavedDtype::f32;
  RecomputeChoice cheap{.layers = std::vector<bool>(net.n_layers(), false),
                        .readers = std::vector<bool>(net.n_layers(), false)};
  if (!compact) cheap = cheap_free_units(net, plain);
  Plan best = compact ? plain : plan_with_recompute(net, plain_options, cheap);
  if (!compact && fits(best, budget)) {
    const Units units = in_place_units(net, plain);
    for (const std::vector<int>& unit : units.layers) {
      if (!cheap.layers[unit[0]]) continue;
      RecomputeChoice fewer = cheap;
      for (int i : unit) fewer.layers[i] = false;
      Plan p = plan_with_recompute(net, plain_options, fewer);
      if (fits(p, budget)) {
        cheap = std::move(fewer);
        best = std::move(p);
      }
    }
    return finish(std::move(best));
  }

  // 2. Checkpointed runs of segments on top, chosen on a model of the backward peaks and
  // checked by planning (search_runs). With values kept in bfloat16 the model is the float32
  // plan's, first with what waits for the backward pass halved, then as it is: the model sees
  // no forward peaks, where a float32 value and its copy overlap, and either may find the
  // smaller plan.
  PlanOptions model_options = plain_options;
  model_options.saved_dtype = SavedDtype::f32;
  const Plan model_plan = compact ? plan_with_recompute(net, model_options, cheap) : best;
  const std::vector<Segment> segs = segments_of(net, model_plan, facts_of(net, model_plan));
  std::vector<std::vector<Segment>> models = {segs};
  if (compact) {  // what waits for the backward pass, checkpoints too, waits in bfloat16
    std::vector<Segment> halved = segs;
    for (Segment& seg : halved) {
      seg.input_held /= 2;
      seg.kept_held /= 2;
    }
    models.insert(models.begin(), std::move(halved));
  }
  const RunSearch search{.net = net, .options = plain_options, .model_plan = model_plan,
                         .cheap = cheap, .budget = budget, .least_recompute = compact};
  Plan smallest = best;
  for (const std::vector<Segment>& model : models) {
    RunSearchResult r = search.run(model);
    if (r.fit) return finish(std::move(*r.fit));
    if (r.smallest && r.smallest->total_bytes < smallest.total_bytes) smallest = std::move(*r.smallest);
  }
  if (fits(smallest, budget)) return finish(std::move(smallest));
  throw PlanError("memory budget " + format_bytes(budget) + " (" + std::to_string(budget) +
                  " B): the smallest plan found, recomputing what can be, takes " +
                  format_bytes(smallest.total_bytes) + " (" + std::to_string(smallest.total_bytes) +
                  " B); give at least that (the plain plan takes " +
                  format_bytes(plain.total_bytes) + ")");
}

}  // namespace footprint
