#!/usr/bin/env python3
"""PIL's and torchvision's own preprocessing of a set of images, for tests/preprocess_test.sh.

    preprocess_reference.py OUT_DIR

Writes OUT_DIR/cases.txt, one case per line: "<kind> <input.png> <width> <height> <expected.png>",
where kind is antialias (PIL's BILINEAR resize), nearest (PIL's NEAREST resize) or torchvision
(Resize(256 * input / 224) + CenterCrop(input) on the PIL image), each input first converted to
RGB as torchvision's loader does. Inputs: random RGB noise (the hardest case for a filter), a
gray image, an RGBA image and skimage's chelsea photograph; sizes from x0.3 to x3, odd ones too.
"""
import os
import sys

import numpy as np
from PIL import Image
from torchvision import transforms


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(7)
    inputs = {
        "noise_37x23.png": Image.fromarray(rng.integers(0, 256, (23, 37, 3), dtype=np.uint8)),
        "noise_100x80.png": Image.fromarray(rng.integers(0, 256, (80, 100, 3), dtype=np.uint8)),
        "gray_50x41.png": Image.fromarray(rng.integers(0, 256, (41, 50), dtype=np.uint8), "L"),
        "rgba_64x48.png": Image.fromarray(rng.integers(0, 256, (48, 64, 4), dtype=np.uint8), "RGBA"),
    }
    from skimage import data
    inputs["chelsea_451x300.png"] = Image.fromarray(data.chelsea())
    cases = []
    for name, img in inputs.items():
        img.save(os.path.join(out, name))
        rgb = img.convert("RGB")
        w, h = rgb.size
        sizes = {(max(1, round(w * f)), max(1, round(h * g)))
                 for f, g in [(0.3, 0.3), (0.5, 0.5), (0.77, 0.61), (1, 1), (1.5, 1.5), (3, 3),
                              (0.5, 2), (1.13, 0.9)]}
        for (tw, th) in sorted(sizes):
            for kind, flt in [("antialias", Image.BILINEAR), ("nearest", Image.NEAREST)]:
                expected = f"{name[:-4]}_{kind}_{tw}x{th}.png"
                rgb.resize((tw, th), flt).save(os.path.join(out, expected))
                cases.append(f"{kind} {name} {tw} {th} {expected}")
        for side in (224, 128, 64):
            t = transforms.Compose([transforms.Resize(round(256 * side / 224)),
                                    transforms.CenterCrop(side)])
            expected = f"{name[:-4]}_torchvision_{side}.png"
            t(rgb).save(os.path.join(out, expected))
            cases.append(f"torchvision {name} {side} {side} {expected}")
    with open(os.path.join(out, "cases.txt"), "w") as f:
        f.write("\n".join(cases) + "\n")
    print(f"{len(cases)} cases in {out}")


if __name__ == "__main__":
    main()
