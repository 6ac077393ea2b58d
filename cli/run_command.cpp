// footprint run NET|MODEL.onnx --input x.npy --output y.npy: inference on a NumPy batch. An ONNX
// model brings its weights; a .net file runs with seeded weights (useful for checking shapes).
#include <cstdio>

#include "cli/common.hpp"
#include "footprint/npy.hpp"

namespace footprint::cli {
namespace {

// A sample's dims as NumPy shows them: C x 1 x 1 -> (C), C x 1 x W -> (C, W), else (C, H, W).
std::vector<int64_t> sample_dims(const Shape& s) {
  if (s.h == 1 && s.w == 1) return {s.c};
  if (s.h == 1) return {s.c, s.w};
  return {s.c, s.h, s.w};
}

std::string shape_text(const std::vector<int64_t>& dims) {
  std::string text = "(";
  for (size_t i = 0; i < dims.size(); ++i) text += (i ? ", " : "") + std::to_string(dims[i]);
  return text + (dims.size() == 1 ? ",)" : ")");
}

}  // namespace

void add_run_command(CLI::App& app) {
  struct Flags {
    std::string net_path, input, output;
    int threads = 0;
    uint64_t seed = 1;
  };
  auto f = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand("run", "Run a net or ONNX model on a NumPy .npy batch (inference)");
  cmd->add_option("net", f->net_path, "ONNX model (.onnx) or net file (.net, seeded weights)")->required();
  cmd->add_option("--input", f->input, "float32 .npy: [N, C, H, W] (or one sample without N)")->required();
  cmd->add_option("--output", f->output, "Where to write the output as float32 .npy")->required();
  cmd->add_option("--threads", f->threads, "Worker threads (default: the number of cores)")
      ->check(CLI::Range(1, 256));
  cmd->add_option("--seed", f->seed, "Seed for the weights of a .net file");
  cmd->callback([f] {
    LoadedNet loaded = load_any_net(f->net_path, /*with_weights=*/true);
    const Net& net = loaded.net;
    NpyArray x = read_npy(f->input);
    const std::vector<int64_t> dims = sample_dims(net.input_shape());
    int64_t batch = 1;
    std::vector<int64_t> sample(x.shape);
    if (x.shape.size() == dims.size() + 1) {
      batch = x.shape[0];
      sample.erase(sample.begin());
    }
    if (sample != dims || batch < 1 || batch > (1 << 20)) {
      std::vector<int64_t> want = dims;
      want.insert(want.begin(), -1);
      throw ShapeError(f->input + ": shape " + shape_text(x.shape) + " does not fit " + f->net_path +
                       ", which takes " + shape_text(want).replace(1, 2, "N") + " or " + shape_text(dims));
    }
    const Plan p = plan(net, {.batch = static_cast<int>(batch), .mode = Mode::infer,
                              .threads = f->threads > 0 ? f->threads : default_threads()});
    Runtime runtime(net, p, f->seed);
    if (loaded.weights) {
      restore_parameters(*loaded.weights, runtime);
      loaded.weights.reset();
    }
    std::copy(x.data.begin(), x.data.end(), runtime.input());
    std::vector<float>().swap(x.data);
    runtime.forward(static_cast<int>(batch), /*training=*/false);
    std::vector<int64_t> out_dims = sample_dims(net.output_shape());
    out_dims.insert(out_dims.begin(), batch);
    write_npy(f->output, out_dims, runtime.output());
    std::fprintf(stderr, "%s: %s -> %s, plan %lld bytes\n", f->output.c_str(), shape_text(x.shape).c_str(),
                 shape_text(out_dims).c_str(), static_cast<long long>(p.total_bytes));
  });
}

}  // namespace footprint::cli
