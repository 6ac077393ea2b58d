// The finite-difference checker declared in include/footprint/gradcheck.hpp.
#include "footprint/gradcheck.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <sstream>

#include "core/check.hpp"
#include "core/rng.hpp"
#include "footprint/error.hpp"
#include "footprint/runtime.hpp"

namespace footprint {
namespace {

const Net& mse_net(const Net& net) {
  if (net.loss_kind() != LossKind::mse) {
    throw Error("gradient checks need a net ending in 'loss mse'");
  }
  return net;
}

PlanOptions train_options(PlanOptions options) {
  options.mode = Mode::train;
  options.input_grad = true;
  return options;
}

uint64_t hash_name(const std::string& name) {
  uint64_t h = 1469598103934665603ull;  // FNV-1a
  for (char ch : name) h = (h ^ static_cast<unsigned char>(ch)) * 1099511628211ull;
  return h;
}

// A runtime with the checker's input and target. The input is copied in before every forward:
// once the first layers have read it, the planner may hand its bytes to later buffers.
class Probe {
 public:
  Probe(const Net& net, const GradCheckOptions& options)
      : plan_(footprint::plan(mse_net(net), train_options(options.plan))),
        runtime_(net, plan_, options.seed),
        batch_(options.plan.batch),
        out_elems_(options.plan.batch * net.output_shape().n_elems()) {
    Rng rng(mix64(options.seed ^ 0x5eedull));
    input_.resize(batch_ * net.input_shape().n_elems());
    for (float& x : input_) x = rng.uniform(-1.0f, 1.0f);
    // mse = mean((out - target)^2) has d/d out = 2 (out - target) / n: put the target where
    // that is r, a random vector in [-1, 1], at the starting point.
    const std::vector<float> start = forward();
    target_.resize(out_elems_);
    for (int64_t i = 0; i < out_elems_; ++i) {
      const double r = rng.uniform(-1.0f, 1.0f);
      target_[i] = static_cast<float>(start[i] - r * static_cast<double>(out_elems_) / 2.0);
    }
  }

  std::vector<float> forward() {
    std::copy(input_.begin(), input_.end(), runtime_.input());
    runtime_.forward(batch_, /*training=*/true);
    return {runtime_.output(), runtime_.output() + out_elems_};
  }

  // The mse loss of a fresh forward, summed in double from the float outputs. (The runtime's
  // own loss rounds out - target to float, too coarse with this far-off target.)
  double loss() {
    const std::vector<float> out = forward();
    double sum = 0.0;
    for (int64_t i = 0; i < out_elems_; ++i) {
      const double diff = static_cast<double>(out[i]) - target_[i];
      sum += diff * diff;
    }
    return sum / static_cast<double>(out_elems_);
  }

  // The runtime's own loss at the current point, for a cross-check of loss() above.
  double runtime_loss() {
    (void)forward();
    std::copy(target_.begin(), target_.end(), static_cast<float*>(runtime_.target()));
    return runtime_.loss(batch_);
  }

  std::vector<TensorGrad> analytic() {
    (void)forward();
    std::copy(target_.begin(), target_.end(), static_cast<float*>(runtime_.target()));
    (void)runtime_.loss_and_backward(batch_);
    // Copied out at once: arena gradients share bytes with the next forward's buffers.
    std::vector<TensorGrad> grads;
    const float* d_input = runtime_.input_grad();
    grads.push_back({"input", {d_input, d_input + input_.size()}});
    for (const ParamView& p : runtime_.parameters()) {
      if (p.trainable && p.grad) grads.push_back({p.name, {p.grad, p.grad + p.n_elems}});
    }
    return grads;
  }

  // Where the value of a tensor's element lives: the host input copy or the parameter itself.
  float* element(const std::string& tensor, int64_t index) {
    if (tensor == "input") return &input_[index];
    for (const ParamView& p : runtime_.parameters())
      if (p.name == tensor) return p.data + index;
    FP_CHECK(false, "no tensor named %s", tensor.c_str());
    return nullptr;
  }

 private:
  Plan plan_;
  Runtime runtime_;
  int batch_;
  int64_t out_elems_;
  std::vector<float> input_;
  std::vector<float> target_;
};

// Every index when the tensor is small, else max_points distinct ones from a fixed seed.
std::vector<int64_t> sample_points(int64_t n_elems, int max_points, uint64_t seed) {
  std::vector<int64_t> all(n_elems);
  std::iota(all.begin(), all.end(), int64_t{0});
  if (n_elems <= max_points) return all;
  Rng rng(seed);
  for (int i = 0; i < max_points; ++i) {
    std::swap(all[i], all[i + static_cast<int64_t>(rng.below(n_elems - i))]);
  }
  all.resize(max_points);
  std::sort(all.begin(), all.end());
  return all;
}

}  // namespace

std::string GradCheckResult::report() const {
  std::ostringstream out;
  out << checked << " points checked, " << kinks << " skipped at kinks, " << failures.size()
      << " failed; worst relative error of a pass " << worst;
  for (const std::string& f : failures) out << "\n  " << f;
  return out.str();
}

std::vector<TensorGrad> analytic_gradients(const Net& net, const GradCheckOptions& options) {
  Probe probe(net, options);
  return probe.analytic();
}

GradCheckResult check_gradients(const Net& net, const GradCheckOptions& options) {
  Probe probe(net, options);
  GradCheckResult result;
  const std::vector<TensorGrad> grads = probe.analytic();
  const double base = probe.loss();
  const double runtime_base = probe.runtime_loss();
  if (!(std::fabs(runtime_base - base) <= 1e-5 * std::max(1.0, std::fabs(base)))) {
    std::ostringstream line;
    line << "the runtime's loss " << runtime_base << " differs from the checker's " << base;
    result.failures.push_back(line.str());
  }
  constexpr int kMaxFailuresPerTensor = 8;
  for (const TensorGrad& grad : grads) {
    const auto n_elems = static_cast<int64_t>(grad.values.size());
    int failed_here = 0;
    for (int64_t index :
         sample_points(n_elems, options.max_points, options.seed ^ hash_name(grad.name))) {
      float* x = probe.element(grad.name, index);
      const float original = *x;
      // The steps actually taken, after rounding to float.
      const float up = original + static_cast<float>(options.eps);
      const float down = original - static_cast<float>(options.eps);
      *x = up;
      const double loss_up = probe.loss();
      *x = down;
      const double loss_down = probe.loss();
      *x = original;
      const double step_up = static_cast<double>(up) - original;
      const double step_down = static_cast<double>(original) - down;
      const double numeric = (loss_up - loss_down) / (step_up + step_down);
      const double right = (loss_up - base) / step_up, left = (base - loss_down) / step_down;
      const double analytic = grad.values[index];
      const double scale = std::max({std::fabs(analytic), std::fabs(numeric), options.floor});
      const double allowed = options.tolerance * scale;
      if (std::fabs(analytic - numeric) <= allowed) {
        ++result.checked;
        result.worst = std::max(result.worst, std::fabs(analytic - numeric) / scale);
        continue;
      }
      // A kink: the slope changes inside [x - eps, x + eps], and on one side it is the analytic
      // one.
      const bool kink =
          std::fabs(right - left) > allowed &&
          std::min(std::fabs(analytic - right), std::fabs(analytic - left)) <= allowed;
      if (kink) {
        ++result.kinks;
        continue;
      }
      ++result.checked;
      if (++failed_here > kMaxFailuresPerTensor) continue;
      std::ostringstream line;
      line << grad.name << "[" << index << "] (of " << n_elems << "): analytic " << analytic
           << ", numeric " << numeric << " (one-sided " << left << ", " << right << "), |diff| "
           << std::fabs(analytic - numeric) << " > allowed " << allowed;
      result.failures.push_back(line.str());
    }
    if (failed_here > kMaxFailuresPerTensor) {
      std::ostringstream line;
      line << grad.name << ": " << failed_here - kMaxFailuresPerTensor
           << " more failures not shown";
      result.failures.push_back(line.str());
    }
  }
  if (result.kinks * 3 > result.checked + result.kinks) {
    std::ostringstream line;
    line << "more than a third of the points sit at kinks: " << result.kinks << " of "
         << result.checked + result.kinks << "; try a smaller eps";
    result.failures.push_back(line.str());
  }
  return result;
}

}  // namespace footprint
