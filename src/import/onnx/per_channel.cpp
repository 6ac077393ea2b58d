// Per-channel scales and shifts: folded into the layer that writes the value, or an affine layer.
#include "import/onnx/per_channel.hpp"

namespace footprint {

std::optional<std::vector<float>> per_channel_values(Importer& im, const ValueRef& x, const ConstTensor& c) {
  const int64_t channels = im.shape(x).c;
  if (c.rank() > x.rank) return std::nullopt;
  bool along_channels = false;
  for (int j = 0; j < c.rank(); ++j) {
    const int64_t d = c.dims()[j];
    if (d == 1) continue;
    const int axis = x.rank - c.rank() + j;  // NumPy broadcasting aligns on the right
    if (im.storage_axis(x, axis) != 1 || d != channels) return std::nullopt;
    along_channels = true;
  }
  std::vector<float> values = c.floats();
  if (!along_channels) values.assign(channels, values.empty() ? 0.0f : values[0]);
  return values;
}

namespace {

// Scales each of `out_c` consecutive blocks of a parameter by scale[block] (a conv's or fc's
// weights are [out_c, ...]).
void scale_blocks(ParamSource& p, const std::vector<float>& scale) {
  const int64_t block = p.n_elems / static_cast<int64_t>(scale.size());
  p.fill = [old = std::move(p.fill), scale, block](float* dst) {
    old(dst);
    for (size_t o = 0; o < scale.size(); ++o)
      for (int64_t i = 0; i < block; ++i) dst[o * block + i] *= scale[o];
  };
}

// bias * scale + shift, for an existing bias.
void scale_shift(ParamSource& p, const std::vector<float>& scale, const std::vector<float>& shift) {
  p.fill = [old = std::move(p.fill), scale, shift](float* dst) {
    old(dst);
    for (size_t o = 0; o < (scale.empty() ? shift.size() : scale.size()); ++o) {
      if (!scale.empty()) dst[o] *= scale[o];
      if (!shift.empty()) dst[o] += shift[o];
    }
  };
}

// Folds into the layer that writes x, when it is a conv, fc or affine whose output only this
// node reads; false when there is no such layer.
bool fold_into_producer(Importer& im, const ValueRef& x, const std::vector<float>& scale,
                        const std::vector<float>& shift) {
  PendingLayer* producer = im.sole_reader_producer(x);
  if (!producer) return false;
  const std::string& op = producer->spec.op;
  if (op != "conv" && op != "fc" && op != "affine") return false;
  const int64_t channels = im.shape(x).c;
  // conv and fc write [out_c, ...] weights, affine one weight per channel.
  if (op == "fc" && x.rank != 2) return false;
  std::vector<ParamSource>& params = producer->params;
  if (params.empty() || params[0].n_elems % channels != 0) return false;
  if (!scale.empty()) scale_blocks(params[0], scale);
  const bool has_bias = producer->spec.attrs.count("bias") == 0;  // bias=false is written out
  if (has_bias) {
    scale_shift(params.back(), scale, shift);
  } else if (!shift.empty()) {
    producer->spec.attrs.erase("bias");
    params.push_back(param_values("bias", shift));
  }
  im.alias(x);
  return true;
}

}  // namespace

void apply_per_channel(Importer& im, const ValueRef& x, std::vector<float> scale, std::vector<float> shift) {
  if (fold_into_producer(im, x, scale, shift)) return;
  const int64_t channels = im.shape(x).c;
  LayerSpec spec{.op = "affine"};
  if (scale.empty()) scale.assign(channels, 1.0f);
  std::vector<ParamSource> params = {param_values("weight", std::move(scale))};
  if (shift.empty()) {
    spec.attrs["bias"] = "false";
  } else {
    params.push_back(param_values("bias", std::move(shift)));
  }
  im.add_layer(spec, {x}, std::move(params), x);
}

}  // namespace footprint
