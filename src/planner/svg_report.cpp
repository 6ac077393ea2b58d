// Draws a Plan as SVG: the memory timeline (bytes live per step, stacked by category, peak
// marked, the steps' layers named along the x-axis) above the arena map (offset against step).
// The legend gives each category's bytes at the peak step, so its sum is the bar the peak label
// names. Plain text output, no dependencies.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>

#include "core/units.hpp"
#include "footprint/report.hpp"

namespace footprint {
namespace {

constexpr std::array<const char*, kNumCategories> kColors = {
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#9c755f", "#bab0ac",
    "#ff9da7"};

std::string escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string fmt(const char* format, double a, double b = 0, double c = 0, double d = 0) {
  char text[256];
  std::snprintf(text, sizeof text, format, a, b, c, d);
  return text;
}

// The smallest of 1, 2, 2.5, 5 times a power of 1024 or 10 bytes per tick at or above
// bytes / ticks, so the axis reads in round figures (in MiB, KiB, ...).
double tick_step(double bytes, int ticks) {
  const double raw = std::max(1.0, bytes / ticks);
  double unit = 1;
  while (unit * 1024 <= raw) unit *= 1024;
  double scaled = raw / unit, decade = 1;
  while (decade * 10 <= scaled) decade *= 10;
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0})
    if (m * decade >= scaled) return m * decade * unit;
  return 10 * decade * unit;
}

// A step on the x-axis: its layer's name (its end, when long: the most specific part of a dotted
// path) and fwd, bwd, re (a forward step run again to recompute), bf16 or f32 (its output
// compressed to bfloat16, or expanded back), or loss, update.
std::string axis_label(const Net& net, const Step& step) {
  if (step.kind == StepKind::loss) return "loss";
  if (step.kind == StepKind::update) return "update";
  std::string name = net.node(step.layer).spec.name;
  if (name.size() > 20) name = ".." + name.substr(name.size() - 18);
  const char* kind = step.kind == StepKind::backward   ? " bwd"
                     : step.kind == StepKind::compress ? " bf16"
                     : step.kind == StepKind::expand   ? " f32"
                     : step.recompute                  ? " re"
                                                       : " fwd";
  return name + kind;
}

}  // namespace

std::string plan_svg(const Net& net, const Plan& plan) {
  const int steps = static_cast<int>(plan.steps.size());
  const double left = 90, width = 900, legend_w = 260, top = 64, chart_h = 260;
  const double label_h = 130;  // the x-axis: layer names turned 60 degrees
  const double map_gap = 40, map_h = 260;
  const double chart_top = top;
  const double map_top = chart_top + chart_h + label_h + map_gap;
  const double total_w = left + width + legend_w, total_h = map_top + map_h + 40;
  const double step_w = width / std::max(1, steps);

  // Bytes live per step and category (persistent buffers are alive at every step).
  std::vector<std::array<int64_t, kNumCategories>> live(steps);
  for (const Buffer& b : plan.buffers)
    for (int s = b.first_step; s <= b.last_step; ++s) live[s][static_cast<int>(b.category)] += b.size_bytes;
  const int peak = plan.peak_step;
  const int64_t peak_live = plan.live_bytes[peak];
  // The axis reaches past what the runtime allocates, so the peak label sits inside the chart,
  // under its caption and the title.
  const double tick = tick_step(1.15 * static_cast<double>(std::max<int64_t>(1, plan.total_bytes)), 4);
  const int ticks = static_cast<int>(std::ceil(1.15 * static_cast<double>(std::max<int64_t>(1, plan.total_bytes)) / tick));
  const double y_max = tick * ticks;
  auto y_of = [&](double bytes) { return chart_top + chart_h * (1.0 - bytes / y_max); };

  std::string svg = fmt("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
                        "font-family=\"sans-serif\" font-size=\"12\">\n", total_w, total_h);
  svg += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  svg += fmt("<text x=\"%.0f\" y=\"22\" font-size=\"16\">", left) + "Memory plan: " +
         escape(net.input_shape().str()) + " input, " + mode_name(plan.options.mode) + ", batch " +
         std::to_string(plan.options.batch) + "; the runtime allocates " +
         format_bytes(plan.total_bytes) + "</text>\n";
  svg += fmt("<text x=\"%.0f\" y=\"%.0f\">Bytes live per step (stacked by category)</text>\n", left,
             chart_top - 10);

  // Timeline: one stacked bar per step.
  for (int s = 0; s < steps; ++s) {
    double y = chart_top + chart_h;
    for (int c = 0; c < kNumCategories; ++c) {
      const double h = chart_h * static_cast<double>(live[s][c]) / y_max;
      if (h <= 0) continue;
      y -= h;
      svg += fmt("<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" ", left + s * step_w, y,
                 std::max(0.5, step_w - 0.5), h) +
             "fill=\"" + kColors[c] + "\"><title>step " + std::to_string(s) + " (" +
             escape(plan.step_label(s)) + "): " + category_name(static_cast<Category>(c)) + " " +
             format_bytes(live[s][c]) + "</title></rect>\n";
    }
  }
  // The y-axis, in round figures, and the line of what the runtime allocates.
  for (int t = 0; t <= ticks; ++t) {
    const double y = y_of(tick * t);
    svg += fmt("<line x1=\"%.0f\" y1=\"%.1f\" x2=\"%.0f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n", left - 5, y,
               left + width, y);
    svg += fmt("<text x=\"%.0f\" y=\"%.1f\" text-anchor=\"end\">", left - 8, y + 4) +
           format_bytes(static_cast<int64_t>(tick * t)) + "</text>\n";
  }
  const double total_y = y_of(static_cast<double>(plan.total_bytes));
  svg += fmt("<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#999\" stroke-dasharray=\"2 3\"/>\n",
             left, total_y, left + width, total_y);
  // The peak: a dashed line at its height and its label beside the bar, turned inwards near the
  // right edge.
  const double peak_y = y_of(static_cast<double>(peak_live));
  svg += fmt("<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"black\" stroke-dasharray=\"4 3\"/>\n",
             left, peak_y, left + width, peak_y);
  const double peak_x = left + (peak + 0.5) * step_w;
  const bool right_half = peak_x > left + width / 2;
  const std::string allocated_note =
      plan.total_bytes > peak_live ? " (allocated: " + format_bytes(plan.total_bytes) + ")" : "";
  svg += fmt("<text x=\"%.1f\" y=\"%.1f\" ", right_half ? peak_x - 4 : peak_x + 4,
             std::min(peak_y, total_y) - 6) +
         "text-anchor=\"" + (right_half ? "end" : "start") + "\">peak " + format_bytes(peak_live) +
         " live at step " + std::to_string(peak) + " (" + escape(plan.step_label(peak)) + ")" +
         allocated_note + "</text>\n";

  // The x-axis: every k-th step's layer, k chosen so labels are at least 14 px apart.
  const int every = std::max(1, static_cast<int>(std::ceil(14.0 / std::max(1e-9, step_w))));
  const double axis_y = chart_top + chart_h;
  svg += fmt("<line x1=\"%.0f\" y1=\"%.1f\" x2=\"%.0f\" y2=\"%.1f\" stroke=\"black\"/>\n", left, axis_y,
             left + width, axis_y);
  for (int s = 0; s < steps; s += every) {
    const double x = left + (s + 0.5) * step_w;
    svg += fmt("<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"black\"/>\n", x, axis_y, x,
               axis_y + 4);
    std::string label = std::to_string(s) + " " + axis_label(net, plan.steps[s]);
    svg += fmt("<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\" text-anchor=\"end\" "
               "transform=\"rotate(-60 %.1f %.1f)\">", x + 3, axis_y + 10, x + 3, axis_y + 10) +
           escape(label) + "</text>\n";
  }
  if (plan.loss_step >= 0) {  // forward steps to the left, backward and the update to the right
    const double x = left + plan.loss_step * step_w;
    svg += fmt("<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#666\" stroke-dasharray=\"1 3\"/>\n",
               x, chart_top, x, axis_y);
  }

  // Arena map: offset (down) against step (across).
  const double arena = static_cast<double>(std::max<int64_t>(1, plan.arena_bytes));
  svg += fmt("<text x=\"%.0f\" y=\"%.0f\">", left, map_top - 8) + "Arena map: " +
         format_bytes(plan.arena_bytes) + " (offset down, step across as above; hover for names)</text>\n";
  svg += fmt("<rect x=\"%.0f\" y=\"%.0f\" width=\"%.0f\" height=\"%.0f\" fill=\"#f4f4f4\" stroke=\"#999\"/>\n",
             left, map_top, width, map_h);
  for (const Buffer& b : plan.buffers) {
    if (b.persistent) continue;
    const double x = left + b.first_step * step_w;
    const double w = (b.last_step - b.first_step + 1) * step_w;
    const double y = map_top + map_h * static_cast<double>(b.offset_bytes) / arena;
    const double h = std::max(0.5, map_h * static_cast<double>(b.size_bytes) / arena);
    svg += fmt("<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" ", x, y, w, h) + "fill=\"" +
           kColors[static_cast<int>(b.category)] + "\" stroke=\"white\" stroke-width=\"0.5\"><title>" +
           escape(b.name) + ": " + format_bytes(b.size_bytes) + ", steps " +
           std::to_string(b.first_step) + "-" + std::to_string(b.last_step) + ", offset " +
           std::to_string(b.offset_bytes) + "</title></rect>\n";
  }
  svg += fmt("<text x=\"%.0f\" y=\"%.0f\">", left, map_top + map_h + 20) + "step 0 .. " +
         std::to_string(steps - 1) + " (forward, then loss, backward and update when training)</text>\n";

  // Legend: each category's bytes at the peak step, as the peak's bar stacks them.
  const double legend_x = left + width + 20;
  svg += fmt("<text x=\"%.0f\" y=\"%.0f\">", legend_x, top + 4) + "live at step " +
         std::to_string(peak) + " (the peak):</text>\n";
  for (int c = 0; c < kNumCategories; ++c) {
    const double y = top + 14 + 20 * c;
    svg += fmt("<rect x=\"%.0f\" y=\"%.0f\" width=\"12\" height=\"12\" ", legend_x, y) + "fill=\"" +
           kColors[c] + "\"/>";
    svg += fmt("<text x=\"%.0f\" y=\"%.0f\">", legend_x + 18, y + 11) +
           category_name(static_cast<Category>(c)) + " " + format_bytes(live[peak][c]) + "</text>\n";
  }
  svg += fmt("<text x=\"%.0f\" y=\"%.0f\">", legend_x, top + 14 + 20 * kNumCategories + 11) +
         "sum " + format_bytes(peak_live) + "</text>\n";
  svg += fmt("<text x=\"%.0f\" y=\"%.0f\" fill=\"#666\">", legend_x, top + 14 + 20 * kNumCategories + 31) +
         "dotted: allocated " + format_bytes(plan.total_bytes) + "</text>\n";
  svg += "</svg>\n";
  return svg;
}

}  // namespace footprint
