"""bench/zoo.sh's exports: torchvision architectures with random weights as ONNX (opset 13), each
with a fixed input size and with symbolic H and W (dynamic_axes), plus the random inputs and
PyTorch's outputs that `footprint run` is checked against. Writes into DIR/NAME/:
  model.onnx, model-dyn.onnx   the two exports (same weights); meta.json says why when torch.onnx
                               cannot export the second (an adaptive pool needs fixed sizes)
  x.npy, y.npy                 input at the model's size (224, inception_v3 299) and PyTorch's output
  x224.npy, y224.npy           the same at 224x224 and at 320x320 (for the dynamic export; at 224
  x320.npy, y320.npy           another random input than x.npy)
  meta.json                    parameters, size, ops in the export
An export is redone only when its meta.json is missing or was written by another version of this
script (a hash of this file), so reruns are quick.

The models are in eval mode and exported with TrainingMode.PRESERVE, which keeps batch norm as
BatchNormalization nodes: torch.onnx's default (EVAL) folds each one into the conv before it, and
then `footprint train` would train a net without batch norm while PyTorch trains one with it.
Batch-norm running statistics and affine parameters are random (torchvision's initial 0/1 values
would hide a wrong formula)."""
import argparse
import hashlib
import json
import os
import sys
import warnings

import numpy as np
import torch
import torchvision

MODELS = ["alexnet", "vgg11", "resnet18", "resnet50", "resnext50_32x4d", "squeezenet1_1", "densenet121",
          "googlenet", "inception_v3", "mobilenet_v2", "mobilenet_v3_small", "shufflenet_v2_x1_0",
          "mnasnet0_5", "efficientnet_b0", "regnet_y_400mf", "convnext_tiny"]


def input_size(name):
    return 299 if name == "inception_v3" else 224


def build(name, seed=1):
    """The architecture with torchvision's random initialisation (seeded) and random batch-norm
    statistics; eval mode. The same seed gives the same weights, so bench/zoo_torch.py rebuilds
    the exported model instead of loading a copy of its weights."""
    torch.manual_seed(seed)
    kw = {}
    if name in ("googlenet", "inception_v3"):
        kw = dict(aux_logits=False, transform_input=False, init_weights=True)
    model = getattr(torchvision.models, name)(weights=None, **kw)
    g = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                c = m.num_features
                m.running_mean.copy_(torch.rand(c, generator=g) * 0.5)
                m.running_var.copy_(0.5 + torch.rand(c, generator=g) * 1.5)
                m.weight.copy_(0.5 + torch.rand(c, generator=g))
                m.bias.copy_((torch.rand(c, generator=g) - 0.5) * 0.4)
    return model.eval()


def export(model, path, size, dynamic, batch=1):
    """The model (in eval mode) as ONNX with its batch norms kept as nodes; dynamic: symbolic H, W."""
    x = torch.zeros(batch, 3, size, size)
    axes = {"input": {2: "height", 3: "width"}} if dynamic else None
    # PRESERVE on an eval-mode model warns that folding constants could change trainable
    # parameters; in eval mode nothing it folds is trained, so the warning does not apply.
    warnings.filterwarnings("ignore", message="It is recommended that constant folding")
    torch.onnx.export(model, x, path, opset_version=13, input_names=["input"], output_names=["output"],
                      dynamic_axes=axes, training=torch.onnx.TrainingMode.PRESERVE,
                      do_constant_folding=True)


def script_hash():
    with open(__file__, "rb") as f:
        return hashlib.sha256(f.read() + torch.__version__.encode() + torchvision.__version__.encode()).hexdigest()[:16]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("models", nargs="*", default=MODELS)
    a = ap.parse_args()
    torch.set_num_threads(os.cpu_count() or 1)
    stamp = script_hash()
    for name in a.models:
        out = os.path.join(a.dir, name)
        meta_path = os.path.join(out, "meta.json")
        if os.path.exists(meta_path):
            with open(meta_path) as f:
                if json.load(f).get("script") == stamp:
                    continue
        os.makedirs(out, exist_ok=True)
        print(f"zoo: exporting {name}", file=sys.stderr, flush=True)
        model = build(name)
        size = input_size(name)
        export(model, os.path.join(out, "model.onnx"), size, dynamic=False)
        dynamic_error = None
        try:
            export(model, os.path.join(out, "model-dyn.onnx"), size, dynamic=True)
        except Exception as e:  # torch.onnx refuses some graphs with symbolic sizes (adaptive pools)
            dynamic_error = str(e).split("\n")[0].split(" [Caused by")[0]
            print(f"zoo: {name}: no dynamic-axes export: {dynamic_error}", file=sys.stderr, flush=True)
        g = torch.Generator().manual_seed(7)
        with torch.no_grad():
            for suffix, s in (("", size), ("224", 224), ("320", 320)):
                x = torch.randn(1, 3, s, s, generator=g)
                np.save(os.path.join(out, f"x{suffix}.npy"), x.numpy())
                np.save(os.path.join(out, f"y{suffix}.npy"), model(x).numpy())
        ops = {}
        try:
            import onnx
            for n in onnx.load(os.path.join(out, "model.onnx"), load_external_data=False).graph.node:
                ops[n.op_type] = ops.get(n.op_type, 0) + 1
        except ImportError:
            pass
        meta = {"name": name, "size": size, "params": sum(p.numel() for p in model.parameters()),
                "ops": ops, "dynamic_export_error": dynamic_error, "torch": torch.__version__, "torchvision": torchvision.__version__, "script": stamp}
        with open(meta_path + ".tmp", "w") as f:
            json.dump(meta, f)
        os.replace(meta_path + ".tmp", meta_path)


if __name__ == "__main__":
    main()
