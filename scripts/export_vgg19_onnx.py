#!/usr/bin/env python3
"""Exports torchvision's VGG-19 feature layers (up to relu5_1, all that style transfer reads)
as ONNX for `footprint style --model`.

  python3 scripts/export_vgg19_onnx.py vgg19.onnx            # ImageNet weights (downloaded once
                                                              # by torchvision, about 550 MB)
  python3 scripts/export_vgg19_onnx.py --random vgg19.onnx   # random weights, no download
                                                              # (for benchmarks and tests)
Needs python3-torch and python3-torchvision (Debian). Use with --preprocess torch (the default).
"""
import argparse

import torch
import torchvision


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("--random", action="store_true", help="random weights instead of ImageNet's")
    args = ap.parse_args()
    weights = None if args.random else torchvision.models.VGG19_Weights.IMAGENET1K_V1
    features = torchvision.models.vgg19(weights=weights).features[:30].eval()  # ... relu5_1
    torch.onnx.export(features, torch.zeros(1, 3, 224, 224), args.out, opset_version=13,
                      input_names=["image"], output_names=["relu5_1"])
    print(f"wrote {args.out}: VGG-19 features up to relu5_1"
          f"{' (random weights)' if args.random else ''}")


if __name__ == "__main__":
    main()
