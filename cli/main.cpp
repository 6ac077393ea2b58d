// footprint: plan, train and evaluate CNNs whose memory is known before they run.
// Bad input (files, flags, shapes, paths, memory) prints one line and exits with status 2; an
// interrupted train or style run saves what it has and exits with 130.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <new>
#include <string>

#include "cli/common.hpp"
#include "core/units.hpp"
#include "footprint/blas_core.hpp"
#include "footprint/version.hpp"

namespace {

// OpenBLAS starts a thread per core as it is loaded, before main, and each maps a 128 MiB buffer
// at once, retrying forever when `ulimit -v` leaves no room for it (the process then hangs, even
// on exit). Footprint runs every GEMM on its own threads with OpenBLAS single-threaded, so those
// threads only idle: the CLI starts itself again with OPENBLAS_NUM_THREADS=1 when it is not set,
// which keeps them from being made. The same process (pid, signals, arguments) carries on.
// OpenBLAS also picked its kernels when it loaded; on a CPU model it does not know, generic SSE
// ones: restart_with_fast_blas starts again with the kernels this CPU can run
// (FOOTPRINT_KEEP_BLAS_CORE=1 keeps them). Both changes take one restart at most.
void restart_with_blas_settings(char** argv) {
  const bool set_threads = std::getenv("OPENBLAS_NUM_THREADS") == nullptr;
  if (set_threads) ::setenv("OPENBLAS_NUM_THREADS", "1", 1);
  footprint::restart_with_fast_blas(argv);  // returns when no other core is needed (or it failed)
  if (set_threads) ::execv("/proc/self/exe", argv);  // returns only when it failed: carry on
}

int print_error(const std::string& message) {
  footprint::cli::end_progress_line();
  std::fprintf(stderr, "error: %s\n", message.c_str());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  restart_with_blas_settings(argv);
  CLI::App app{"Footprint: CNNs whose memory is planned, explained and kept before they run"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("footprint ") + footprint::version());
  // One line, like every other error: "error: --lr: must be greater than 0 (got 0)".
  app.failure_message([](const CLI::App* cmd, const CLI::Error& e) {
    std::string sub;
    for (const CLI::App* parsed : cmd->get_subcommands()) sub = " " + parsed->get_name();
    return "error: " + std::string(e.what()) + " (see: footprint" + sub + " --help)\n";
  });
  app.formatter(std::make_shared<footprint::cli::HelpFormatter>());
  footprint::cli::add_plan_command(app);
  footprint::cli::add_train_command(app);
  footprint::cli::add_eval_command(app);
  footprint::cli::add_run_command(app);
  footprint::cli::add_export_command(app);
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
  } catch (const footprint::cli::ExitStatus& e) {
    footprint::cli::end_progress_line();
    return e.code;
  } catch (const footprint::Error& e) {
    return print_error(e.what());
  } catch (const std::bad_alloc&) {
    // The memory guard refuses plans that do not fit before allocating; this is what it could
    // not foresee (another process took the memory meanwhile, or a bound was too small).
    return print_error("out of memory: an allocation failed (the memory available now is " +
                       footprint::format_bytes(footprint::available_memory_bytes()) +
                       "); try a smaller --batch or --size, or --memory-budget");
  }
  return 0;
}
