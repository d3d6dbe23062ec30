#!/usr/bin/python3
"""Accuracy of unioncam (predict --json) and of PyTorch on the same weights file, on the first N
test images, and how closely their logits agree.

  check_demo_model.py models/fashion_vgg16bn.h5 DATA_DIR 200 [build/unioncam]    (run from the repository root)
"""
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # model_accuracy
# vgg_common lives beside the converter it serves (tools/export_vgg.py).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
import model_accuracy  # noqa: E402
import vgg_common as vc  # noqa: E402


def pytorch_logits(weights, paths):
    """The logits PyTorch computes from the weights file: images resized bilinearly with
    half-pixel centres to the file's input_size and normalized with its mean/std, as unioncam does."""
    state, attrs = vc.read_torchvision_h5(weights)
    model = vc.model_from_state_dict(state, "vgg16_bn")
    size = int(attrs["input_size"])
    mean = torch.tensor(attrs.get("mean", [0.485, 0.456, 0.406])).float().view(1, 3, 1, 1)
    std = torch.tensor(attrs.get("std", [0.229, 0.224, 0.225])).float().view(1, 3, 1, 1)
    x = torch.from_numpy(np.stack([np.asarray(Image.open(p).convert("RGB")) for p in paths]))
    x = F.interpolate(x.permute(0, 3, 1, 2).float() / 255, size=(size, size), mode="bilinear", align_corners=False)
    with torch.no_grad():
        return model((x - mean) / std).numpy()


def main():
    torch.set_num_threads(1)
    weights, data, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    binary = sys.argv[4] if len(sys.argv) > 4 else "build/unioncam"
    _, paths, y, names = model_accuracy.test_split(data, n)
    runtime = model_accuracy.scores(binary, weights, paths)[1]
    torch_logits = pytorch_logits(weights, paths)
    rt, pt = runtime.argmax(1), torch_logits.argmax(1)
    print(f"runtime accuracy {np.mean(rt == y):.4f} on {n} test images; pytorch (same h5, same resize) "
          f"{np.mean(pt == y):.4f}; top-1 agreement {np.mean(rt == pt):.4f}; "
          f"max |logit diff| {np.abs(torch_logits - runtime).max():.2e}")
    per_class = {c: np.mean(rt[y == c] == c) for c in sorted(set(y.tolist()))}
    print("runtime per class: " + ", ".join(f"{names[c]} {100 * a:.0f} %"
                                            for c, a in sorted(per_class.items(), key=lambda kv: -kv[1])))


if __name__ == "__main__":
    main()
