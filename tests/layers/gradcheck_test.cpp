// Gradient checks for every layer in layer_list.def, by finite differences through the public
// API (include/footprint/gradcheck.hpp, the checker users run on layers of their own). Every
// layer that can be written as its bare keyword is checked in a generated net
// (EveryLayerInLayerList); a layer that needs options (conv 8 k=3) needs a row in kNets below,
// and rows for its options' corners are welcome for any layer. Dropout's random mask is checked
// on its own.
#include "footprint/gradcheck.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include "core/rng.hpp"
#include "core/thread_pool.hpp"
#include "footprint/error.hpp"
#include "footprint/net.hpp"
#include "footprint/plan.hpp"
#include "footprint/runtime.hpp"
#include "layers/layer.hpp"

namespace footprint {
namespace {

constexpr int64_t kDefaultTileBytes = PlanOptions{}.conv_tile_bytes;

// One tiny net that exercises `op`; every net ends in `loss mse`.
struct NetCase {
  const char* op;
  const char* text;
  int batch = 2;
  int64_t conv_tile_bytes = kDefaultTileBytes;  // small values make conv run in row tiles
};

const NetCase kNets[] = {
    {"conv", "input 2 5 6\nconv 3 k=3 pad=1\nloss mse"},
    {"conv", "input 2 7 6\nconv 3 k=3 stride=2 pad=1\nloss mse"},
    {"conv", "input 3 8 7\nconv 2 k=3 dilation=2 pad=1\nloss mse"},
    {"conv", "input 4 5 5\nconv 6 k=3 groups=2 pad=1\nloss mse"},
    {"conv", "input 3 5 6\nconv 3 k=3 groups=3 stride=2\nloss mse"},  // depthwise
    {"conv", "input 2 5 5\nconv 3 k=2 bias=false\nloss mse"},
    {"conv", "input 3 4 5\nconv 2 k=1\nloss mse"},  // pointwise: no im2col
    // Row tiles: 1 output row per tile, then 2 (tiles 2,2,2,2,1 and 2,2,1).
    {"conv", "input 2 9 7\nconv 3 k=3 pad=1\ntanh\nconv 2 k=3 stride=2 pad=1\nloss mse", 2, 1},
    {"conv", "input 2 9 7\nconv 3 k=3 pad=1\ntanh\nconv 2 k=3 stride=2 pad=1\nloss mse", 2, 1100},
    {"conv", "input 2 6 5\nconv 4 k=3 stride=2 pad=1\nrelu\nconv 3 k=1\nloss mse", 3},
    // Rectangular kernel, per-axis strides and one-sided (SAME-style) padding, as ONNX gives.
    {"conv", "input 2 6 7\nconv 3 kh=3 kw=2 stride_h=2 pad_top=1 pad_bottom=0 pad_right=1\nloss mse"},
    {"conv", "input 2 6 6\nconv 2 k=3 dilation_h=2 pad_left=2 stride_w=2\nloss mse"},
    {"maxpool", "input 2 6 7\nmaxpool k=2\nloss mse"},
    {"maxpool", "input 2 5 7\nmaxpool k=3 stride=2 ceil=true\nloss mse"},
    {"maxpool", "input 2 6 5\nmaxpool kh=2 kw=3 stride=1 pad_bottom=1 pad_left=2\nloss mse"},
    {"avgpool", "input 2 5 6\navgpool k=3 stride=2 pad_top=2 pad_right=1 count_include_pad=true\nloss mse"},
    {"avgpool", "input 2 5 7\navgpool k=3 stride=2 pad=1 ceil=true count_include_pad=true\nloss mse"},
    {"avgpool", "input 2 5 7\navgpool kh=2 kw=3 ceil=true\nloss mse"},
    {"maxpool", "input 2 7 7\nmaxpool k=3 stride=2 pad=1\nloss mse"},
    {"maxpool", "input 2 6 6\nmaxpool k=2 stride=1\nloss mse"},  // overlapping windows
    {"maxpool", "input 2 6 6\nconv 3 k=3 pad=1\nmaxpool k=2\nloss mse"},
    {"avgpool", "input 2 7 7\navgpool k=3 stride=2 pad=1\nloss mse"},
    {"avgpool", "input 2 6 5\nconv 3 k=3 pad=1\navgpool k=2\nloss mse"},
    {"globalavgpool", "input 3 4 5\nconv 4 k=3 pad=1\nglobalavgpool\nloss mse"},
    {"globalavgpool", "input 2 3 3\nglobalavgpool\nloss mse"},
    {"fc", "input 2 3 3\nfc 5\nloss mse"},
    {"fc", "input 2 3 3\nfc 4 bias=false\ntanh\nfc 3\nloss mse"},
    {"fc", "input 3 4 4\nconv 2 k=3\nfc 3\nloss mse", 3},
    {"relu", "input 2 4 4\nconv 3 k=3 pad=1\nrelu\nloss mse"},
    {"relu", "input 3 4 4\nrelu\nloss mse"},
    {"leakyrelu", "input 2 4 4\nconv 3 k=3 pad=1\nleakyrelu slope=0.2\nloss mse"},
    {"leakyrelu", "input 3 4 4\nleakyrelu\nloss mse"},
    {"tanh", "input 2 4 4\nconv 3 k=3 pad=1\ntanh\nloss mse"},
    {"sigmoid", "input 2 4 4\nconv 3 k=3 pad=1\nsigmoid\nfc 3\nloss mse"},
    {"softmax", "input 3 4 4\nconv 4 k=1\nsoftmax\nloss mse"},  // over channels, per position
    {"softmax", "input 2 3 3\nfc 5\nsoftmax\nfc 3\nloss mse"},
    {"batchnorm", "input 3 4 4\nconv 4 k=3 pad=1\nbatchnorm\nloss mse"},
    {"batchnorm", "input 3 4 5\nbatchnorm\ntanh\nloss mse"},
    {"batchnorm", "input 2 3 3\nbatchnorm eps=0.001\nconv 2 k=3 pad=1\nloss mse", 3},
    // p=0: the mask keeps everything, so repeated forwards agree (the mask is tested below).
    {"dropout", "input 2 4 4\nconv 3 k=3 pad=1\nrelu\ndropout p=0\nloss mse"},
    {"dropout", "input 3 4 4\ndropout p=0\ntanh\nloss mse"},
    // Values read twice, so gradients accumulate (a concat or add input written second adds to
    // what the other reader wrote): 'a' feeds tanh and add/concat; 'b' feeds add/concat and add.
    {"add", "input 2 4 4\nconv 2 k=1 name=a\ntanh\nadd a\nloss mse"},
    {"add",
     "input 2 4 4\nconv 3 k=3 pad=1 name=a\nrelu\nconv 3 k=3 pad=1\nadd a\nsigmoid\nloss mse"},
    {"add", "input 2 3 4\nconv 2 k=1 name=a\ntanh name=b\nadd a\nadd b\nloss mse"},
    {"flatten", "input 2 3 4\nconv 3 k=3 pad=1\nflatten\nsoftmax\nloss mse"},
    {"flatten", "input 2 3 3\nconv 2 k=1 name=a\nflatten\nrelu name=b\nfc 18\nadd b\nloss mse"},
    {"concat", "input 2 4 4\nconv 2 k=1 name=a\ntanh\nconcat a\nloss mse"},
    {"concat",
     "input 2 3 4\nconv 2 k=1 name=a\ntanh name=b\nconcat a\nconv 2 k=1\nadd b\nloss mse"},
    {"concat",
     "input 2 4 5\nconv 3 k=3 pad=1 name=a\nsigmoid\nconv 2 k=1\nconcat a\nconv 2 k=3\nloss mse"},
    // Depthwise (groups = in = out) and ResNeXt-like grouped convs, both with stride 2.
    {"conv", "input 8 7 6\nconv 8 k=3 groups=8 stride=2 pad=1\nloss mse"},
    {"conv", "input 8 7 7\nconv 16 k=3 groups=4 stride=2 pad=1\nloss mse"},
    // One value read by three layers (three inputs): the first writes its gradient, the rest add.
    {"mul", "input 2 4 4\nconv 2 k=1 name=a\nmul in=a,a name=m\nadd in=m,a\nloss mse"},
    {"add", "input 2 3 3\nconv 2 k=1 name=a\nadd in=a,a,a\nloss mse"},
    {"sub", "input 2 3 4\nconv 2 k=1 name=a\ntanh name=t\nsub in=a,t name=d\nsub in=d,a\nloss mse"},
    // Broadcasting: squeeze-excitation's C x 1 x 1 on either side, 1 x H x W over C x H x W,
    // C x 1 x W and C x H x 1, and two inputs broadcast along different axes (1xHx1 by Cx1xW).
    {"mul", "input 4 3 5\nconv 4 k=1 name=x\nglobalavgpool\nsigmoid name=s\nmul in=x,s\nloss mse"},
    {"mul", "input 4 3 5\nconv 4 k=1 name=x\nglobalavgpool\nsigmoid name=s\nmul in=s,x\nloss mse"},
    {"mul", "input 3 4 5\nconv 3 k=1 name=x\nconv 1 k=1 in=input name=m\nmul in=x,m\nloss mse"},
    {"mul", "input 3 4 5\nconv 3 k=1 name=x\nconv 1 k=1 in=input name=m\nmul in=m,x\nloss mse"},
    {"mul", "input 3 4 5\nconv 3 k=1 name=x\navgpool kh=4 kw=1 name=r\nmul in=x,r\nloss mse"},
    {"mul", "input 3 4 5\nconv 3 k=1 name=x\navgpool kh=1 kw=5 name=r\nmul in=r,x\nloss mse"},
    {"mul",
     "input 3 4 5\nconv 1 k=1 name=a\navgpool kh=1 kw=5 name=col\nconv 3 k=1 in=input\n"
     "avgpool kh=4 kw=1 name=row\nmul in=col,row\nloss mse"},
    {"sub", "input 4 3 5\nconv 4 k=1 name=x\nglobalavgpool\ntanh name=s\nsub in=x,s\nloss mse"},
    {"sub", "input 4 3 5\nconv 4 k=1 name=x\nglobalavgpool\ntanh name=s\nsub in=s,x\nloss mse"},
    {"sub", "input 3 4 5\nconv 3 k=1 name=x\navgpool kh=4 kw=1 name=r\nsub in=r,x\nloss mse"},
    {"sub",
     "input 3 4 5\nconv 1 k=1 name=a\navgpool kh=1 kw=5 name=col\nconv 3 k=1 in=input\n"
     "avgpool kh=4 kw=1 name=row\nsub in=row,col\nloss mse"},
    // In place: x feeds only the sub and has the output's shape.
    {"sub", "input 3 4 5\nglobalavgpool name=s\nconv 3 k=1 in=input name=x\nsub in=x,s\nloss mse"},
    // Denominators are sigmoids, kept away from 0 where finite differences would break down.
    {"div", "input 3 4 5\nconv 3 k=1 name=a\nconv 3 k=1 in=input\nsigmoid name=b\ndiv in=a,b\nloss mse"},
    {"div", "input 4 3 5\nconv 4 k=1 name=x\nglobalavgpool\nsigmoid name=s\ndiv in=x,s\nloss mse"},
    {"div",
     "input 4 3 5\nconv 4 k=1\nsigmoid name=d\nglobalavgpool in=input name=s\ndiv in=s,d\nloss mse"},
    {"div",
     "input 3 4 5\nconv 3 k=1 name=x\nconv 1 k=1 in=input\nsigmoid name=m\ndiv in=x,m\nloss mse"},
    {"div",
     "input 3 4 5\nconv 1 k=1 name=x\nconv 3 k=1 in=input\nsigmoid\navgpool kh=4 kw=1 name=d\n"
     "div in=x,d\nloss mse"},
    {"div", "input 2 3 4\nconv 2 k=1\nsigmoid name=a\ndiv in=a,a\nloss mse"},
    {"clip", "input 2 4 4\nconv 3 k=3 pad=1\nclip min=-0.3 max=0.4\nloss mse"},
    {"clip", "input 3 4 4\nconv 3 k=1 name=a\nadd in=a,a,a,a\nclip min=0.2 max=1.5\nloss mse"},
    {"hardsigmoid", "input 3 4 4\nconv 3 k=1\nhardsigmoid alpha=0.1666667 beta=0.5\nloss mse"},
    {"hardsigmoid", "input 3 4 4\nconv 3 k=1\nhardsigmoid alpha=1.5 beta=0.2\nloss mse"},
    {"hardsigmoid", "input 3 4 4\nconv 3 k=1\nhardsigmoid alpha=-0.8 beta=0.6\nloss mse"},
    // Sums of six copies reach past +-3, so every piece of hardswish is used.
    {"hardswish", "input 3 4 4\nconv 3 k=1 name=a\nadd in=a,a,a,a,a,a\nhardswish\nloss mse"},
    {"silu", "input 3 4 4\nconv 3 k=1 name=a\nadd in=a,a,a,a,a,a\nsilu\nloss mse"},
    {"gelu", "input 3 4 4\nconv 3 k=1 name=a\nadd in=a,a,a,a\ngelu\nloss mse"},
    {"gelu", "input 3 4 4\nconv 3 k=1 name=a\nadd in=a,a,a,a\ngelu approximate=tanh\nloss mse"},
    {"layernorm", "input 5 3 4\nconv 5 k=3 pad=1\nlayernorm\nconv 3 k=1\nloss mse"},
    {"layernorm", "input 4 3 3\nconv 4 k=1\nlayernorm affine=false eps=0.001\nconv 2 k=1\nloss mse"},
    {"layernorm", "input 3 9 9\nlayernorm\ntanh\nloss mse", 1},  // 81 positions: two blocks
    {"shuffle", "input 6 3 4\nconv 6 k=1\nshuffle groups=2\nconv 4 k=1\nloss mse"},
    {"shuffle", "input 6 3 4\nconv 6 k=1\nshuffle groups=3\ntanh\nloss mse"},
    {"slice", "input 3 4 5\nconv 6 k=1\nslice start=1 end=4\nloss mse"},
    {"slice", "input 3 6 5\nconv 2 k=1\nslice start=2 end=5 axis=h\nloss mse"},
    {"slice", "input 3 4 6\nconv 2 k=1\nslice start=1 end=4 axis=w\nloss mse"},
    // Two parts of one value (chunk): the slice that runs backward second (the first one) adds
    // its part of the gradient; the parts do not start at 0, so an offset left out shows.
    {"slice",
     "input 3 4 5\nconv 6 k=1 name=x\nslice start=3 end=6 in=x name=p\n"
     "slice start=0 end=3 in=x name=q\nmul in=p,q\nloss mse"},
    {"slice",
     "input 3 4 6\nconv 2 k=1 name=x\nslice start=3 end=5 axis=w in=x name=p\n"
     "slice start=1 end=3 axis=w in=x name=q\nadd in=p,q\nloss mse"},
    {"slice",
     "input 3 6 4\nconv 2 k=1 name=x\nslice start=2 end=5 axis=h in=x name=p\n"
     "slice start=0 end=3 axis=h in=x name=q\nadd in=p,q\nloss mse"},
    {"pad",
     "input 2 4 5\nconv 2 k=1\npad pad_top=1 pad_left=2 pad_bottom=0 pad_right=1 value=0.5\n"
     "conv 2 k=3\nloss mse"},
    {"pad",
     "input 2 4 5\nconv 2 k=1\npad pad_top=2 pad_left=1 pad_bottom=3 pad_right=4 mode=reflect\n"
     "conv 2 k=3\nloss mse"},
    {"pad",
     "input 2 4 5\nconv 2 k=1\npad pad_top=0 pad_left=3 pad_bottom=2 pad_right=1 mode=edge\n"
     "conv 2 k=3\nloss mse"},
    {"pad", "input 2 3 3\nconv 2 k=1\npad pad=2 mode=reflect\nloss mse"},
    {"upsample", "input 2 3 4\nconv 2 k=1\nupsample mode=bilinear\nloss mse"},
    {"upsample", "input 2 3 4\nconv 2 k=1\nupsample scale=3 mode=bilinear align_corners=true\nloss mse"},
    {"upsample", "input 2 3 4\nconv 2 k=1\nupsample scale_h=3 scale_w=1\nloss mse"},
    {"upsample", "input 2 3 4\nconv 2 k=1\nupsample h=7 w=5\nloss mse"},
    {"upsample", "input 2 3 4\nconv 2 k=1\nupsample h=5 w=9 mode=bilinear\nloss mse"},
    {"upsample",
     "input 2 3 4\nconv 2 k=1\nupsample h=7 w=6 mode=bilinear align_corners=true\nloss mse"},
    {"upsample", "input 2 5 7\nconv 2 k=1\nupsample h=2 w=3 mode=bilinear\nloss mse"},  // smaller
    {"convtranspose", "input 2 3 4\nconvtranspose 3 k=3 stride=2 pad=1 output_pad=1\nloss mse"},
    {"convtranspose", "input 4 4 3\nconvtranspose 6 k=3 groups=2 stride=2\nloss mse"},
    {"convtranspose", "input 3 4 4\nconvtranspose 2 k=3 dilation=2 pad=1\nloss mse"},
    {"convtranspose", "input 2 3 3\nconvtranspose 3 k=2 stride=2 bias=false\ntanh\nloss mse"},
    {"convtranspose",
     "input 2 4 3\nconvtranspose 3 kh=3 kw=2 stride_h=2 pad_top=1 pad_right=1 output_pad_h=1\n"
     "loss mse"},
    {"convtranspose", "input 3 3 4\nconvtranspose 2 k=1\nloss mse"},  // pointwise: no columns
    {"convtranspose", "input 4 4 6\nconvtranspose 4 k=3 stride=2 groups=4 dilation=2 pad=2\nloss mse"},
    // Tiles of one input row, then 2.
    {"convtranspose", "input 3 5 4\nconv 3 k=1\nconvtranspose 2 k=3 stride=2 pad=1\nloss mse", 2, 1},
    {"convtranspose", "input 3 5 4\nconv 3 k=1\nconvtranspose 2 k=3 stride=2 pad=1\nloss mse", 3,
     900},
    {"affine", "input 3 4 4\nconv 3 k=3 pad=1\naffine\ntanh\nloss mse"},
    {"affine", "input 3 4 4\naffine bias=false\nloss mse"},
    // Input gradients that add: x is read by the layer (y) and, after it, by globalavgpool, whose
    // backward runs first and writes x's gradient; the layer's then adds to it.
    {"mul",
     "input 2 4 5\nconv 2 k=1 name=x\n"
     "mul in=x,x name=y\n"
     "globalavgpool in=x name=g\nmul in=y,g\nloss mse"},
    {"sub",
     "input 2 4 5\nconv 2 k=1 name=x\n"
     "globalavgpool in=x name=p\nsub in=x,p name=y\n"
     "globalavgpool in=x name=g\nmul in=y,g\nloss mse"},
    {"div",
     "input 2 4 5\nconv 2 k=1 name=x\n"
     "sigmoid in=x name=s\ndiv in=x,s name=y\n"
     "globalavgpool in=x name=g\nmul in=y,g\nloss mse"},
    {"clip",
     "input 2 4 5\nconv 2 k=1 name=x\n"
     "clip in=x min=-0.2 max=0.3 name=y\n"
     "globalavgpool in=x name=g\nmul in=y,g\nloss mse"},
    {"hardsigmoid",
     "input 2 4 5\nconv 2 k=1 name=x\n"
     "hardsigmoid in=x alpha=2 name=y\n"
     "globalavgpool in=x name=g\nmul in=y,g\nloss mse"},
    {"hardswish",
     "input 2 4 5\nconv 2 k=1 name=x\n"
     "hardswish in=x name=y\n"
     "globalavgpool in=x name=g\nmul in=y,g\nloss mse"},
    {"silu",
     "input 2 4 5\nconv 2 k=1 name=x\n"
     "silu in=x name=y\n"
     "globalavgpool in=x name=g\nmul in=y,g\nloss mse"},
    {"gelu",
     "input 2 4 5\nconv 2 k=1 name=x\n"
     "gelu in=x approximate=tanh name=y\n"
     "globalavgpool in=x name=g\nmul in=y,g\nloss mse"},
    {"layernorm",
     "input 2 4 5\nconv 2 k=1 name=x\n"
     "layernorm in=x name=y\n"
     "globalavgpool in=x name=g\nmul in=y,g\nloss mse"},
    {"shuffle",
     "input 2 4 5\nconv 2 k=1 name=x\n"
     "shuffle in=x groups=2 name=y\n"
     "globalavgpool in=x name=g\nmul in=y,g\nloss mse"},
    {"slice",
     "input 2 4 5\nconv 2 k=1 name=x\n"
     "slice in=x start=1 end=3 axis=w name=y\n"
     "globalavgpool in=x name=g\nmul in=y,g\nloss mse"},
    {"pad",
     "input 2 4 5\nconv 2 k=1 name=x\n"
     "pad in=x pad_top=1 pad_right=2 mode=reflect name=y\n"
     "globalavgpool in=x name=g\nmul in=y,g\nloss mse"},
    {"pad",
     "input 2 4 5\nconv 2 k=1 name=x\n"
     "pad in=x pad_left=2 pad_bottom=1 mode=edge name=y\n"
     "globalavgpool in=x name=g\nmul in=y,g\nloss mse"},
    {"upsample",
     "input 2 4 5\nconv 2 k=1 name=x\n"
     "upsample in=x mode=bilinear h=7 w=9 name=y\n"
     "globalavgpool in=x name=g\nmul in=y,g\nloss mse"},
    {"convtranspose",
     "input 2 4 5\nconv 2 k=1 name=x\n"
     "convtranspose 2 in=x k=3 stride=2 pad=1 name=y\n"
     "globalavgpool in=x name=g\nmul in=y,g\nloss mse"},
    {"affine",
     "input 2 4 5\nconv 2 k=1 name=x\n"
     "affine in=x name=y\n"
     "globalavgpool in=x name=g\nmul in=y,g\nloss mse"},
    // An input broadcast along W whose gradient two readers write: the second mul's backward
    // writes r's, the first mul's adds its row sums.
    {"mul",
     "input 3 4 5\nconv 3 k=1 name=x\navgpool kh=1 kw=5 name=r\nmul in=r,x name=m\n"
     "mul in=m,r\nloss mse"},
    {"mul",
     "input 4 3 5\nconv 4 k=1 name=x\nglobalavgpool\nsigmoid name=s\nmul in=x,s name=m\n"
     "sub in=m,s\nloss mse"},
};

// A net for a layer written as its bare keyword, fed by two 1x1 convs (so its inputs differ and
// depend on trained weights), or "" when the keyword alone does not make a layer.
std::string generated_net(const std::string& op) {
  if (op == "dropout") return "";  // a fresh random mask each forward: checked with p=0 below
  if (op == "div") return "";  // a conv as the denominator crosses 0: kNets divides by sigmoids
  std::string text;
  try {
    const Arity arity = make_layer(LayerSpec{.op = op})->arity();
    text = arity.min >= 2
               ? "input 3 4 5\nconv 3 k=1 name=a\nconv 3 k=1 in=input name=b\n" + op + " in=a,b"
               : "input 3 4 5\nconv 3 k=1\n" + op;
    text += "\nloss mse";
    (void)parse_net(text, "generated gradcheck net");
  } catch (const Error&) {
    return "";
  }
  return text;
}

GradCheckOptions options_for(const NetCase& c, int threads) {
  GradCheckOptions options;
  options.plan.batch = c.batch;
  options.plan.threads = threads;
  options.plan.conv_tile_bytes = c.conv_tile_bytes;
  return options;
}

// Everything needed to rerun a failing check.
std::string describe(const std::string& text, const GradCheckOptions& o) {
  std::ostringstream out;
  out << "net:\n"
      << text << "\nbatch=" << o.plan.batch << " threads=" << o.plan.threads
      << " inplace=" << o.plan.inplace << " conv_tile_bytes=" << o.plan.conv_tile_bytes
      << " eps=" << o.eps << " tolerance=" << o.tolerance << " floor=" << o.floor
      << " seed=" << o.seed;
  return out.str();
}

void expect_gradients_match(const std::string& text, const GradCheckOptions& options) {
  SCOPED_TRACE(describe(text, options));
  const Net net = parse_net(text, "gradcheck net");
  const GradCheckResult result = check_gradients(net, options);
  EXPECT_TRUE(result.ok()) << result.report();
  EXPECT_GT(result.checked, 0) << result.report();
}

TEST(GradCheck, EveryLayerInLayerList) {
  const std::vector<std::string> ops = layer_ops();
  for (const NetCase& c : kNets) {
    EXPECT_NE(std::find(ops.begin(), ops.end(), c.op), ops.end())
        << "kNets names '" << c.op << "', which layer_list.def does not have";
    const Net net = parse_net(c.text, "gradcheck net");
    EXPECT_TRUE(std::any_of(net.nodes().begin(), net.nodes().end(),
                            [&](const Net::Node& n) { return n.spec.op == c.op; }))
        << "the net for '" << c.op << "' does not use it:\n"
        << c.text;
  }
  for (const std::string& op : ops) {
    int rows = 0;
    for (const NetCase& c : kNets) {
      if (op != c.op) continue;
      ++rows;
      for (int threads : {1, 2}) expect_gradients_match(c.text, options_for(c, threads));
    }
    if (const std::string generated = generated_net(op); !generated.empty()) {
      ++rows;
      for (int threads : {1, 2}) expect_gradients_match(generated, options_for({}, threads));
    }
    EXPECT_GT(rows, 0) << "layer '" << op << "' needs options, so it has no generated gradient "
                       << "check: add a net that uses it to kNets in " << __FILE__;
  }
}

// The same tensors, in the same order, equal to `relative` (of max(1, |want|)) element by element.
::testing::AssertionResult same_gradients(const std::vector<TensorGrad>& got,
                                          const std::vector<TensorGrad>& want,
                                          double relative) {
  if (got.size() != want.size()) {
    return ::testing::AssertionFailure() << got.size() << " tensors, want " << want.size();
  }
  for (size_t i = 0; i < want.size(); ++i) {
    if (got[i].name != want[i].name) {
      return ::testing::AssertionFailure() << "tensor " << i << " is " << got[i].name << ", want "
                                           << want[i].name;
    }
    for (size_t e = 0; e < want[i].values.size(); ++e) {
      const double bound = relative * std::max(1.0f, std::fabs(want[i].values[e]));
      if (!(std::fabs(static_cast<double>(got[i].values[e]) - want[i].values[e]) <= bound)) {
        return ::testing::AssertionFailure() << want[i].name << "[" << e << "]: "
                                             << got[i].values[e] << ", want " << want[i].values[e];
      }
    }
  }
  return ::testing::AssertionSuccess();
}

// The planner's tile choice shows up as the conv's tile, and the gradients do not depend on it.
TEST(GradCheck, ConvTilesGiveTheSameGradients) {
  // 9 input channels, so conv0 goes by im2col + GEMM (fewer would run the direct loops).
  const char* text = "input 9 9 7\nconv 3 k=3 pad=1\ntanh\nconv 2 k=3 stride=2 pad=1\nloss mse";
  const Net net = parse_net(text, "gradcheck net");
  GradCheckOptions whole;
  whole.plan.conv_tile_bytes = 0;  // no tiling
  const std::vector<TensorGrad> want = analytic_gradients(net, whole);
  // conv0: rows of 9*3*3 x 7 floats (2268 bytes); conv2: 3*3*3 x 4 floats (432 bytes).
  struct Tiling {
    int64_t bytes, conv0_rows, conv2_rows;
  };
  for (const Tiling& t : {Tiling{0, 9, 5}, Tiling{1, 1, 1}, Tiling{1100, 1, 2}, Tiling{1300, 1, 3},
                          Tiling{5000, 2, 5}, Tiling{7000, 3, 5}, Tiling{1 << 20, 9, 5}}) {
    for (int threads : {1, 2}) {
      GradCheckOptions options;
      options.plan.conv_tile_bytes = t.bytes;
      options.plan.threads = threads;
      SCOPED_TRACE(describe(text, options));
      PlanOptions plan_options = options.plan;
      plan_options.input_grad = true;
      const Plan p = plan(net, plan_options);
      EXPECT_EQ(p.layers[0].tile, t.conv0_rows);
      EXPECT_EQ(p.layers[2].tile, t.conv2_rows);
      const std::vector<TensorGrad> got = analytic_gradients(net, options);
      ASSERT_TRUE(same_gradients(got, want, 1e-5));
    }
  }
}

// The direct 3x3 loops and im2col + GEMM compute the same gradients, and the plan's choice is
// what runs: only the GEMM plan has workspace.
TEST(GradCheck, DirectAndGemmConvGiveTheSameGradients) {
  const char* text = "input 3 9 30\nconv 5 k=3 pad=1\ntanh\nconv 4 k=3 pad=1\nloss mse";
  const Net net = parse_net(text, "gradcheck net");
  for (int threads : {1, 2}) {
    GradCheckOptions direct, gemm;
    direct.plan.threads = gemm.plan.threads = threads;
    gemm.plan.direct_conv = false;
    SCOPED_TRACE(describe(text, direct));
    PlanOptions direct_plan = direct.plan, gemm_plan = gemm.plan;
    direct_plan.input_grad = gemm_plan.input_grad = true;
    EXPECT_EQ(plan(net, direct_plan).bytes(Category::workspace), 0);
    EXPECT_GT(plan(net, gemm_plan).bytes(Category::workspace), 0);
    const std::vector<TensorGrad> want = analytic_gradients(net, gemm);
    const std::vector<TensorGrad> got = analytic_gradients(net, direct);
    ASSERT_TRUE(same_gradients(got, want, 1e-5));
  }
}

// Winograd F(4x4, 3x3) (the default where it pays: here 2 x 4 x 9 tiles, 32 channels a side)
// matches finite differences, and computes through the runtime the gradients im2col + GEMM
// computes, up to its transforms' rounding.
TEST(GradCheck, WinogradAndGemmConvGiveTheSameGradients) {
  const char* text = "input 32 14 34\nconv 32 k=3 pad=1\ntanh\nconv 33 k=3 pad=1\nloss mse";
  const Net net = parse_net(text, "gradcheck net");
  for (int threads : {1, 2}) {
    GradCheckOptions winograd, gemm;
    winograd.plan.threads = gemm.plan.threads = threads;
    // Whole-layer GEMM tiles: Winograd runs within the bytes of the GEMM's tile, and the auto
    // tile of layers this small leaves it too little.
    winograd.plan.conv_tile_bytes = gemm.plan.conv_tile_bytes = 0;
    gemm.plan.winograd_conv = false;
    // F(4x4, 3x3) rounds the loss differently at each nudged point (its transforms' constants
    // run to 8 and 1/24), by more than a 1e-3 step resolves in float: a 1e-2 step (central
    // differences' own error is quadratic in it).
    GradCheckOptions finite = winograd;
    finite.eps = 1e-2;
    expect_gradients_match(text, finite);
    SCOPED_TRACE(describe(text, winograd));
    PlanOptions winograd_plan = winograd.plan, gemm_plan = gemm.plan;
    winograd_plan.input_grad = gemm_plan.input_grad = true;
    // The plan records the path each conv takes: the second one's differs.
    EXPECT_NE(plan(net, winograd_plan).layers[2].algorithm, plan(net, gemm_plan).layers[2].algorithm);
    const std::vector<TensorGrad> want = analytic_gradients(net, gemm);
    const std::vector<TensorGrad> got = analytic_gradients(net, winograd);
    ASSERT_TRUE(same_gradients(got, want, 1e-4));
  }
}

// Running in place changes where values live, never what is computed.
TEST(GradCheck, InPlaceAndSeparateBuffersGiveTheSameGradients) {
  const char* nets[] = {
      "input 2 4 4\nconv 3 k=3 pad=1\nrelu\ndropout p=0\nloss mse",
      "input 2 4 4\nconv 3 k=3 pad=1 name=a\nconv 3 k=3 pad=1\nadd a\nleakyrelu\nloss mse",
      "input 2 3 3\nfc 5\nsoftmax\nfc 3\nsigmoid\nloss mse",
      "input 3 4 5\nglobalavgpool name=s\nconv 3 k=1 in=input name=x\nsub in=x,s\nloss mse",
  };
  for (const char* text : nets) {
    const Net net = parse_net(text, "gradcheck net");
    for (int threads : {1, 2}) {
      GradCheckOptions in_place, separate;
      in_place.plan.threads = separate.plan.threads = threads;
      separate.plan.inplace = false;
      SCOPED_TRACE(describe(text, in_place));
      PlanOptions plan_options = in_place.plan;
      plan_options.input_grad = true;
      const Plan p = plan(net, plan_options);
      EXPECT_TRUE(std::any_of(p.layers.begin(), p.layers.end(), [](const LayerBuffers& lb) {
        return lb.in_place;
      })) << "no layer runs in place, so this compares nothing";
      const std::vector<TensorGrad> want = analytic_gradients(net, separate);
      const std::vector<TensorGrad> got = analytic_gradients(net, in_place);
      ASSERT_TRUE(same_gradients(got, want, 1e-6));
      expect_gradients_match(text, separate);
    }
  }
}

// Dropout through the layer interface: forward keeps exactly the values its mask bits say,
// scaled by 1/(1-p); backward applies the same mask; the mask depends on the seed only.
TEST(Dropout, MaskSemantics) {
  const float p = 0.3f, scale = 1.0f / (1.0f - p);
  const auto layer = make_layer(LayerSpec{.op = "dropout", .attrs = {{"p", "0.3"}}});
  const Shape shape{5, 7, 9};
  const int batch = 3;
  const int64_t n = batch * shape.n_elems();
  const std::vector<Shape> in = {shape};
  const LayerNeeds needs =
      layer->describe({.in = in, .out = shape, .batch = batch, .mode = Mode::train});
  ASSERT_EQ(needs.saved.size(), 1u);
  ASSERT_EQ(needs.saved[0].size_bytes, (n + 7) / 8) << "one bit per value";
  EXPECT_TRUE(needs.may_run_in_place);

  Rng rng(3);
  std::vector<float> src(n), d_dst(n);
  for (float& x : src) x = rng.uniform(0.5f, 1.5f);  // never 0, so a kept value is never 0
  for (float& x : d_dst) x = rng.uniform(-1.0f, 1.0f);

  const Shape in_shape[1] = {shape};
  auto forward = [&](ThreadPool& pool, uint64_t seed, float* x, float* y,
                     std::vector<uint8_t>& mask) {
    float* const src[1] = {x};
    std::byte* const saved[1] = {reinterpret_cast<std::byte*>(mask.data())};
    StepArgs a;
    a.batch = batch;
    a.training = true;
    a.in_shape = in_shape;
    a.out_shape = shape;
    a.src = src;
    a.dst = y;
    a.saved = saved;
    a.seed = seed;
    a.pool = &pool;
    layer->forward(a);
  };
  auto backward = [&](ThreadPool& pool, const std::vector<uint8_t>& mask, const float* dy,
                      float* dx, bool accumulate) {
    std::byte* const saved[1] = {reinterpret_cast<std::byte*>(const_cast<uint8_t*>(mask.data()))};
    float* const d_src[1] = {dx};
    const uint8_t d_src_accumulate[1] = {accumulate};
    StepArgs a;
    a.batch = batch;
    a.training = true;
    a.in_shape = in_shape;
    a.out_shape = shape;
    a.saved = saved;
    a.d_dst = const_cast<float*>(dy);
    a.d_src = d_src;
    a.d_src_accumulate = d_src_accumulate;
    a.pool = &pool;
    layer->backward(a);
  };
  auto kept = [](const std::vector<uint8_t>& mask, int64_t i) {
    return (mask[i / 8] >> (i % 8)) & 1;
  };

  ThreadPool one(1), two(2);
  std::vector<uint8_t> mask(needs.saved[0].size_bytes), mask_two(mask.size()),
      mask_other(mask.size());
  std::vector<float> dst(n);
  forward(one, 42, src.data(), dst.data(), mask);
  int64_t dropped = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (kept(mask, i)) {
      ASSERT_FLOAT_EQ(dst[i], src[i] * scale) << "kept value " << i;
    } else {
      ASSERT_EQ(dst[i], 0.0f) << "dropped value " << i;
      ++dropped;
    }
  }
  // n = 945 draws: the dropped share is within 5 standard deviations (0.075) of p.
  EXPECT_NEAR(static_cast<double>(dropped) / static_cast<double>(n), p, 0.075);

  // The same seed gives the same mask with any thread count, also in place; another seed differs.
  std::vector<float> in_place = src;
  forward(two, 42, in_place.data(), in_place.data(), mask_two);
  EXPECT_EQ(mask_two, mask);
  EXPECT_EQ(in_place, dst);
  forward(two, 43, src.data(), dst.data(), mask_other);
  EXPECT_NE(mask_other, mask);

  for (ThreadPool* pool : {&one, &two}) {
    std::vector<float> d_src(n, std::nanf(""));
    backward(*pool, mask, d_dst.data(), d_src.data(), /*accumulate=*/false);
    std::vector<float> accumulated(n, 0.25f);
    backward(*pool, mask, d_dst.data(), accumulated.data(), /*accumulate=*/true);
    std::vector<float> shared = d_dst;  // in place: d_src is d_dst
    backward(*pool, mask, shared.data(), shared.data(), /*accumulate=*/false);
    for (int64_t i = 0; i < n; ++i) {
      const float want = kept(mask, i) ? d_dst[i] * scale : 0.0f;
      ASSERT_EQ(d_src[i], want) << "d_src[" << i << "] with " << pool->size() << " threads";
      ASSERT_EQ(accumulated[i], 0.25f + want) << "accumulated d_src[" << i << "]";
      ASSERT_EQ(shared[i], want) << "in-place d_src[" << i << "]";
    }
  }

  // Evaluation: the identity, no mask.
  float* const eval_src[1] = {src.data()};
  StepArgs eval;
  eval.batch = batch;
  eval.in_shape = in_shape;
  eval.out_shape = shape;
  eval.src = eval_src;
  eval.dst = dst.data();
  eval.pool = &one;
  layer->forward(eval);
  EXPECT_EQ(dst, src);
}

// Through the runtime: backward applies the mask of the forward just run, and every training
// forward draws a fresh one.
TEST(Dropout, RuntimeBackwardUsesTheForwardMask) {
  const Net net = parse_net("input 3 8 8\ndropout p=0.5\nloss mse", "dropout net");
  const int batch = 2;
  const Plan p = plan(net, {.batch = batch, .mode = Mode::train, .threads = 2, .input_grad = true});
  Runtime runtime(net, p);
  const int64_t n = batch * net.input_shape().n_elems();
  Rng rng(5);
  std::vector<float> input(n), target(n);
  for (float& x : input) x = rng.uniform(0.5f, 1.5f);
  for (float& x : target) x = rng.uniform(-1.0f, 1.0f);

  std::vector<float> first_output;
  for (int run = 0; run < 2; ++run) {
    std::copy(input.begin(), input.end(), runtime.input());
    runtime.forward(batch, /*training=*/true);
    const std::vector<float> out(runtime.output(), runtime.output() + n);
    std::copy(target.begin(), target.end(), static_cast<float*>(runtime.target()));
    (void)runtime.loss_and_backward(batch);
    int64_t dropped = 0;
    for (int64_t i = 0; i < n; ++i) {
      const bool kept = out[i] != 0.0f;
      if (kept) {
        ASSERT_FLOAT_EQ(out[i], 2.0f * input[i]) << "run " << run << " value " << i;
      }
      dropped += kept ? 0 : 1;
      // mse: d out = 2 (out - target) / n; dropout passes it on, scaled, where it kept the value.
      const float d_out = 2.0f / static_cast<float>(n) * (out[i] - target[i]);
      ASSERT_FLOAT_EQ(runtime.input_grad()[i], kept ? 2.0f * d_out : 0.0f)
          << "run " << run << " value " << i;
    }
    EXPECT_NEAR(static_cast<double>(dropped) / static_cast<double>(n), 0.5, 0.12);
    if (run == 0) first_output = out;
    if (run == 1) {
      EXPECT_NE(out, first_output) << "the second forward reused the first mask";
    }
  }
  std::copy(input.begin(), input.end(), runtime.input());
  runtime.forward(batch, /*training=*/false);
  EXPECT_EQ(std::vector<float>(runtime.output(), runtime.output() + n), input);
}

}  // namespace
}  // namespace footprint
