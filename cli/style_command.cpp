// footprint style --content C --style S --model M --out OUT: neural style transfer at any size,
// tiled exactly when the whole image does not fit --memory-budget. --plan prints the memory
// plan without running; --fit BYTES the largest output that fits. Under mpirun the ranks share
// the tiles and the optimizer's state (tile-parallel); rank 0 prints and writes the images.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "cli/common.hpp"
#include "core/units.hpp"
#include "footprint/communicator.hpp"
#include "footprint/image.hpp"
#include "footprint/style.hpp"

namespace footprint::cli {
namespace {

struct Flags {
  std::string content, style, model, out, size, init = "content", optimizer = "lbfgs";
  std::string preprocess = "torch", memory_budget = "available", fit, max_pixels = "100M";
  std::string tile_bytes = "auto";
  bool no_winograd = false;
  std::string style_layers = "relu1_1,relu2_1,relu3_1,relu4_1,relu5_1", content_layer = "conv4_2";
  std::string state_dtype = "f32";
  int64_t long_side = 0;
  int save_every = 0;
  bool plan_only = false, json = false;
  int threads = default_threads();
  int ranks = 0;  // --ranks: 0 = the job's
  double comm_timeout = 60.0;
  StyleOptions options;
};

const char* kModelHelp =
    "Footprint does not ship VGG-19 weights. Export torchvision's with\n"
    "  python3 scripts/export_vgg19_onnx.py vgg19.onnx\n"
    "(needs python3-torch and python3-torchvision, and the weights once from the internet), or\n"
    "pass a .net file such as nets/vgg19-style.net to run with seeded random weights.\n"
    "See README.md, 'Style transfer'.";

// input_shape: the output size, for an ONNX model whose H and W are symbolic (the feature net is
// re-planned for each tile's size anyway).
StyleModel load_model_for_style(const Flags& f, const Shape& input_shape) {
  LoadedNet loaded = load_any_net(f.model, OnnxImportOptions::Weights::in_memory, input_shape);
  std::vector<SavedTensor> weights;
  if (loaded.weights) weights = std::move(loaded.weights->tensors);
  return make_style_model(loaded.net, std::move(weights), f.options);
}

std::vector<std::string> split_names(const std::string& text) {
  std::vector<std::string> names;
  size_t begin = 0;
  while (begin <= text.size()) {
    const size_t end = std::min(text.find(',', begin), text.size());
    if (end > begin) names.push_back(text.substr(begin, end - begin));
    begin = end + 1;
  }
  return names;
}

// "WxH" -> {height, width}.
std::pair<int64_t, int64_t> parse_output_size(const std::string& text) {
  int64_t w = 0, h = 0;
  char x = 0, extra = 0;
  if (std::sscanf(text.c_str(), "%ld%c%ld%c", &w, &x, &h, &extra) != 3 || (x != 'x' && x != 'X') ||
      w < 1 || h < 1) {
    throw Error("--size " + text + ": expected WIDTHxHEIGHT, e.g. 1920x1080");
  }
  return {h, w};
}

void print_plan(const StyleMemoryPlan& p, bool json) {
  if (json) {
    nlohmann::json j = {{"width", p.width}, {"height", p.height},
                        {"style_width", p.style_width}, {"style_height", p.style_height},
                        {"crop_width", p.crop_w}, {"crop_height", p.crop_h}, {"tiles", p.tiles},
                        {"buffer_bytes", p.buffer_bytes},
                        {"tile_runtime_bytes", p.tile_runtime_bytes},
                        {"style_phase_bytes", p.style_phase_bytes}, {"peak_bytes", p.peak_bytes},
                        {"ranks", p.ranks},
                        {"bytes_per_megapixel",
                         static_cast<double>(p.peak_bytes) / (p.width * p.height / 1e6)}};
    for (const auto& [name, bytes] : p.buffers) j["buffers"].push_back({{"name", name}, {"bytes", bytes}});
    std::printf("%s\n", j.dump(2).c_str());
    return;
  }
  std::printf("style transfer %ldx%ld (style image %ldx%ld)%s\n", p.width, p.height, p.style_width,
              p.style_height,
              p.ranks > 1 ? (", per rank of " + std::to_string(p.ranks) +
                             " (the one holding the most)").c_str()
                          : "");
  for (const auto& [name, bytes] : p.buffers)
    std::printf("  %-56s %12s\n", name.c_str(), format_bytes(bytes).c_str());
  std::printf("  %-56s %12s\n", ("feature net for one " + std::to_string(p.crop_w) + "x" +
                                 std::to_string(p.crop_h) + " crop (" + std::to_string(p.tiles) +
                                 (p.tiles == 1 ? " tile: untiled)" : " tiles)")).c_str(),
              format_bytes(p.tile_runtime_bytes).c_str());
  std::printf("  %-56s %12s\n", "while the style image's Grams are taken", format_bytes(p.style_phase_bytes).c_str());
  std::printf("peak %s (%.1f MiB per megapixel of output)\n", format_bytes(p.peak_bytes).c_str(),
              static_cast<double>(p.peak_bytes) / (1 << 20) / (p.width * p.height / 1e6));
}

// OUT.scaleS.iterN.png beside OUT: what --save-every writes.
std::string snapshot_path(const std::string& out, int scale, int iteration) {
  std::filesystem::path path(out);
  const std::filesystem::path original(out);
  path.replace_filename(original.stem().string() + ".scale" + std::to_string(scale) + ".iter" +
                        std::to_string(iteration) + original.extension().string());
  return path.string();
}

void run(Flags& f, Communicator& comm) {
  StyleOptions& o = f.options;
  const bool lead = comm.rank() == 0;  // prints, and writes every file
  const bool running = !f.plan_only && f.fit.empty();
  if (running && f.ranks > 0 && f.ranks != comm.size()) {
    throw Error("--ranks " + std::to_string(f.ranks) + ": only with --plan or --fit; this job has " +
                std::to_string(comm.size()) + " rank(s) (start more with mpirun -np N)");
  }
  o.comm = &comm;
  o.ranks = f.ranks > 0 ? f.ranks : comm.size();
  // Every path the run writes, before anything is loaded or planned.
  if (running) {
    if (f.out.empty()) throw Error("--out: required unless --plan or --fit");
    if (lead) check_writable("--out", f.out);
    if (lead && f.save_every > 0) check_writable("--save-every", snapshot_path(f.out, 1, f.save_every));
  }
  o.style_layers = split_names(f.style_layers);
  o.content_layer = f.content_layer;
  o.conv_tile_bytes = f.tile_bytes == "auto" ? kAutoConvTile
                      : f.tile_bytes == "0"  ? 0
                                             : parse_bytes_flag("--tile-bytes", f.tile_bytes);
  o.winograd_conv = !f.no_winograd;
  o.threads = f.threads;
  o.optimizer = f.optimizer == "adam" ? StyleOptimizer::adam : StyleOptimizer::lbfgs;
  o.preprocess = f.preprocess == "caffe" ? StylePreprocess::caffe : StylePreprocess::torch;
  o.compact_state = f.state_dtype == "bf16";
  const MemoryLimit limit = memory_limit(o.threads);
  if (!std::filesystem::exists(f.model)) {  // before the images are decoded
    throw IoError(f.model + ": no such model file.\n" + kModelHelp);
  }
  const int64_t max_pixels = parse_bytes_flag("--max-pixels", f.max_pixels);
  const Image content = load_image(f.content, 3, max_pixels);
  const Image style = load_image(f.style, 3, max_pixels);
  std::optional<Image> init;
  const bool random_init = f.init == "random";
  if (f.init != "content" && !random_init) init = load_image(f.init, 3, max_pixels);

  auto [h, w] = f.size.empty() ? scaled_size(content.height, content.width, f.long_side)
                               : parse_output_size(f.size);
  // Outside the plan: the decoded images (uint8) and the result's pixels. What the process may
  // still use, less those, is the default budget.
  const int64_t image_bytes = static_cast<int64_t>(content.pixels.size() + style.pixels.size() +
                                                   (init ? init->pixels.size() : 0)) + 3 * h * w;
  // Ranks on one machine share its memory: each takes its share.
  const int local_ranks = std::max(1, local_rank_count());
  const int64_t available =
      limit.bytes > 0 ? std::max<int64_t>(1, limit.bytes / local_ranks - image_bytes) : 0;
  o.memory_budget = f.memory_budget == "available"
                        ? available
                        : parse_bytes_flag("--memory-budget", f.memory_budget);
  const StyleModel model = load_model_for_style(f, Shape{.c = 0, .h = h, .w = w});
  const double style_aspect = static_cast<double>(style.width) / static_cast<double>(style.height);
  const double style_long = o.style_scale * static_cast<double>(std::max(h, w));
  const int64_t sh = std::lround(style_aspect >= 1 ? style_long / style_aspect : style_long);
  const int64_t sw = std::lround(style_aspect >= 1 ? style_long : style_long * style_aspect);
  if (!f.fit.empty()) {
    const int64_t budget = parse_bytes_flag("--fit", f.fit);
    const int64_t best = fit_style_height(model, o, static_cast<double>(w) / static_cast<double>(h),
                                          style_aspect, budget);
    if (best == 0) throw PlanError("no output size fits in " + format_bytes(budget));
    const int64_t bw = std::lround(static_cast<double>(best) * w / h);
    if (lead) {
      std::printf("largest output that fits %s%s: %ldx%ld (%.1f megapixels)\n",
                  format_bytes(budget).c_str(), o.ranks > 1 ? " per rank" : "", bw, best,
                  bw * best / 1e6);
    }
    return;
  }
  const StyleMemoryPlan p = plan_style(model, o, h, w, sh, sw);
  if (f.plan_only) {
    if (lead) print_plan(p, f.json);
    return;
  }
  if (available > 0 && p.peak_bytes > available) {  // a --memory-budget above what is left
    throw PlanError("style transfer at " + std::to_string(w) + "x" + std::to_string(h) + " plans " +
                    format_bytes(p.peak_bytes) + " (--memory-budget " + f.memory_budget + ") and " +
                    format_bytes(image_bytes) + " of images; " + limit.source + " leaves " +
                    format_bytes(limit.bytes) + "; leave --memory-budget out (it defaults to what "
                    "is left: --memory-budget " + bytes_flag_value(available) +
                    ", and tiles to fit), or see what fits with --fit " + bytes_flag_value(available));
  }
  if (lead) {
    std::fprintf(stderr, "style transfer %ldx%ld, %d scale(s) x %d iterations, %s, plan peak %s%s%s\n",
                 w, h, o.scales, o.iterations, f.optimizer.c_str(),
                 format_bytes(p.peak_bytes).c_str(), o.ranks > 1 ? " per rank" : "",
                 p.tiles > 1 ? (", " + std::to_string(p.tiles) + " tiles" +
                                (o.ranks > 1 ? " shared by " + std::to_string(o.ranks) + " ranks" : ""))
                                   .c_str()
                             : "");
  }

  ProgressLine line;
  StyleProgress last{};
  StyleCallbacks callbacks;
  callbacks.progress = [&](const StyleProgress& s) {
    last = s;
    if (!lead) return;
    char text[256];
    std::snprintf(text, sizeof text,
                  "scale %d/%d %ldx%ld  iter %d/%d  loss %.4e (content %.3e style %.3e tv %.3e)  %.2f s/it",
                  s.scale + 1, s.scales, s.width, s.height, s.iteration, s.iterations, s.loss,
                  s.content, s.style, s.tv, s.seconds);
    line.show(text, s.iteration == s.iterations);
  };
  callbacks.save_every = f.save_every;
  callbacks.save = [&](const StyleProgress& s, const Image& image) {
    if (lead) save_image(snapshot_path(f.out, s.scale + 1, s.iteration), image);
  };
  const InterruptFlag interrupt;
  callbacks.should_stop = [&interrupt] { return interrupt.raised(); };
  const Image result = style_transfer(model, o, content, style, h, w, init ? &*init : nullptr,
                                      random_init, callbacks);
  line.end();
  if (!lead) return;  // every rank holds the same image; rank 0 writes it
  save_image(f.out, result);
  const bool finished = last.scale + 1 == o.scales && last.iteration == o.iterations;
  if (interrupt.raised() && !finished) {
    std::fprintf(stderr,
                 "interrupted (%s) after iteration %d of %d at scale %d of %d: wrote the current "
                 "image (%lldx%lld) to %s\n"
                 "continue from it with the same flags and --init %s --scales 1%s\n",
                 interrupt.signal_name(), last.iteration, last.iterations, last.scale + 1,
                 o.scales, static_cast<long long>(result.width),
                 static_cast<long long>(result.height), f.out.c_str(), shell_quote(f.out).c_str(),
                 last.scale + 1 == o.scales
                     ? (" --iterations " + std::to_string(std::max(1, o.iterations - last.iteration)))
                           .c_str()
                     : "");
    throw ExitStatus{kInterruptedStatus};
  }
  std::fprintf(stderr, "wrote %s\n", f.out.c_str());
}

}  // namespace

void add_style_command(CLI::App& app) {
  auto flags = std::make_shared<Flags>();
  Flags& f = *flags;
  CLI::App* cmd = app.add_subcommand("style", "Neural style transfer at any size in bounded memory");
  cmd->add_option("--content", f.content, "Content image (PNG or JPEG)")->required();
  cmd->add_option("--style", f.style, "Style image (PNG or JPEG)")->required();
  cmd->add_option("--model", f.model, "VGG-19 as ONNX, or a .net file (seeded random weights)")->required();
  cmd->add_option("--out", f.out,
                  "Output image (.png, or .jpg); written atomically, and on Ctrl-C with the "
                  "image so far");
  cmd->add_option("--size", f.size, "Output WIDTHxHEIGHT (default: the content image's size)");
  cmd->add_option("--long-side", f.long_side, "Output long side in pixels, keeping the content's aspect")
      ->check(at_least(1));
  cmd->add_option("--iterations", f.options.iterations, "Iterations per scale")
      ->check(at_least(1))
      ->capture_default_str();
  cmd->add_option("--optimizer", f.optimizer, "lbfgs or adam")
      ->check(CLI::IsMember({"lbfgs", "adam"}))
      ->capture_default_str();
  cmd->add_option("--lr", f.options.lr,
                  "Adam's learning rate or L-BFGS's first step; auto: 0.02 for Adam, 1 for L-BFGS")
      ->check(greater_than_zero())
      ->default_str("auto");
  cmd->add_option("--history", f.options.lbfgs_history, "L-BFGS history pairs (each 2 images of memory)")
      ->check(at_least(1))
      ->capture_default_str();
  cmd->add_option("--state-dtype", f.state_dtype,
                  "f32, or bf16: the optimizer's state (L-BFGS pairs, Adam moments) and the "
                  "content target in bfloat16, half their bytes, for the largest images")
      ->check(CLI::IsMember({"f32", "bf16"}))
      ->capture_default_str();
  cmd->add_option("--content-weight", f.options.content_weight, "Weight of the content loss")
      ->check(at_least(0))
      ->capture_default_str();
  cmd->add_option("--style-weight", f.options.style_weight, "Weight of the style loss")
      ->check(at_least(0))
      ->capture_default_str();
  cmd->add_option("--tv-weight", f.options.tv_weight, "Weight of total variation (smoothness)")
      ->check(at_least(0))
      ->capture_default_str();
  cmd->add_option("--style-scale", f.options.style_scale, "Style image long side relative to the output's")
      ->check(greater_than_zero())
      ->capture_default_str();
  cmd->add_option("--scales", f.options.scales, "Coarse-to-fine scales, each twice the last")
      ->check(at_least(1))
      ->capture_default_str();
  cmd->add_option("--init", f.init, "content, random, or an image file")->capture_default_str();
  cmd->add_option("--style-layers", f.style_layers, "Comma-separated style layers")->capture_default_str();
  cmd->add_option("--content-layer", f.content_layer, "Content layer")->capture_default_str();
  cmd->add_option("--preprocess", f.preprocess, "torch (RGB, ImageNet mean/std) or caffe (BGR, mean only)")
      ->check(CLI::IsMember({"torch", "caffe"}))
      ->capture_default_str();
  cmd->add_option("--memory-budget", f.memory_budget,
                  "Bytes for the whole run, e.g. 2G; tiles when the image does not fit; available = "
                  "the memory the process may still use")
      ->capture_default_str();
  cmd->add_option("--save-every", f.save_every, "Write OUT.scaleS.iterN.png every N iterations")
      ->check(at_least(1));
  cmd->add_option("--seed", f.options.seed, "Seed for random init and for a model without weights")->capture_default_str();
  add_threads_flag(*cmd, f.threads);
  cmd->add_option("--tile-bytes", f.tile_bytes,
                  "Budget for one convolution im2col tile (auto: 1 to 16 MiB by layer; 0: whole)")
      ->capture_default_str();
  cmd->add_flag("--no-winograd", f.no_winograd,
                "Run the 3x3 convolutions by im2col + GEMM or direct loops, never by Winograd "
                "F(4x4, 3x3) (less workspace, more time)");
  cmd->add_option("--max-pixels", f.max_pixels, "Largest input image accepted")->capture_default_str();
  cmd->add_flag("--plan", f.plan_only, "Print the memory plan and stop");
  cmd->add_flag("--json", f.json, "With --plan: JSON");
  cmd->add_option("--fit", f.fit, "Print the largest output size (at the output's aspect) that fits BYTES");
  cmd->add_option("--ranks", f.ranks,
                  "With --plan or --fit: plan one rank's share when N ranks run it (mpirun -np N)")
      ->check(at_least(1))
      ->default_str("this job's ranks");
  cmd->add_option("--comm-timeout", f.comm_timeout,
                  "Seconds a rank waits for the others before ending the job")
      ->check(greater_than_zero())
      ->capture_default_str();
  cmd->callback([flags] {
    run_in_job(flags->comm_timeout, [flags](Communicator& comm) { run(*flags, comm); });
  });
}

}  // namespace footprint::cli
