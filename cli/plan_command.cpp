// footprint plan NET: prints the memory plan (table or JSON) without allocating it.
#include <cstdio>

#include "cli/common.hpp"
#include "core/units.hpp"

namespace footprint::cli {

void add_plan_command(CLI::App& app) {
  struct Flags {
    std::string net_path;
    PlanFlags plan;
    bool json = false;
  };
  auto flags = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand("plan", "Print the memory plan of a net: every buffer, "
                                             "its category and lifetime, the peak and its step");
  cmd->add_option("net", flags->net_path, "Net file (.net)")->required();
  add_plan_flags(*cmd, flags->plan, /*with_mode=*/true);
  cmd->add_flag("--json", flags->json, "Print one JSON object instead of the table");
  cmd->callback([flags] {
    const Net net = load_net_file(flags->net_path);
    const PlanOptions options = to_plan_options(flags->plan);
    const Plan p = plan(net, options);
    if (flags->json) {
      std::printf("%s\n", plan_json(net, p).c_str());
      return;
    }
    std::printf("%s: input %s, %d layers, loss %s\n", flags->net_path.c_str(),
                net.input_shape().str().c_str(), net.n_layers(), loss_name(net.loss_kind()));
    std::printf("%s", plan_table(net, p).c_str());
    if (options.reuse) {
      PlanOptions separate = options;
      separate.reuse = false;
      const Plan without = plan(net, separate);
      std::printf("Without lifetime sharing the same buffers would take %s: sharing saves %s.\n",
                  format_bytes(without.total_bytes).c_str(),
                  format_bytes(without.total_bytes - p.total_bytes).c_str());
    }
  });
}

}  // namespace footprint::cli
