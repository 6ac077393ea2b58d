// footprint plan NET: prints the memory plan (table or JSON) without allocating it; --explain
// adds the waterfall from a naive layout and the floor, --fit inverts the plan, --svg draws it.
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/common.hpp"
#include "core/units.hpp"

namespace footprint::cli {
namespace {

// "16:9" -> 16/9 (width over height).
double parse_aspect(const std::string& text) {
  const auto colon = text.find(':');
  try {
    if (colon != std::string::npos) {
      const double w = std::stod(text.substr(0, colon)), h = std::stod(text.substr(colon + 1));
      if (w > 0 && h > 0) return w / h;
    }
  } catch (const std::exception&) {
  }
  throw Error("--aspect " + text + ": expected WIDTH:HEIGHT such as 16:9");
}

}  // namespace

void add_plan_command(CLI::App& app) {
  struct Flags {
    std::string net_path, size, fit, aspect = "1:1", svg, loss;
    PlanFlags plan;
    bool json = false, explain = false;
  };
  auto f = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand("plan", "Print the memory plan of a net: every buffer, "
                                             "its category and lifetime, the peak and its step");
  cmd->add_option("net", f->net_path, "Net file (.net) or ONNX model (.onnx)")->required();
  add_plan_flags(*cmd, f->plan, /*with_mode=*/true);
  add_size_flag(*cmd, f->size);
  cmd->add_option("--loss", f->loss,
                  "Loss to add to a net without one (an ONNX model), to plan its training: mse "
                  "or softmax_xent");
  cmd->add_flag("--json", f->json, "Print one JSON object instead of the table");
  cmd->add_flag("--explain", f->explain,
                "Show what each technique saves against a naive layout, and the floor");
  cmd->add_option("--fit", f->fit,
                  "Find the largest batch (and, for fully convolutional nets, the largest input) "
                  "whose plan fits in this many bytes: 512M, 4G, ...");
  cmd->add_option("--aspect", f->aspect, "Width:height of the input --fit searches")
      ->capture_default_str();
  cmd->add_option("--svg", f->svg, "Draw the bytes live per step and the arena map into this SVG file");
  cmd->callback([f] {
    if (!f->svg.empty()) check_writable("--svg", f->svg);  // before any work
    const Net net = resize_input(
        with_loss(load_any_net(f->net_path, OnnxImportOptions::Weights::none, parse_size(f->size)).net,
                  f->loss),
        f->size);
    const PlanOptions options = to_plan_options(f->plan);
    const Plan p = plan(net, options);
    nlohmann::json doc = nlohmann::json::parse(plan_json(net, p));
    std::string text;
    if (!f->json) {
      text += f->net_path + ": input " + net.input_shape().str() + ", " +
              std::to_string(net.n_layers()) + " layers, loss " + loss_name(net.loss_kind()) + "\n";
      text += plan_table(net, p);
    }
    const Floor floor = plan_floor(net, options);
    doc["floor_bytes"] = floor.bytes;
    doc["floor_step"] = floor.step;
    if (f->explain) {
      const Explanation e = explain_plan(net, options);
      nlohmann::json steps = nlohmann::json::array();
      steps.push_back({{"technique", "naive layout"}, {"bytes_saved", 0}, {"total_bytes", e.naive_bytes}});
      for (const ExplainStep& s : e.steps)
        steps.push_back({{"technique", s.technique}, {"bytes_saved", s.bytes_saved}, {"total_bytes", s.total_after}});
      doc["explain"] = steps;
      text += "\n" + explanation_text(e);
    } else {
      text += "Floor (what the mathematics needs at its busiest step): " + format_bytes(floor.bytes) +
              " at step " + std::to_string(floor.step) + " (" + floor.step_label + ")\n";
    }
    if (!f->fit.empty()) {
      const int64_t budget = parse_bytes_flag("--fit", f->fit);
      const std::optional<int> batch = fit_batch(net, options, budget);
      doc["fit_budget_bytes"] = budget;
      doc["fit_batch"] = batch ? nlohmann::json(*batch) : nlohmann::json(nullptr);
      text += "\nFits in " + format_bytes(budget) + ": ";
      text += batch ? "batch " + std::to_string(*batch) + " at " + net.input_shape().str()
                    : "not even batch 1 at " + net.input_shape().str();
      if (options.mode == Mode::train) {
        PlanOptions plain = options;
        plain.memory_budget = 0;
        if (const std::optional<BatchFit> more = fit_batch_recomputing(net, plain, budget)) {
          char line[160];
          std::snprintf(line, sizeof line, "; recomputing, batch %d with %.0f%% extra compute",
                        more->batch, 100.0 * more->extra_compute);
          text += line;
          doc["fit_batch_recomputing"] = more->batch;
          doc["fit_extra_compute"] = more->extra_compute;
        }
      }
      const bool convolutional = std::none_of(net.nodes().begin(), net.nodes().end(),
                                              [](const Net::Node& n) { return n.spec.op == "fc"; });
      if (convolutional) {
        const std::optional<FitSize> size = fit_size(net, options, budget, parse_aspect(f->aspect));
        if (size) {
          doc["fit_height"] = size->height;
          doc["fit_width"] = size->width;
          text += "; largest input at batch " + std::to_string(options.batch) + ": " +
                  std::to_string(size->width) + "x" + std::to_string(size->height) + " (WxH)";
        }
      }
      text += "\n";
    }
    if (!f->svg.empty()) {
      write_file_atomic(f->svg, plan_svg(net, p));
      text += "Wrote " + f->svg + "\n";
    }
    if (f->json) {
      std::printf("%s\n", doc.dump(2).c_str());
    } else {
      std::printf("%s", text.c_str());
      if (options.reuse && !f->explain && p.recompute_flops == 0) {
        PlanOptions separate = options;
        separate.reuse = false;
        separate.memory_budget = 0;
        const Plan without = plan(net, separate);
        std::printf("Without lifetime sharing the same buffers would take %s: sharing saves %s.\n",
                    format_bytes(without.total_bytes).c_str(),
                    format_bytes(without.total_bytes - p.total_bytes).c_str());
      }
    }
  });
}

}  // namespace footprint::cli
