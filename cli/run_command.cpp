// footprint run NET|MODEL.onnx --input x.npy --output y.npy: inference on a NumPy batch. An ONNX
// model brings its weights; a .net file runs with seeded weights (useful for checking shapes).
#include <cstdio>

#include "cli/common.hpp"
#include "footprint/image.hpp"
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

bool is_image(const std::string& path) {
  for (const char* ext : {".png", ".PNG", ".jpg", ".JPG", ".jpeg", ".JPEG"}) {
    const std::string e = ext;
    if (path.size() > e.size() && path.compare(path.size() - e.size(), e.size(), e) == 0) return true;
  }
  return false;
}

// One image as a batch of one: decoded, resized to the net's input, normalised.
template <typename Flags>
NpyArray read_image_as_batch(const Flags& f, const Shape& input) {
  if (input.c != 1 && input.c != 3) {
    throw ShapeError(f.input + ": images give 1 or 3 channels, the net takes " + std::to_string(input.c));
  }
  const ImagePreprocess pre = parse_mean_std(f.mean, f.std);
  const Image image = load_image(f.input, static_cast<int>(input.c),
                                 parse_bytes_flag("--max-pixels", f.max_pixels));
  NpyArray x{.shape = {1, input.c, input.h, input.w}};
  x.data.resize(input.n_elems());
  image_to_input(image, input, pre, x.data.data());
  return x;
}

}  // namespace

void add_run_command(CLI::App& app) {
  struct Flags {
    std::string net_path, input, output;
    int threads = default_threads();
    uint64_t seed = 1;
    std::vector<float> mean = {0.485f, 0.456f, 0.406f}, std = {0.229f, 0.224f, 0.225f};
    std::string max_pixels = "100M";
    std::string size;
  };
  auto f = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand("run", "Run a net or ONNX model on a NumPy .npy batch (inference)");
  cmd->add_option("net", f->net_path, "ONNX model (.onnx) or net file (.net, seeded weights)")->required();
  cmd->add_option("--input", f->input,
                  "float32 .npy: [N, C, H, W] (or one sample without N), or a PNG or JPEG image")
      ->required();
  cmd->add_option("--mean", f->mean,
                  "Image preprocessing: mean of p/255, one value or R G B (ImageNet's by default)")
      ->expected(1, 3)
      ->default_str("0.485 0.456 0.406");
  cmd->add_option("--std", f->std,
                  "Image preprocessing: std, one value or R G B, > 0 (ImageNet's by default)")
      ->expected(1, 3)
      ->default_str("0.229 0.224 0.225");
  cmd->add_option("--max-pixels", f->max_pixels,
                  "Refuse images larger than this many pixels before decoding")
      ->capture_default_str();
  cmd->add_option("--output", f->output, "Where to write the output as float32 .npy")->required();
  add_threads_flag(*cmd, f->threads);
  cmd->add_option("--seed", f->seed, "Seed for the weights of a .net file")->capture_default_str();
  add_size_flag(*cmd, f->size);
  cmd->callback([f] {
    check_writable("--output", f->output);  // before any work
    (void)parse_mean_std(f->mean, f->std);
    // An ONNX model with a symbolic H and W takes the size of the data (or --size, which images
    // are resized to).
    std::optional<Shape> size = parse_size(f->size);
    const bool image = is_image(f->input);
    NpyArray x;
    if (!image) {
      x = read_npy(f->input);
      if (!size && x.shape.size() == 4) size = Shape{x.shape[1], x.shape[2], x.shape[3]};
      if (!size && x.shape.size() == 3) size = Shape{x.shape[0], x.shape[1], x.shape[2]};
    }
    // The weights stay in the file until the runtime exists, then go straight into it: the run
    // never holds them twice.
    LoadedNet loaded = load_any_net(f->net_path, OnnxImportOptions::Weights::deferred, size);
    const Net net = resize_input(loaded.net, f->size);
    const MemoryLimit limit = memory_limit(f->threads);
    auto check_memory = [&](const Plan& p, int64_t input_bytes) {
      check_memory_limit(net, p, input_bytes, limit.bytes,
                         memory_advice(limit, fit_command(f->net_path, p.options, f->size, "",
                                                          limit.bytes - input_bytes)));
    };
    if (image) {  // the image becomes a batch of one of the net's input: check before decoding
      check_memory(plan(net, {.batch = 1, .mode = Mode::infer, .threads = f->threads}),
                   net.input_shape().n_elems() * static_cast<int64_t>(sizeof(float)));
      x = read_image_as_batch(*f, net.input_shape());
    }
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
                              .threads = f->threads});
    check_memory(p, static_cast<int64_t>(x.data.size() * sizeof(float)));
    Runtime runtime(net, p, f->seed);
    loaded.restore(runtime);
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
