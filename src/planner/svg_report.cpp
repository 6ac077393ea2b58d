// Draws a Plan as SVG: the memory timeline (bytes live per step, stacked by category, peak
// marked) above the arena map (offset against step). Plain text output, no dependencies.
#include <algorithm>
#include <array>
#include <cstdio>

#include "core/units.hpp"
#include "footprint/report.hpp"

namespace footprint {
namespace {

constexpr std::array<const char*, kNumCategories> kColors = {
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#9c755f", "#bab0ac"};

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

}  // namespace

std::string plan_svg(const Net& net, const Plan& plan) {
  const int steps = static_cast<int>(plan.steps.size());
  const double left = 90, width = 900, chart_h = 260, map_h = 260, gap = 70, top = 50;
  const double total_w = left + width + 200, total_h = top + chart_h + gap + map_h + 60;
  const double step_w = width / std::max(1, steps);

  // Bytes live per step and category (persistent buffers are alive at every step).
  std::vector<std::array<int64_t, kNumCategories>> live(steps);
  for (const Buffer& b : plan.buffers)
    for (int s = b.first_step; s <= b.last_step; ++s) live[s][static_cast<int>(b.category)] += b.size_bytes;
  const double y_max = static_cast<double>(std::max<int64_t>(1, plan.total_bytes));

  std::string svg = fmt("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
                        "font-family=\"sans-serif\" font-size=\"12\">\n", total_w, total_h);
  svg += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  svg += fmt("<text x=\"%.0f\" y=\"24\" font-size=\"16\">", left) + "Memory plan: " +
         escape(net.input_shape().str()) + " input, " + mode_name(plan.options.mode) + ", batch " +
         std::to_string(plan.options.batch) + " — total " + format_bytes(plan.total_bytes) +
         "</text>\n";

  // Timeline: one stacked bar per step.
  const double chart_top = top;
  svg += fmt("<text x=\"%.0f\" y=\"%.0f\">Bytes live per step</text>\n", left, chart_top - 6);
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
  const double peak_y = chart_top + chart_h * (1.0 - static_cast<double>(plan.live_bytes[plan.peak_step]) / y_max);
  svg += fmt("<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"black\" stroke-dasharray=\"4 3\"/>\n",
             left, peak_y, left + width, peak_y);
  svg += fmt("<text x=\"%.1f\" y=\"%.1f\">", left + plan.peak_step * step_w, peak_y - 4) + "peak " +
         format_bytes(plan.live_bytes[plan.peak_step]) + " at step " + std::to_string(plan.peak_step) +
         " (" + escape(plan.step_label(plan.peak_step)) + ")</text>\n";
  for (int tick = 0; tick <= 4; ++tick) {
    const double y = chart_top + chart_h * (1.0 - tick / 4.0);
    svg += fmt("<line x1=\"%.0f\" y1=\"%.1f\" x2=\"%.0f\" y2=\"%.1f\" stroke=\"#ccc\"/>\n", left - 5, y, left, y);
    svg += fmt("<text x=\"%.0f\" y=\"%.1f\" text-anchor=\"end\">", left - 8, y + 4) +
           format_bytes(static_cast<int64_t>(y_max * tick / 4.0)) + "</text>\n";
  }

  // Arena map: offset (down) against step (across).
  const double map_top = chart_top + chart_h + gap;
  const double arena = static_cast<double>(std::max<int64_t>(1, plan.arena_bytes));
  svg += fmt("<text x=\"%.0f\" y=\"%.0f\">", left, map_top - 6) + "Arena map: " +
         format_bytes(plan.arena_bytes) + " (offset down, step across; hover for names)</text>\n";
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

  // Legend.
  for (int c = 0; c < kNumCategories; ++c) {
    const double y = top + 20 * c;
    svg += fmt("<rect x=\"%.0f\" y=\"%.0f\" width=\"12\" height=\"12\" ", left + width + 20, y) +
           "fill=\"" + kColors[c] + "\"/>";
    svg += fmt("<text x=\"%.0f\" y=\"%.0f\">", left + width + 38, y + 11) +
           category_name(static_cast<Category>(c)) + " " +
           format_bytes(plan.category_bytes[c]) + "</text>\n";
  }
  svg += "</svg>\n";
  return svg;
}

}  // namespace footprint
