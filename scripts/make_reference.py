#!/usr/bin/python3
"""Runs a torchvision-layout weights file through PyTorch and writes what unioncam must reproduce:

  input [N,3,H,W] (normalized), logits [N,classes], classes [N] (top-1 unless --classes),
  activation / gradient at the target layer, input_grad, and the weight gradients
  grad.features.0.{weight,bias}, grad.classifier.0.weight, grad.classifier.6.{weight,bias},
  all gradients of S = sum_n logits[n, classes[n]]. Attributes: target_layer, arch, weights.

  make_reference.py weights.h5 ref.h5 --batch 2 --seed 1 [--target features.29] [--float64]
  make_reference.py weights.h5 ref.h5 --images a.png b.png
"""
import argparse
import os
import sys

import numpy as np
import torch
from torch import nn

# vgg_common lives beside the converter it serves (tools/export_vgg.py).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
import vgg_common as vc  # noqa: E402


def load_images(paths, size, mean, std):
    from PIL import Image
    batch = []
    for p in paths:
        img = Image.open(p).convert("RGB").resize((size[1], size[0]), Image.BILINEAR)
        x = torch.from_numpy(np.asarray(img, dtype=np.float64) / 255).permute(2, 0, 1)
        batch.append((x - torch.tensor(mean).view(3, 1, 1)) / torch.tensor(std).view(3, 1, 1))
    return torch.stack(batch)


def default_target(model):
    """The ReLU after the last convolution, e.g. features.29 for vgg16, features.42 for vgg16_bn."""
    last = max(i for i, m in enumerate(model.features) if isinstance(m, nn.Conv2d))
    relu = next(i for i in range(last, len(model.features))
                if isinstance(model.features[i], nn.ReLU))
    return f"features.{relu}"


def forward(model, x, target):
    """Logits, and the output of module `target` (features.N or classifier.N) with its grad kept."""
    kept = []

    def run(prefix, seq, x):
        for i, m in enumerate(seq):
            x = m(x)
            if f"{prefix}.{i}" == target:
                x.retain_grad()
                kept.append(x)
        return x

    x = run("features", model.features, x)
    logits = run("classifier", model.classifier, torch.flatten(model.avgpool(x), 1))
    if not kept:
        raise SystemExit(f"no layer {target!r} in the model (expected features.N or classifier.N)")
    return logits, kept[0]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("weights")
    p.add_argument("out")
    p.add_argument("--batch", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--images", nargs="+", help="image files instead of seeded random inputs")
    p.add_argument("--target", help="layer whose activation/gradient is stored (default: last ReLU)")
    p.add_argument("--classes", help="comma-separated class per input (default: top-1)")
    p.add_argument("--float64", action="store_true", help="compute in float64 instead of float32")
    a = p.parse_args()

    torch.use_deterministic_algorithms(True)
    dtype = torch.float64 if a.float64 else torch.float32
    state, attrs = vc.read_torchvision_h5(a.weights)
    arch = str(attrs["arch"])
    model = vc.model_from_state_dict(state, arch).to(dtype)
    for m in model.modules():  # in-place ReLUs would overwrite the kept activation
        if isinstance(m, nn.ReLU):
            m.inplace = False
    size = np.atleast_1d(attrs.get("input_size", 224))
    size = (int(size[0]), int(size[-1]))
    if a.images:
        x = load_images(a.images, size, attrs.get("mean", (0.485, 0.456, 0.406)),
                        attrs.get("std", (0.229, 0.224, 0.225)))
    else:
        x = torch.randn(a.batch, 3, *size, generator=torch.Generator().manual_seed(a.seed),
                        dtype=torch.float64)
    x = x.to(dtype).requires_grad_(True)
    target = a.target or default_target(model)

    logits, act = forward(model, x, target)
    classes = (torch.tensor([int(c) for c in a.classes.split(",")]) if a.classes
               else logits.argmax(1))
    logits.gather(1, classes[:, None]).sum().backward()

    params = dict(model.named_parameters())
    out = {"input": x, "logits": logits, "activation": act, "gradient": act.grad, "input_grad": x.grad}
    for k in ("features.0.weight", "features.0.bias", "classifier.0.weight",
              "classifier.6.weight", "classifier.6.bias"):
        out["grad." + k] = params[k].grad
    f = vc.atomic_h5(a.out)
    for k, v in out.items():
        f.create_dataset(k, data=v.detach().numpy())
    f.create_dataset("classes", data=classes.numpy().astype(np.int64))
    f.attrs["target_layer"] = target
    f.attrs["arch"] = arch
    f.attrs["weights"] = os.path.basename(a.weights)
    vc.finish_h5(f, a.out)
    print(f"{a.out}: {arch}, input {list(x.shape)}, target {target} {list(act.shape)}, "
          f"classes {classes.tolist()}")


if __name__ == "__main__":
    main()
