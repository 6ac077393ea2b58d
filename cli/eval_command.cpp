// footprint eval MODEL --data ...: accuracy and loss of a saved model on a data set's test part.
#include <cstdio>

#include "cli/common.hpp"
#include "cli/data_flags.hpp"

namespace footprint::cli {

void add_eval_command(CLI::App& app) {
  struct Flags {
    std::string model_path;
    DataFlags data;
    int batch = 100;
    int threads = default_threads();
  };
  auto f = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand("eval", "Accuracy and loss of a saved model");
  cmd->add_option("model", f->model_path, "Model file written by 'footprint train --save'")->required();
  add_data_flags(*cmd, f->data);
  add_batch_flag(*cmd, f->batch, "Samples per forward pass");
  add_threads_flag(*cmd, f->threads);
  cmd->callback([f] {
    const SavedModel saved = load_model(f->model_path);
    const Net net = parse_net(saved.net_text, f->model_path);
    // Images are read as the model was trained: its classes, its normalisation (unless given).
    DataFlags data_flags = f->data;
    use_saved_normalisation(data_flags, saved.labels);
    const int prefetch = prefetch_batches(data_flags);
    Plan p = plan(net, {.batch = f->batch, .mode = Mode::infer, .threads = f->threads,
                        .prefetch_batches = prefetch});
    const MemoryLimit limit = memory_limit(p.options.threads);
    const TrainingData data =
        open_training_data(data_flags, net, /*synthetic_size=*/f->batch, saved.labels.class_names);
    for (const Plan::OutsideLine& line : data.outside_lines(net.input_shape())) p.outside.push_back(line);
    for (const std::string& note : data.notes) std::fprintf(stderr, "%s\n", note.c_str());
    const int64_t data_bytes = data.held_bytes();
    check_memory_limit(net, p, data_bytes, limit.bytes,
                       memory_advice(limit, fit_command(f->model_path, p.options, "", "",
                                                        limit.bytes - data_bytes)));
    Runtime runtime(net, p);
    restore_parameters(saved, runtime);
    const DataSource& set = data.test ? *data.test : *data.train;
    int64_t skipped = 0;
    const EvalResult r = evaluate(runtime, set, data.loader_threads, [&](const std::string& message) {
      std::fprintf(stderr, "warning: skipped %s\n", message.c_str());
      ++skipped;
    });
    std::printf("%s on %s (%lld samples): accuracy %.2f%%, loss %.4f\n", f->model_path.c_str(),
                set.name().c_str(), static_cast<long long>(r.samples), 100.0 * r.accuracy, r.loss);
    if (skipped > 0) std::printf("skipped %lld unreadable samples\n", static_cast<long long>(skipped));
  });
}

}  // namespace footprint::cli
