// Test-only driver for torch_gradients_test.py: one training backward of an ONNX model with an
// mse loss on a given input and target, written out so the script can compare it with PyTorch's
// autograd. Not part of the product: `footprint train` steps the optimizer and never shows a
// gradient.
//   torch_gradients_driver MODEL.onnx x.npy target.npy OUT_DIR
// writes OUT_DIR/input_grad.npy, OUT_DIR/p<i>.npy and OUT_DIR/g<i>.npy (value and gradient of
// the i-th trainable parameter, flat) and OUT_DIR/index.json: the loss and, per parameter, its
// name, element count and files.
#include <cstdio>
#include <exception>
#include <fstream>
#include <string>
#include <vector>

#include <footprint/footprint.hpp>
#include <footprint/npy.hpp>
#include <footprint/onnx.hpp>

using namespace footprint;

int main(int argc, char** argv) try {
  if (argc != 5) {
    std::fprintf(stderr, "usage: torch_gradients_driver MODEL.onnx x.npy target.npy OUT_DIR\n");
    return 2;
  }
  const std::string out_dir = argv[4];
  const NpyArray x = read_npy(argv[2]);
  const NpyArray target = read_npy(argv[3]);
  if (x.shape.size() != 4) throw Error(std::string(argv[2]) + ": expected [N, C, H, W]");
  const int batch = static_cast<int>(x.shape[0]);
  OnnxModel model = import_onnx(argv[1], {.input_shape = Shape{x.shape[1], x.shape[2], x.shape[3]}});
  Net net = model.net;
  net << LayerSpec{.op = "loss", .arg = "mse"};
  if (static_cast<int64_t>(target.data.size()) != batch * net.output_shape().n_elems()) {
    throw Error(std::string(argv[3]) + ": " + std::to_string(target.data.size()) + " values, the output has " +
                std::to_string(batch * net.output_shape().n_elems()));
  }
  const Plan p = plan(net, {.batch = batch, .mode = Mode::train, .threads = 2, .input_grad = true});
  Runtime runtime(net, p);
  model.restore_weights(runtime);
  std::copy(x.data.begin(), x.data.end(), runtime.input());
  std::copy(target.data.begin(), target.data.end(), static_cast<float*>(runtime.target()));
  runtime.forward(batch, /*training=*/true);
  const double loss = runtime.loss_and_backward(batch);

  write_npy(out_dir + "/input_grad.npy", x.shape, runtime.input_grad());
  std::string index = "{\"loss\": " + std::to_string(loss) + ", \"params\": [";
  int i = 0;
  for (const ParamView& param : runtime.parameters()) {
    if (param.grad == nullptr) continue;  // batch-norm running statistics
    const std::string n = std::to_string(i);
    write_npy(out_dir + "/p" + n + ".npy", {param.n_elems}, param.data);
    write_npy(out_dir + "/g" + n + ".npy", {param.n_elems}, param.grad);
    index += std::string(i ? ", " : "") + "{\"name\": \"" + param.name + "\", \"n_elems\": " +
             std::to_string(param.n_elems) + ", \"value\": \"p" + n + ".npy\", \"grad\": \"g" + n + ".npy\"}";
    ++i;
  }
  std::ofstream(out_dir + "/index.json") << index << "]}\n";
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "torch_gradients_driver: %s\n", e.what());
  return 1;
}
