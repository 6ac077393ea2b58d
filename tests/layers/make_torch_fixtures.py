#!/usr/bin/python3
"""Writes the forward-value fixtures of tests/layers/layer_values_test.cpp: for each case, the
.net text, an input, the parameters (named as Runtime::parameters() names them) and PyTorch's
output, as float32 .npy files in tests/layers/fixtures/. Run from the repository root with a
Python that has torch (here /usr/bin/python3, torch 1.13):

    /usr/bin/python3 tests/layers/make_torch_fixtures.py

The fixtures are committed; rerun this only when a case changes. Every case is small (a few
hundred values), batch 2.
"""
import os

import numpy as np
import torch
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")
BATCH = 2


def save(name, array):
    np.save(os.path.join(OUT, name + ".npy"), np.ascontiguousarray(array, dtype=np.float32))


def case(name, shape, net_line, fn, params=None, scale=2.0):
    """One fixture: input of `shape` (C, H, W) per sample, `net_line` after the input line, and
    fn(x, params) -> PyTorch's output. `params` maps a parameter name (layer.param) to its
    shape; each is drawn at random and passed to fn by that name."""
    generator = torch.Generator().manual_seed(sum(map(ord, name)))
    x = torch.randn((BATCH,) + shape, generator=generator) * scale
    values = {}
    for pname, pshape in (params or {}).items():
        values[pname] = torch.randn(pshape, generator=generator) * 0.5
        save(name + "." + pname, values[pname].numpy())
    with torch.no_grad():
        y = fn(x, values)
    with open(os.path.join(OUT, name + ".net"), "w") as f:
        f.write("input %d %d %d\n%s\n" % (shape + (net_line,)))
    save(name + ".input", x.numpy())
    save(name + ".output", y.numpy())


def layernorm_over_channels(x, weight, bias, eps):
    # ConvNeXt's LayerNorm2d: channels last, normalise the last axis, back to NCHW.
    y = F.layer_norm(x.permute(0, 2, 3, 1), (x.shape[1],), weight, bias, eps)
    return y.permute(0, 3, 1, 2)


def channel_shuffle(x, groups):
    n, c, h, w = x.shape
    return x.view(n, groups, c // groups, h, w).transpose(1, 2).reshape(n, c, h, w)


def main():
    os.makedirs(OUT, exist_ok=True)
    case("gelu", (3, 4, 5), "gelu", lambda x, p: F.gelu(x))
    case("gelu_tanh", (3, 4, 5), "gelu approximate=tanh",
         lambda x, p: F.gelu(x, approximate="tanh"))
    case("hardswish", (3, 4, 5), "hardswish", lambda x, p: F.hardswish(x))
    # PyTorch's Hardsigmoid is relu6(x + 3) / 6: alpha 1/6, beta 1/2.
    case("hardsigmoid", (3, 4, 5), "hardsigmoid alpha=0.16666667 beta=0.5",
         lambda x, p: F.hardsigmoid(x))
    case("silu", (3, 4, 5), "silu", lambda x, p: F.silu(x))
    case("layernorm", (6, 3, 4), "layernorm name=ln",
         lambda x, p: layernorm_over_channels(x, p["ln.weight"], p["ln.bias"], 1e-5),
         params={"ln.weight": (6,), "ln.bias": (6,)})
    case("layernorm_plain", (5, 2, 3), "layernorm affine=false eps=0.001",
         lambda x, p: layernorm_over_channels(x, None, None, 1e-3))
    case("shuffle", (6, 2, 3), "shuffle groups=3", lambda x, p: channel_shuffle(x, 3))
    case("shuffle_2", (8, 2, 2), "shuffle groups=2", lambda x, p: channel_shuffle(x, 2))
    # F.pad takes (left, right, top, bottom).
    case("pad_constant", (2, 3, 4),
         "pad pad_top=1 pad_left=2 pad_bottom=3 pad_right=0 value=0.5",
         lambda x, p: F.pad(x, (2, 0, 1, 3), mode="constant", value=0.5))
    case("pad_reflect", (2, 4, 5), "pad pad_top=2 pad_left=1 pad_bottom=3 pad_right=4 mode=reflect",
         lambda x, p: F.pad(x, (1, 4, 2, 3), mode="reflect"))
    case("pad_edge", (2, 3, 4), "pad pad_top=3 pad_left=0 pad_bottom=1 pad_right=2 mode=edge",
         lambda x, p: F.pad(x, (0, 2, 3, 1), mode="replicate"))
    case("upsample_nearest", (2, 3, 5), "upsample",
         lambda x, p: F.interpolate(x, scale_factor=2, mode="nearest"))
    case("upsample_nearest_size", (2, 5, 7), "upsample h=8 w=11",
         lambda x, p: F.interpolate(x, size=(8, 11), mode="nearest"))
    # 26 -> 22: PyTorch computes floor(dst * (in / out)) in float, which for row 11 gives 12
    # where exact arithmetic gives 13; the layer follows PyTorch.
    case("upsample_nearest_ratio", (1, 26, 3), "upsample h=22 w=7",
         lambda x, p: F.interpolate(x, size=(22, 7), mode="nearest"))
    case("upsample_nearest_down", (2, 7, 9), "upsample h=3 w=4",
         lambda x, p: F.interpolate(x, size=(3, 4), mode="nearest"))
    case("upsample_bilinear", (2, 5, 7), "upsample mode=bilinear",
         lambda x, p: F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False))
    case("upsample_bilinear_size", (2, 5, 7), "upsample h=9 w=12 mode=bilinear",
         lambda x, p: F.interpolate(x, size=(9, 12), mode="bilinear", align_corners=False))
    case("upsample_bilinear_corners", (2, 5, 7),
         "upsample h=9 w=12 mode=bilinear align_corners=true",
         lambda x, p: F.interpolate(x, size=(9, 12), mode="bilinear", align_corners=True))
    case("upsample_bilinear_down", (2, 7, 9), "upsample h=3 w=4 mode=bilinear",
         lambda x, p: F.interpolate(x, size=(3, 4), mode="bilinear", align_corners=False))
    case("convtranspose_stride2", (4, 5, 6),
         "convtranspose 3 k=3 stride=2 pad=1 output_pad=1 name=ct",
         lambda x, p: F.conv_transpose2d(x, p["ct.weight"], p["ct.bias"], stride=2, padding=1,
                                         output_padding=1),
         params={"ct.weight": (4, 3, 3, 3), "ct.bias": (3,)})
    case("convtranspose_groups_dilation", (4, 4, 5),
         "convtranspose 6 k=3 stride=2 pad=1 output_pad=1 groups=2 dilation=2 name=ct",
         lambda x, p: F.conv_transpose2d(x, p["ct.weight"], p["ct.bias"], stride=2, padding=1,
                                         output_padding=1, groups=2, dilation=2),
         params={"ct.weight": (4, 3, 3, 3), "ct.bias": (6,)})
    case("convtranspose_rect", (3, 3, 4),
         "convtranspose 2 kh=4 kw=3 stride_h=2 stride_w=3 pad_top=1 pad_bottom=1 bias=false name=ct",
         lambda x, p: F.conv_transpose2d(x, p["ct.weight"], None, stride=(2, 3), padding=(1, 0)),
         params={"ct.weight": (3, 2, 4, 3)})


if __name__ == "__main__":
    main()
