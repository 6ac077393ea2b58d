// A data-parallel training run as a user's program would make it, for tests/dist/dist_test.cpp
// to start under mpirun (or alone, as one process): trains a net on Fashion-MNIST or synthetic
// data through the library (world_communicator, TrainOptions::communicator), checks on every
// rank that the runtime's tracked peak equals its plan and that every rank ends with the same
// weights, and writes rank 0's weights for the test to compare. It can also kill or stop one
// of its ranks at a given step, to test how the others end.
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
#include <span>
#include <string>

#include <CLI/CLI.hpp>

#include "footprint/footprint.hpp"
#include "footprint/communicator.hpp"

namespace footprint {
namespace {

struct Args {
  std::string net, data = "synthetic", out, save, resume;
  int batch = 64, threads = 1, prefetch = 0, loader_threads = 1;
  int64_t steps = 100, synthetic_size = 6400, checkpoint_every = 0, bucket_bytes = 1 << 20;
  float lr = 0.05f;
  std::string optimizer = "sgd";
  uint64_t seed = 1;
  int kill_rank = -1, stop_rank = -1;
  int64_t kill_step = -1, stop_step = -1, timeout_ms = 60000;
};

Args parse(int argc, char** argv) {
  Args a;
  CLI::App app{"dist_driver: data-parallel training for tests/dist/dist_test.cpp"};
  // A flag given again overrides the earlier one (tests append to a base command line).
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app.add_option("--net", a.net);
  app.add_option("--data", a.data);
  app.add_option("--out", a.out);
  app.add_option("--save", a.save);
  app.add_option("--resume", a.resume);
  app.add_option("--batch", a.batch);
  app.add_option("--threads", a.threads);
  app.add_option("--prefetch", a.prefetch);
  app.add_option("--loader-threads", a.loader_threads);
  app.add_option("--steps", a.steps);
  app.add_option("--synthetic-size", a.synthetic_size);
  app.add_option("--checkpoint-every", a.checkpoint_every);
  app.add_option("--bucket-bytes", a.bucket_bytes);
  app.add_option("--lr", a.lr);
  app.add_option("--optimizer", a.optimizer);
  app.add_option("--seed", a.seed);
  app.add_option("--kill-rank", a.kill_rank);
  app.add_option("--kill-step", a.kill_step);
  app.add_option("--stop-rank", a.stop_rank);
  app.add_option("--stop-step", a.stop_step);
  app.add_option("--timeout-ms", a.timeout_ms);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    throw Error(e.what());
  }
  if (a.net.empty() && a.resume.empty()) throw Error("give --net NET or --resume FILE");
  return a;
}

OptimizerKind optimizer_kind(const std::string& name) {
  for (OptimizerKind k : {OptimizerKind::sgd, OptimizerKind::momentum, OptimizerKind::adam,
                          OptimizerKind::adamw})
    if (name == optimizer_name(k)) return k;
  throw Error("unknown optimizer " + name);
}

// FNV-1a over every parameter's bytes: equal on every rank when the weights are.
uint64_t weights_hash(const Runtime& runtime) {
  uint64_t h = 1469598103934665603ull;
  for (const ParamView& p : runtime.parameters()) {
    const auto* bytes = reinterpret_cast<const unsigned char*>(p.data);
    for (int64_t i = 0; i < p.n_elems * 4; ++i) h = (h ^ bytes[i]) * 1099511628211ull;
  }
  return h;
}

void write_weights(const std::string& path, const Runtime& runtime) {
  std::ofstream file(path, std::ios::binary);
  for (const ParamView& p : runtime.parameters())
    file.write(reinterpret_cast<const char*>(p.data), p.n_elems * 4);
  if (!file) throw IoError("cannot write " + path);
}

int run(int argc, char** argv) {
  const Args a = parse(argc, argv);
  Communicator& comm = world_communicator(std::chrono::milliseconds(a.timeout_ms));
  const int rank = comm.rank(), ranks = comm.size();
  try {
    std::optional<SavedModel> resumed;
    Net net{Shape{}};
    TrainOptions options{.steps = a.steps, .optimizer = {.lr = a.lr}, .seed = a.seed,
                         .loader_threads = a.loader_threads, .communicator = &comm,
                         .global_batch = a.batch};
    OptimizerKind optimizer = optimizer_kind(a.optimizer);
    if (!a.resume.empty()) {
      resumed = load_model(a.resume);
      net = parse_net(resumed->net_text, a.resume);
      optimizer = resumed->optimizer;
      options.optimizer = resumed->optimizer_params;
      options.seed = resumed->train_state.seed;
      options.start_step = resumed->train_state.steps;
      options.global_batch = static_cast<int>(resumed->train_state.batch);
    } else {
      net = load_net_file(a.net);
    }
    const Plan p = plan(net, {.batch = rank_batch(options.global_batch, ranks),
                              .optimizer = optimizer, .threads = a.threads,
                              .prefetch_batches = a.prefetch, .ranks = ranks,
                              .gradient_bucket_bytes = a.bucket_bytes});
    Dataset data;
    if (a.data == "fashion") {
      data = load_mnist_dir(kFashionMnistDir).train;
    } else {
      data = synthetic_dataset(net.input_shape(), static_cast<int>(net.output_shape().n_elems()),
                               a.synthetic_size, 7);
    }
    Runtime runtime(net, p, options.seed);
    if (resumed) restore_parameters(*resumed, runtime);
    double last_loss = 0.0, last_accuracy = 0.0, wait = 0.0, step_seconds = 0.0;
    const int64_t steps = train(
        runtime, data, nullptr, options,
        [&](const TrainProgress& pr) {
          last_loss = pr.loss;
          last_accuracy = pr.accuracy;
          wait = pr.sum_wait_seconds;
          step_seconds = pr.step_seconds;
          if (rank == a.kill_rank && pr.step == a.kill_step) raise(SIGKILL);
          if (rank == a.stop_rank && pr.step == a.stop_step) raise(SIGSTOP);
          if (rank == 0 && a.checkpoint_every > 0 && pr.step % a.checkpoint_every == 0) {
            save_model(a.save, runtime, options.optimizer,
                       {.seed = options.seed, .steps = pr.step,
                        .forward_calls = runtime.forward_calls(), .batch = options.global_batch});
          }
        },
        nullptr);
    const int64_t tracked = tracked_memory().peak_bytes;
    std::printf("rank %d of %d: %lld steps, plan %lld bytes, tracked peak %lld bytes, %zu "
                "gradient buckets, waited %.3f s of %.3f s\n",
                rank, ranks, static_cast<long long>(steps), static_cast<long long>(p.total_bytes),
                static_cast<long long>(tracked), p.gradient_buckets.size(), wait, step_seconds);
    uint64_t hash = weights_hash(runtime), hash0 = hash;
    comm.broadcast(std::as_writable_bytes(std::span<uint64_t>(&hash0, 1)), 0);
    double disagree = hash == hash0 ? 0.0 : 1.0;
    comm.sum(std::span<double>(&disagree, 1));
    if (rank == 0) {
      std::printf("loss %.6f accuracy %.4f\n", last_loss, last_accuracy);
      std::printf("ranks whose weights differ from rank 0's: %d\n", static_cast<int>(disagree));
      if (!a.out.empty()) write_weights(a.out, runtime);
    }
    std::fflush(stdout);
    if (tracked != p.total_bytes) return 4;
    return disagree == 0.0 ? 0 : 3;
  } catch (const Error& e) {
    if (ranks > 1) comm.abort(e.what());
    std::fprintf(stderr, "rank %d: %s\n", rank, e.what());
    return 2;
  }
}

}  // namespace
}  // namespace footprint

int main(int argc, char** argv) {
  try {
    return footprint::run(argc, argv);
  } catch (const footprint::Error& e) {
    std::fprintf(stderr, "dist_driver: %s\n", e.what());
    return 2;
  }
}
