// footprint run NET|MODEL.onnx|MODEL.fpm --input x.npy --output y.npy: inference on a NumPy
// batch. An ONNX model and a model saved by `train --save` bring their weights; a .net file runs
// with seeded weights (useful for checking shapes). Says whether the output is logits or
// probabilities, and with --report what the process used beside the plan.
#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/common.hpp"
#include "footprint/image.hpp"
#include "footprint/npy.hpp"
#include "footprint/process_memory.hpp"

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

// The net with a softmax over the channels of its first output, which becomes that output.
Net with_softmax(const Net& net) {
  Net out(net.input_shape());
  for (const Net::Node& node : net.nodes()) out.add(node.spec);
  std::string name = "softmax";
  for (int i = 1; out.find_value(name) >= 0; ++i) name = "softmax_" + std::to_string(i);
  std::vector<std::string> outputs;
  for (int v : net.outputs()) outputs.push_back(net.value_name(v));
  out << softmax(name).from({outputs[0]});
  outputs[0] = name;
  out.set_outputs(outputs);
  return out;
}

// What the first output holds, for the line run prints: probabilities when a softmax writes it,
// logits when the net was trained with softmax_xent (whose softmax is in the loss, not the net).
std::string output_kind(const Net& net, bool softmax_added, bool softmax_flag) {
  const Net::Node& last = net.node(net.outputs().at(0) - 1);
  if (softmax_added) {
    return "probabilities (softmax over the " + std::to_string(last.out_shape.c) + " classes, --softmax)";
  }
  if (last.spec.op == "softmax") {
    return "probabilities (the net ends in softmax '" + last.spec.name + "'" +
           (softmax_flag ? "; --softmax added none" : "") + ")";
  }
  if (net.loss_kind() == LossKind::softmax_xent) {
    return "logits (the net was trained with softmax_xent, whose softmax is in the loss; --softmax gives probabilities)";
  }
  return "the values of '" + last.spec.name + "' (" + last.spec.op + ") as the net computes them, no softmax applied";
}

}  // namespace

void add_run_command(CLI::App& app) {
  struct Flags {
    std::string net_path, input, output;
    int threads = default_threads();
    uint64_t seed = 1;
    std::vector<float> mean = {0.485f, 0.456f, 0.406f}, std = {0.229f, 0.224f, 0.225f};
    std::string max_pixels = "100M";
    std::string size, report;
    bool softmax = false;
    CLI::Option* mean_option = nullptr;
    CLI::Option* std_option = nullptr;
  };
  auto f = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand(
      "run", "Run a saved model, ONNX model or net on a NumPy .npy batch or an image (inference)");
  cmd->add_option("net", f->net_path,
                  "Model saved by 'train --save' (.fpm), ONNX model (.onnx) or net file (.net, seeded weights)")
      ->required();
  cmd->add_option("--input", f->input,
                  "float32 .npy: [N, C, H, W] (or one sample without N), or a PNG or JPEG image")
      ->required();
  f->mean_option = cmd->add_option("--mean", f->mean,
                  "Image preprocessing: mean of p/255, one value or R G B (ImageNet's by default)")
      ->expected(1, 3)
      ->default_str("0.485 0.456 0.406");
  f->std_option = cmd->add_option("--std", f->std,
                  "Image preprocessing: std, one value or R G B, > 0 (ImageNet's by default)")
      ->expected(1, 3)
      ->default_str("0.229 0.224 0.225");
  cmd->add_option("--max-pixels", f->max_pixels,
                  "Refuse images larger than this many pixels before decoding")
      ->capture_default_str();
  cmd->add_option("--output", f->output, "Where to write the output as float32 .npy")->required();
  add_threads_flag(*cmd, f->threads);
  cmd->add_option("--seed", f->seed, "Seed for the weights of a .net file")->capture_default_str();
  cmd->add_flag("--softmax", f->softmax,
                "Apply a softmax over the classes (channels) of the output before writing it: "
                "probabilities instead of the logits a net trained with softmax_xent gives");
  cmd->add_option("--report", f->report,
                  "Write the memory figures as JSON here: planned_bytes, outside_bytes, "
                  "rss_growth_bytes (from the runtime's creation), model_bytes, peak_rss_bytes");
  add_size_flag(*cmd, f->size);
  cmd->callback([f] {
    check_writable("--output", f->output);  // before any work
    if (!f->report.empty()) check_writable("--report", f->report);
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
    // An ONNX model's weights stay in the file until the runtime exists, then go straight into
    // it: the run never holds them twice. A saved model is read whole before the runtime exists
    // (its optimizer state let go at once), and its weights are let go once restored.
    LoadedNet loaded;
    std::optional<SavedModel> saved;
    std::vector<std::string> class_names;  // a saved model's, when it was trained on a folder
    int64_t model_bytes = 0;
    if (looks_like_saved_model(f->net_path)) {
      saved = load_model(f->net_path);
      for (SavedTensor& t : saved->tensors) {
        std::vector<std::vector<float>>().swap(t.optimizer_state);
        model_bytes += static_cast<int64_t>(t.data.size() * sizeof(float));
      }
      loaded.net = parse_net(saved->net_text, f->net_path);
      // A model trained on images normalises them as it was trained, unless told otherwise.
      const ModelLabels& labels = saved->labels;
      if (labels.has_normalisation && f->mean_option->count() == 0 && f->std_option->count() == 0) {
        f->mean.assign(labels.normalisation.mean.begin(), labels.normalisation.mean.end());
        f->std.assign(labels.normalisation.std.begin(), labels.normalisation.std.end());
      }
      class_names = labels.class_names;
    } else {
      loaded = load_any_net(f->net_path, OnnxImportOptions::Weights::deferred, size);
    }
    const int first_output = loaded.net.outputs().at(0);
    const bool softmax_added =
        f->softmax && first_output > 0 && loaded.net.node(first_output - 1).spec.op != "softmax";
    const Net net = softmax_added ? with_softmax(resize_input(loaded.net, f->size)) : resize_input(loaded.net, f->size);
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
    // What the process adds from here on is the plan and what the plan names outside it.
    const bool peak_restarted = restart_peak_resident();
    const int64_t resident_before = resident_bytes();
    Runtime runtime(net, p, f->seed);
    if (saved) {
      restore_parameters(*saved, runtime);
      saved.reset();
    }
    loaded.restore(runtime);
    std::copy(x.data.begin(), x.data.end(), runtime.input());
    std::vector<float>().swap(x.data);
    runtime.forward(static_cast<int>(batch), /*training=*/false);
    std::vector<int64_t> out_dims = sample_dims(net.output_shape());
    out_dims.insert(out_dims.begin(), batch);
    write_npy(f->output, out_dims, runtime.output());
    const int64_t growth = peak_restarted ? peak_resident_bytes() - resident_before : -1;
    std::fprintf(stderr, "%s: %s -> %s, plan %lld bytes\n", f->output.c_str(), shape_text(x.shape).c_str(),
                 shape_text(out_dims).c_str(), static_cast<long long>(p.total_bytes));
    const std::string kind = output_kind(net, softmax_added, f->softmax);
    std::fprintf(stderr, "output: %s\n", kind.c_str());
    // The class each sample's largest output names, when the model knows its classes.
    const int64_t per_sample = net.output_shape().n_elems();
    if (!class_names.empty() && per_sample == static_cast<int64_t>(class_names.size())) {
      constexpr int64_t kShown = 20;
      for (int64_t i = 0; i < std::min(batch, kShown); ++i) {
        const float* y = runtime.output() + i * per_sample;
        const int64_t best = std::max_element(y, y + per_sample) - y;
        std::printf("sample %lld: %s (%s %.4g)\n", static_cast<long long>(i),
                    class_names[static_cast<size_t>(best)].c_str(),
                    kind.starts_with("probabilities") ? "probability" : "score", y[best]);
      }
      if (batch > kShown) std::printf("... (%lld samples; all outputs in %s)\n", static_cast<long long>(batch), f->output.c_str());
    }
    if (!f->report.empty()) {
      const nlohmann::json report = {{"planned_bytes", p.total_bytes},
                                     {"outside_bytes", p.outside_bytes()},
                                     {"rss_growth_bytes", growth},
                                     {"peak_rss_bytes", peak_rss_bytes()},
                                     {"model_bytes", model_bytes},
                                     {"batch", batch},
                                     {"threads", p.options.threads},
                                     {"output", kind}};
      write_file_atomic(f->report, report.dump(2) + "\n");
    }
  });
}

}  // namespace footprint::cli
