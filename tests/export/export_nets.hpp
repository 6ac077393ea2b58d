// Nets for the exporter's tests, which between them use every layer in layer_list.def with the
// options whose ONNX form differs (per-axis windows, groups, dilation, ceil mode, padding counted
// or not, every pad and resize mode, N-ary joins, broadcasting, [N, F] values after fc), and
// helpers to give a net random weights and run it. Shared by the re-import test
// (onnx_export_test.cpp) and the ONNX Runtime test (onnx_ort_test.cpp).
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "footprint/net.hpp"
#include "footprint/plan.hpp"
#include "footprint/runtime.hpp"
#include "testing/nets.hpp"

namespace footprint::testing {

struct ExportCase {
  std::string name;
  std::string net_text;
  // Re-imported, the net computes the same floats (false where the importer folds layers
  // together: an affine into the conv before it, gelu's tanh form as separate layers).
  bool bit_identical = true;
  // Re-imported, the net has the same layers (false where the importer folds some away).
  bool same_layers = true;
};

inline std::vector<ExportCase> export_cases() {
  return {
      {"windows",
       "input 3 13 11\n"
       "conv 8 k=3 pad=1 name=c1\n"
       "batchnorm eps=0.001 name=bn1\n"
       "relu name=r1\n"
       "conv 8 kh=3 kw=2 stride_h=2 pad_top=1 pad_bottom=2 pad_right=1 dilation_h=2 groups=2 name=c2\n"
       "leakyrelu slope=0.1 name=lr\n"
       "maxpool k=3 stride=2 pad=1 ceil=true name=mp\n"
       "avgpool kh=2 kw=3 stride=1 pad_left=1 pad_right=1 count_include_pad=true name=ap1\n"
       "avgpool k=3 stride=2 pad=1 ceil=true name=ap2\n"
       "conv 16 k=1 bias=false name=c3\n"
       "conv 16 k=3 pad=1 groups=16 name=dw\n"
       "tanh name=t\n"
       "maxpool k=2 stride=2 pad=1 ceil=true in=c1 name=mp_drop\n"
       "avgpool k=2 stride=2 ceil=true count_include_pad=true in=c1 name=ap_edge\n"
       "globalavgpool in=t name=gap\n"
       "fc 10 name=fc\n"
       "softmax name=sm\n"
       "output sm,mp_drop,ap_edge\n"},
      {"elementwise",
       "input 6 7 9\n"
       "conv 6 k=3 pad=1 name=c0\n"
       "sigmoid name=sg\n"
       "clip min=-0.5 max=0.7 in=c0 name=cl\n"
       "hardsigmoid alpha=0.3 beta=0.4 in=c0 name=hsg\n"
       "hardswish in=c0 name=hsw\n"
       "silu in=c0 name=si\n"
       "gelu in=c0 name=ge\n"
       "dropout p=0.3 name=dr\n"
       "add in=sg,cl,hsg name=sum3\n"
       "add in=hsw,si name=sum2\n"
       "concat in=sum3,sum2,dr name=cat\n"
       "globalavgpool name=gap\n"
       "mul in=cat,gap name=m\n"
       "sub in=m,cat name=s\n"
       "sigmoid in=c0 name=pos\n"
       "slice start=2 end=3 name=one\n"
       "div in=s,one name=d\n"
       "relu name=r\n"
       "affine bias=false name=af_scale\n"
       "clip name=relu6\n"
       "affine name=af\n"
       "output af,d\n"},
      {"folds",  // what the importer folds: an affine into the conv before it; gelu's tanh form
       "input 5 6 6\n"
       "conv 7 k=3 pad=1 name=c\n"
       "affine name=af\n"
       "gelu approximate=tanh name=gt\n"
       "conv 4 k=1 bias=false name=c2\n"
       "affine name=af2\n",
       /*bit_identical=*/false, /*same_layers=*/false},
      {"layout",
       "input 8 6 5\n"
       "shuffle groups=4 name=sh\n"
       "slice start=1 end=7 name=sc\n"
       "slice start=1 end=5 axis=h name=sh2\n"
       "slice start=0 end=4 axis=w name=sw\n"
       "pad pad=1 value=0.5 name=p1\n"
       "pad pad_top=2 pad_left=1 pad_bottom=0 pad_right=1 mode=reflect name=p2\n"
       "pad pad=1 mode=edge name=p3\n"
       "upsample name=u1\n"
       "upsample scale_h=2 scale_w=3 mode=bilinear align_corners=true name=u2\n"
       "upsample h=13 w=11 mode=bilinear name=u3\n"
       "upsample h=9 w=7 mode=bilinear align_corners=true name=u4\n"
       "upsample scale=3 in=sw name=u5\n"
       "upsample h=7 w=5 mode=bilinear in=sw name=u6\n"
       "upsample h=7 w=10 in=sw name=u7\n"
       "upsample h=3 w=2 in=sw name=u8\n"
       "convtranspose 4 k=3 stride=2 pad=1 output_pad=1 in=u4 name=ct1\n"
       "convtranspose 6 kh=3 kw=2 stride_h=2 pad_top=1 pad_right=1 output_pad_h=1 dilation_w=2 groups=2 name=ct2\n"
       "layernorm name=ln1\n"
       "layernorm eps=0.001 affine=false name=ln2\n"
       "pad pad=1 name=pz\n"
       "avgpool k=3 stride=2 name=apz\n"
       "flatten name=fl\n"
       "fc 12 bias=false name=fc\n"
       "output fc,ln1,u5,u6,u7,u8\n",
       /*bit_identical=*/true, /*same_layers=*/false},  // the zero pad before apz becomes its padding
      {"features",  // [N, F] values after fc, mixed with [N, C, H, W] ones
       "input 5 4 4\n"
       "fc 16 name=f1\n"
       "batchnorm name=bn\n"
       "relu name=r\n"
       "layernorm name=ln\n"
       "dropout p=0.2 name=d\n"
       "affine name=af\n"
       "fc 12 name=f2\n"
       "concat in=f2,af name=cat\n"
       "hardswish name=hs\n"
       "softmax name=sm\n"
       "conv 5 k=1 in=af name=cv\n"
       "fc 5 in=af name=f3\n"
       "sub in=f3,cv name=sb\n"
       "mul in=input,f3 name=ml\n"
       "slice start=1 end=4 in=f3 name=sl\n"
       "add in=f3,sb name=ad\n"
       "output sm,ml,sl,ad\n"},
      {"lenet", read_text(net_path("lenet"))},
      {"fashion-cnn", read_text(net_path("fashion-cnn"))},
      {"resnet-block", with_input(read_text(net_path("resnet-block")), "input 64 14 14")},
      {"inception-block", with_input(read_text(net_path("inception-block")), "input 192 9 9")},
  };
}

// Random floats in [-1, 1), from a seed (the same on every machine).
inline std::vector<float> uniform_values(int64_t n, uint32_t seed) {
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) {
    seed = seed * 1664525u + 1013904223u;
    x = static_cast<float>(seed >> 8) / 8388608.0f - 1.0f;
  }
  return v;
}

// Every parameter moved off its initial value: batch-norm statistics, layer-norm and affine
// weights start as ones and zeros, which would hide a scale or shift exported in the wrong place.
inline void randomise_parameters(Runtime& runtime, uint32_t seed) {
  for (const ParamView& p : runtime.parameters()) {
    const std::vector<float> noise = uniform_values(p.n_elems, seed++);
    const bool variance = p.name.size() >= 11 && p.name.compare(p.name.size() - 11, 11, "running_var") == 0;
    for (int64_t i = 0; i < p.n_elems; ++i) {
      p.data[i] = variance ? 0.6f + 0.5f * std::fabs(noise[i]) : p.data[i] + 0.3f * noise[i];
    }
  }
}

// Every output of a runtime after forward, in Net::outputs() order.
inline std::vector<std::vector<float>> outputs_of(const Runtime& runtime, int batch) {
  std::vector<std::vector<float>> out;
  const Net& net = runtime.net();
  for (size_t k = 0; k < net.outputs().size(); ++k) {
    const int64_t n = batch * net.value_shape(net.outputs()[k]).n_elems();
    const float* y = runtime.output(static_cast<int>(k));
    out.emplace_back(y, y + n);
  }
  return out;
}

// The largest |a - b| and the largest |b|.
struct Difference {
  double max_abs = 0.0, max_ref = 0.0;
  [[nodiscard]] double relative() const { return max_ref > 0.0 ? max_abs / max_ref : max_abs; }
};
inline Difference difference(const std::vector<float>& a, const std::vector<float>& b) {
  Difference d;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
    const double diff = std::fabs(static_cast<double>(a[i]) - b[i]);
    d.max_abs = std::isnan(diff) ? INFINITY : std::max(d.max_abs, diff);
    d.max_ref = std::max(d.max_ref, std::fabs(static_cast<double>(b[i])));
  }
  return d;
}

}  // namespace footprint::testing
