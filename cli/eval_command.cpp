// footprint eval MODEL --data ...: accuracy and loss of a saved model on a data set's test part.
#include <cstdio>

#include "cli/common.hpp"

namespace footprint::cli {

void add_eval_command(CLI::App& app) {
  struct Flags {
    std::string model_path, data = "fashion-mnist";
    int batch = 100;
    int threads = default_threads();
  };
  auto f = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand("eval", "Accuracy and loss of a saved model");
  cmd->add_option("model", f->model_path, "Model file written by 'footprint train --save'")->required();
  cmd->add_option("--data", f->data, "fashion-mnist[:DIR], mnist:DIR or synthetic")->capture_default_str();
  add_batch_flag(*cmd, f->batch, "Samples per forward pass");
  add_threads_flag(*cmd, f->threads);
  cmd->callback([f] {
    const SavedModel saved = load_model(f->model_path);
    const Net net = parse_net(saved.net_text, f->model_path);
    const Plan p = plan(net, {.batch = f->batch, .mode = Mode::infer, .threads = f->threads});
    const MemoryLimit limit = memory_limit(p.options.threads);
    const DataSplit data = load_data(f->data, net, /*synthetic_size=*/f->batch);
    const int64_t data_bytes = data.train.bytes() + data.test.bytes();
    check_memory_limit(net, p, data_bytes, limit.bytes,
                       memory_advice(limit, fit_command(f->model_path, p.options, "", "",
                                                        limit.bytes - data_bytes)));
    Runtime runtime(net, p);
    restore_parameters(saved, runtime);
    const Dataset& set = data.test.size > 0 ? data.test : data.train;
    const EvalResult r = evaluate(runtime, set);
    std::printf("%s on %s (%lld samples): accuracy %.2f%%, loss %.4f\n", f->model_path.c_str(),
                set.name.c_str(), static_cast<long long>(r.samples), 100.0 * r.accuracy, r.loss);
  });
}

}  // namespace footprint::cli
