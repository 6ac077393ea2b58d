// footprint: plan, train and evaluate CNNs whose memory is known before they run.
// Bad input (files, flags, shapes) prints one line and exits with status 2.
#include <cstdio>
#include <string>

#include "cli/common.hpp"
#include "footprint/blas_core.hpp"
#include "footprint/version.hpp"

int main(int argc, char** argv) {
  // OpenBLAS picked its kernels when it loaded; on a CPU model it does not know, generic SSE
  // ones: start again with the kernels this CPU can run (FOOTPRINT_KEEP_BLAS_CORE=1 keeps them).
  footprint::restart_with_fast_blas(argv);
  CLI::App app{"Footprint: CNNs whose memory is planned, explained and kept before they run"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("footprint ") + footprint::version());
  footprint::cli::add_plan_command(app);
  footprint::cli::add_train_command(app);
  footprint::cli::add_eval_command(app);
  footprint::cli::add_run_command(app);
  footprint::cli::add_style_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return 2;
  } catch (const footprint::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 2;
  }
  return 0;
}
