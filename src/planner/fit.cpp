// Inverting the plan: the largest batch or input size whose plan fits a byte budget. Each
// answer is exact in the sense the user checks: that size fits, the next size up does not.
#include <cctype>
#include <cmath>

#include "footprint/error.hpp"
#include "footprint/explain.hpp"

namespace footprint {

Net with_input_size(const Net& net, int64_t height, int64_t width) {
  Net resized{Shape{net.input_shape().c, height, width}};
  for (const Net::Node& node : net.nodes()) resized.add(node.spec);
  if (net.loss_kind() != LossKind::none) resized.add(loss(net.loss_kind()));
  return resized;
}

namespace {

// Largest x in [lo, limit] with fits(x), given fits(lo); doubles, then bisects.
template <typename Fits>
int64_t largest_fitting(int64_t lo, int64_t limit, Fits&& fits) {
  int64_t hi = lo;
  while (hi < limit) {
    hi = std::min(limit, hi * 2);
    if (!fits(hi)) break;
    lo = hi;
  }
  if (lo == hi) return lo;  // reached the limit
  while (hi - lo > 1) {     // fits(lo), !fits(hi)
    const int64_t mid = lo + (hi - lo) / 2;
    (fits(mid) ? lo : hi) = mid;
  }
  return lo;
}

}  // namespace

std::optional<int> fit_batch(const Net& net, const PlanOptions& options, int64_t budget_bytes) {
  auto fits = [&](int64_t batch) {
    PlanOptions o = options;
    o.batch = static_cast<int>(batch);
    return plan(net, o).total_bytes <= budget_bytes;
  };
  if (!fits(1)) return std::nullopt;
  return static_cast<int>(largest_fitting(1, 1 << 20, fits));
}

std::optional<BatchFit> fit_batch_recomputing(const Net& net, const PlanOptions& options,
                                              int64_t budget_bytes) {
  PlanOptions o = options;
  o.memory_budget = budget_bytes;
  auto plan_at = [&](int64_t batch) -> std::optional<Plan> {
    o.batch = static_cast<int>(batch);
    try {
      return plan(net, o);
    } catch (const PlanError&) {
      return std::nullopt;  // nothing fits at this batch, even recomputing
    }
  };
  if (!plan_at(1)) return std::nullopt;
  const int batch = static_cast<int>(
      largest_fitting(1, 1 << 20, [&](int64_t b) { return plan_at(b).has_value(); }));
  const Plan p = *plan_at(batch);
  return BatchFit{.batch = batch,
                  .extra_compute = static_cast<double>(p.recompute_flops) /
                                   static_cast<double>(std::max<int64_t>(1, p.forward_flops))};
}

std::optional<FitSize> fit_size(const Net& net, const PlanOptions& options, int64_t budget_bytes,
                                double aspect) {
  for (const Net::Node& node : net.nodes()) {
    if (node.spec.op == "fc") {
      throw PlanError("fc '" + node.spec.name +
                      "' fixes the input size; --fit finds a largest input only for fully "
                      "convolutional nets (it still finds the largest batch)");
    }
  }
  auto width_of = [&](int64_t h) { return std::max<int64_t>(1, std::llround(h * aspect)); };
  auto fits = [&](int64_t h) {
    try {
      return plan(with_input_size(net, h, width_of(h)), options).total_bytes <= budget_bytes;
    } catch (const ShapeError&) {
      return false;  // too small for the net's windows
    }
  };
  // Start from the net's own height and walk down until something fits.
  int64_t h = net.input_shape().h;
  while (h >= 1 && !fits(h)) h /= 2;
  if (h < 1) return std::nullopt;
  const int64_t best = largest_fitting(h, int64_t{1} << 17, fits);
  return FitSize{.height = best, .width = width_of(best)};
}

int64_t parse_bytes(const std::string& text) {
  size_t used = 0;
  double value = 0;
  try {
    value = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  std::string suffix;
  for (size_t i = used; i < text.size(); ++i) suffix += static_cast<char>(std::toupper(text[i]));
  double scale = 0;
  if (suffix.empty() || suffix == "B") scale = 1;
  for (const auto& [name, power] : {std::pair{"K", 1}, {"M", 2}, {"G", 3}, {"T", 4}}) {
    const std::string n = name;
    if (suffix == n || suffix == n + "B" || suffix == n + "I" || suffix == n + "IB")
      scale = std::pow(1024.0, power);
  }
  if (used == 0 || scale == 0 || !(value > 0) || value * scale > 9e18) {
    throw Error("'" + text + "': expected a size such as 512M, 4G or 1000000 (bytes)");
  }
  return static_cast<int64_t>(value * scale);
}

}  // namespace footprint
