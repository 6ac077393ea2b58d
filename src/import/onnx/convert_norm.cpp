// Normalisation and reductions: BatchNormalization (inference statistics as parameters),
// LayerNormalization over the channels, ReduceMean over H and W (a global average pool).
#include <set>

#include "import/onnx/converters.hpp"
#include "import/onnx/importer.hpp"
#include "import/onnx/node_attrs.hpp"

namespace footprint {

void convert_batchnorm(Importer& im) {
  NodeAttrs a(im);
  const float eps = a.get_float("epsilon", 1e-5f);
  const float momentum = a.get_float("momentum", 0.9f);
  if (a.get_int("spatial", 1) != 1) im.fail_attr("spatial", "0", "only per-channel statistics are supported");
  if (a.get_int("training_mode", 0) != 0) {
    im.fail_attr("training_mode", "1", "import the inference graph; Footprint trains it itself");
  }
  a.ignore("is_test");
  a.finish();
  im.only_first_output_used();
  const ValueRef x = im.activation(0);
  const Shape in = im.shape(x);
  static const char* const kRoles[] = {"scale", "B", "mean", "var"};
  static const char* const kParams[] = {"weight", "bias", "running_mean", "running_var"};
  std::vector<ParamSource> params;
  for (int i = 0; i < 4; ++i) {
    const auto t = im.constant(i + 1, kRoles[i]);
    if (t->dims() != std::vector<int64_t>{in.c}) {
      im.fail(std::string(kRoles[i]) + " has shape " + dims_text(t->dims()) + "; expected [" + std::to_string(in.c) + "]");
    }
    params.push_back(param_from(kParams[i], t));
  }
  // ONNX keeps `momentum` of the running value; PyTorch (and Footprint) renew that share.
  im.add_layer({.op = "batchnorm", .attrs = {{"eps", float_text(eps)}, {"momentum", float_text(1.0f - momentum)}}},
               {x}, std::move(params), x);
}

// LayerNormalization (opset 17) normalises axes [axis, rank): Footprint's layernorm is over the
// channels at each position, which is the last axis of a channels-last view (or the features
// of [N, F]).
void convert_layernorm(Importer& im) {
  NodeAttrs a(im);
  const int64_t axis = a.get_int("axis", -1);
  const float eps = a.get_float("epsilon", 1e-5f);
  a.ignore("stash_type");  // the precision of the statistics; Footprint's are float32
  a.finish();
  im.only_first_output_used();
  const ValueRef x = im.value(0);
  const int64_t first = axis < 0 ? axis + x.rank : axis;
  if (im.storage_axis(x, axis) != 1 || first != x.rank - 1) {
    im.fail_attr("axis", std::to_string(axis),
                 "Footprint's layernorm normalises the channels at each position: the last axis of a channels-last "
                 "[N, H, W, C] value (after Transpose(0, 2, 3, 1)) or of [N, C]; this input is a rank-" +
                     std::to_string(x.rank) + " " + view_name(x.view) + " value");
  }
  const int64_t channels = im.shape(x).c;
  auto per_channel = [&](int i, const char* role) {
    const auto t = im.constant(i, role);
    if (t->n_elems() != channels || (t->rank() != 1 && t->dims() != std::vector<int64_t>{1, channels})) {
      im.fail(std::string(role) + " has shape " + dims_text(t->dims()) + "; expected [" + std::to_string(channels) + "]");
    }
    return t;
  };
  std::vector<ParamSource> params = {param_from("weight", per_channel(1, "Scale"))};
  if (im.has_input(2)) {
    params.push_back(param_from("bias", per_channel(2, "B")));
  } else {
    params.push_back(param_values("bias", std::vector<float>(channels, 0.0f)));
  }
  im.add_layer({.op = "layernorm", .attrs = {{"eps", float_text(eps)}}}, {x}, std::move(params), x);
}

// ReduceMean over H and W is a global average pool (keepdims 0: [N, C]). The mean over the
// channels appears only inside a LayerNorm (fusions.cpp).
void convert_reducemean(Importer& im) {
  NodeAttrs a(im);
  const std::vector<int64_t> axes = a.get_ints("axes");
  const bool keep_dims = a.get_int("keepdims", 1) != 0;
  a.finish();
  const ValueRef x = im.value(0);
  std::set<int> storage;
  for (int64_t axis : axes) storage.insert(im.storage_axis(x, axis));
  if (storage != std::set<int>{2, 3} || axes.size() != 2 || (x.view != View::nchw && x.view != View::nhwc) ||
      x.rank != 4) {
    im.fail("ReduceMean over axes " + dims_text(axes) + " of a rank-" + std::to_string(x.rank) + " " +
            view_name(x.view) + " value; Footprint reduces H and W together (a global average pool: axes [2, 3] of "
            "NCHW); the mean over the channels only inside a LayerNorm whose intermediate values nothing else reads");
  }
  ValueRef out = x;
  if (!keep_dims) out = {.rank = 2};
  im.add_layer({.op = "globalavgpool"}, {x}, {}, out);
}

}  // namespace footprint
