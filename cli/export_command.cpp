// footprint export MODEL.fpm|NET.net|MODEL.onnx OUT.onnx: writes the net and its weights as an
// ONNX model (opset 13) that ONNX Runtime and other tools run. The mapping is the library's
// (src/export/onnx/op_table.cpp); this file picks the weights: a saved model's, an ONNX model's,
// or a .net file's seeded ones.
#include <cstdio>

#include "cli/common.hpp"
#include "core/units.hpp"

namespace footprint::cli {

void add_export_command(CLI::App& app) {
  struct Flags {
    std::string in_path, out_path, size;
    uint64_t seed = 1;
  };
  auto f = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand(
      "export", "Write a saved model, net or ONNX model as an ONNX model (opset 13) with its weights");
  cmd->add_option("model", f->in_path,
                  "Model saved by 'train --save' (.fpm), net file (.net, seeded weights) or ONNX model (.onnx)")
      ->required();
  cmd->add_option("output", f->out_path, "The ONNX file to write (atomically: OUTPUT.tmp, then renamed)")->required();
  cmd->add_option("--seed", f->seed, "Seed for the weights of a .net file (as 'run' and 'train' draw them)");
  add_size_flag(*cmd, f->size);
  cmd->footer("Each layer becomes the ONNX nodes below; the graph input is 'input' [N, C, H, W] with a symbolic "
              "batch N, each net output a graph output named after its layer. The loss is left out: a net "
              "trained with softmax_xent writes logits.\n" +
              [] {
                std::string text;
                for (const OnnxExportForm& form : onnx_export_forms()) {
                  text += "  " + form.op + std::string(form.op.size() < 14 ? 14 - form.op.size() : 1, ' ') +
                          form.onnx_nodes + "\n";
                }
                return text;
              }());
  cmd->callback([f] {
    std::optional<Shape> size = parse_size(f->size);
    std::string kind;
    Net net{Shape{}};
    if (looks_like_saved_model(f->in_path)) {
      SavedModel saved = load_model(f->in_path);
      for (SavedTensor& t : saved.tensors) std::vector<std::vector<float>>().swap(t.optimizer_state);
      net = resize_input(parse_net(saved.net_text, f->in_path), f->size);
      export_onnx(net, saved, f->out_path, f->in_path);
      kind = "the saved weights";
    } else if (looks_like_onnx(f->in_path)) {
      OnnxModel model = import_onnx(f->in_path, {.input_shape = size});
      net = resize_input(model.net, f->size);
      export_onnx(net, model.weights, f->out_path, f->in_path);
      kind = "the model's weights";
    } else {
      // The parameters a runtime draws from the seed, as 'run NET.net' uses them.
      net = resize_input(load_net_file(f->in_path), f->size);
      const Plan p = plan(net, {.batch = 1, .mode = Mode::infer, .threads = 1});
      Runtime runtime(net, p, f->seed);
      export_onnx(runtime, f->out_path, f->in_path);
      kind = "seeded weights (--seed " + std::to_string(f->seed) + ")";
    }
    std::string outputs;
    for (int v : net.outputs()) outputs += (outputs.empty() ? "'" : ", '") + net.value_name(v) + "' " + net.value_shape(v).str();
    std::fprintf(stderr, "%s: ONNX opset 13, %d layers, %s parameters (%s); input 'input' %s, output %s a sample%s\n",
                 f->out_path.c_str(), net.n_layers(), format_count(net.n_params()).c_str(), kind.c_str(),
                 net.input_shape().str().c_str(), outputs.c_str(),
                 net.loss_kind() == LossKind::softmax_xent ? " (logits: the softmax of softmax_xent is in the loss)" : "");
  });
}

}  // namespace footprint::cli
